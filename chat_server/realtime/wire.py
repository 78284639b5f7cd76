"""socket.io packets as python-socketio encodes them, built with less work per message.

The framework's Packet checks every payload for binary parts by building a list per level
and re-creates a JSON decoder (for its integer guard) and a JSON encoder (for its compact
separators) for every packet. On the message hot path those were a tenth of the server's time
(py-spy, docs/performance.md). WirePacket gives byte-identical packets: the same walk over lists
and dicts without the lists, and one cached decoder and encoder with the same options.
"""

from __future__ import annotations

import json
from typing import Any

from engineio import json as engineio_json
from socketio import packet

_COMPACT = (",", ":")


def _bounded_int(digits: str) -> int:
    if len(digits) > 100:
        raise ValueError("Integer is too large")
    return int(digits)


class WireJson:
    """What python-socketio needs of a json module (dumps, loads), with cached coders."""

    def __init__(self) -> None:
        # As engineio's loads: integers of at most 100 digits (a client cannot make int() work hard).
        self._decoder = json.JSONDecoder(parse_int=_bounded_int)
        self._compact = json.JSONEncoder(separators=_COMPACT)
        self._default = json.JSONEncoder()

    def dumps(self, obj: Any, **options: Any) -> str:
        if not options:
            return self._default.encode(obj)
        if options == {"separators": _COMPACT}:
            return self._compact.encode(obj)
        return json.dumps(obj, **options)

    def loads(self, text: Any, **options: Any) -> Any:
        if not options:
            if isinstance(text, bytes):
                # Redis pub/sub hands over bytes; dutychat publishes UTF-8 (ASCII, in fact) only.
                text = text.decode("utf-8")
            if isinstance(text, str):
                return self._decoder.decode(text)
        return engineio_json.loads(text, **options)


def has_binary(data: Any) -> bool:
    """Packet.data_is_binary: bytes anywhere inside lists and dicts (nothing else is walked)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, (bytes, bytearray)):
            return True
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    return False


class WirePacket(packet.Packet):  # type: ignore[misc]  # python-socketio ships no type hints
    json = WireJson()

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        return has_binary(data)
