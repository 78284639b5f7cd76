"""WirePacket (chat_server/realtime/wire.py) sends exactly what python-socketio's Packet sends."""

from __future__ import annotations

from typing import Any

import pytest
from engineio import json as engineio_json
from socketio import packet

from chat_server.realtime.wire import WireJson, WirePacket, has_binary

PAYLOADS: list[Any] = [
    ["message:new", {"chat_id": "c_x", "seq": 3, "sender": "staff", "client_id": "s1", "text": "สวัสดีค่ะ Привет",
                     "sent_at": "2026-12-04T19:00:00Z", "author": {"staff_id": 3, "alias": "Aino"}}],
    ["queue:update", {"queue": [{"chat_id": "a", "language": "th", "waited": 1.5}, {"chat_id": "b"}]}],
    ["chat:state", {"state": "waiting", "position": None, "flags": [], "ok": True, "lone": "\ud800"}],
    [{"ok": False, "error": {"code": "invalid_payload", "message": "x"}}],
    ["x", 1, 2.5, None, "", [[[]]], {}],
]


@pytest.mark.parametrize("data", PAYLOADS)
@pytest.mark.parametrize("namespace", ["/", "/staff", "/visitor"])
@pytest.mark.parametrize("ack_id", [None, 7])
def test_packets_are_byte_identical_and_decode_the_same(data: Any, namespace: str, ack_id: int | None) -> None:
    ours = WirePacket(packet.EVENT, data=data, namespace=namespace, id=ack_id)
    theirs = packet.Packet(packet.EVENT, data=data, namespace=namespace, id=ack_id)
    encoded = ours.encode()
    assert encoded == theirs.encode()
    back, reference = WirePacket(encoded_packet=encoded), packet.Packet(encoded_packet=encoded)
    assert (back.packet_type, back.namespace, back.id, back.data) == (
        reference.packet_type, reference.namespace, reference.id, reference.data)


@pytest.mark.parametrize("data", [
    b"x", ["a", {"b": [1, bytearray(b"y")]}], {"deep": {"deeper": [[b""]]}}, ["a", {"b": 1}], [("t", b"x")], "s", 3,
])
def test_binary_detection_matches_the_framework(data: Any) -> None:
    assert has_binary(data) == packet.Packet.data_is_binary(data)
    if packet.Packet.data_is_binary(data):
        assert WirePacket(packet.EVENT, data=data).packet_type == packet.BINARY_EVENT


def test_json_keeps_the_integer_guard_and_the_other_options() -> None:
    wire = WireJson()
    huge = "[" + "9" * 101 + "]"
    with pytest.raises(ValueError, match="too large"):
        engineio_json.loads(huge)
    with pytest.raises(ValueError, match="too large"):
        wire.loads(huge)
    assert wire.loads(b'{"a": [1, "\\u0e2a"]}') == {"a": [1, "ส"]}
    assert wire.loads("[1.5]", parse_float=str) == ["1.5"]
    value = {"a": [1, "ส", None]}
    assert wire.dumps(value) == engineio_json.dumps(value)
    assert wire.dumps(value, separators=(",", ":")) == engineio_json.dumps(value, separators=(",", ":"))
    assert wire.dumps(value, sort_keys=True, indent=1) == engineio_json.dumps(value, sort_keys=True, indent=1)
