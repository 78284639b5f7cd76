"""Bad input gets its documented error code and changes nothing else."""

from __future__ import annotations

import pytest
import socketio

from tests.support.clients import StaffMember, Visitor
from tests.support.live import Live, settle, start_live, stop_live


@pytest.fixture
async def chatting(live: Live):  # type: ignore[no-untyped-def]
    """A live server with one active chat to prove other chats carry on."""
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    return live, staff, visitor


async def assert_still_chatting(staff: StaffMember, visitor: Visitor, tag: str) -> None:
    ack = await visitor.send(f"still fine {tag}", f"ok-{tag}")
    assert ack["ok"], ack
    await staff.wait_for("message:new", lambda m: m["client_id"] == f"ok-{tag}")


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("chat:start", {"language": "xx"}, "unsupported_language"),
        ("chat:start", {"language": 5}, "invalid_payload"),
        ("chat:start", {}, "invalid_payload"),
        ("chat:start", {"language": "en", "extra": 1}, "invalid_payload"),
        ("chat:start", ["en"], "invalid_payload"),
        ("chat:start", "en", "invalid_payload"),
        ("message:send", {"client_id": "a", "text": "hi"}, "no_active_chat"),
        ("message:send", {"client_id": "bad id!", "text": "hi"}, "invalid_payload"),
        ("message:send", {"client_id": "x" * 65, "text": "hi"}, "invalid_payload"),
        ("message:send", {"client_id": "a", "text": None}, "invalid_payload"),
        ("typing:set", {"typing": "yes"}, "invalid_payload"),
        ("messages:fetch", {"after_seq": -1}, "invalid_payload"),
        ("chat:resume", {"resume_token": "nope", "last_seq": 0}, "resume_failed"),
        ("chat:end", {}, "no_active_chat"),
        ("admin:shutdown", {}, "unknown_event"),
        ("message", {"text": "hi"}, "unknown_event"),
    ],
)
async def test_visitor_bad_input(chatting, event, payload, code) -> None:  # type: ignore[no-untyped-def]
    live, staff, visitor = chatting
    stranger = await live.visitor()
    ack = await stranger.raw_call(event, payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert isinstance(ack["error"]["message"], str)
    await assert_still_chatting(staff, visitor, code)


async def test_resume_without_last_seq_is_refused_and_changes_nothing(chatting) -> None:  # type: ignore[no-untyped-def]
    """docs/protocol.md 2 and 3.1: a missing field gives invalid_payload; the holding socket keeps the chat."""
    live, staff, visitor = chatting
    stranger = await live.visitor()
    ack = await stranger.raw_call("chat:resume", {"resume_token": visitor.token})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_payload"
    assert "last_seq" in ack["error"]["message"]
    await assert_still_chatting(staff, visitor, "resume")
    assert visitor.received["chat:ended"] == []
    assert (await live.service.store.get_chat(visitor.chat_id)).visitor_sid == visitor.sio.get_sid("/visitor")  # type: ignore[union-attr]


async def test_missing_and_extra_arguments(chatting) -> None:  # type: ignore[no-untyped-def]
    live, staff, visitor = chatting
    stranger = await live.visitor()
    assert (await stranger.raw_call("chat:start", None))["error"]["code"] == "invalid_payload"
    assert (await stranger.raw_call("chat:start", ({"language": "en"}, 2)))["error"]["code"] == "invalid_payload"
    await assert_still_chatting(staff, visitor, "args")


async def test_oversized_message_is_refused_and_not_stored(chatting) -> None:  # type: ignore[no-untyped-def]
    live, staff, visitor = chatting
    limit = live.settings.chat.max_message_length
    ack = await visitor.send("x" * (limit + 1), "big")
    assert ack["error"]["code"] == "message_too_long"
    assert (await visitor.send("   ", "blank"))["error"]["code"] == "message_empty"
    exact = await visitor.send("y" * limit, "exact")
    assert exact["ok"] and exact["seq"] == 1
    await settle()
    assert [m["client_id"] for m in staff.received["message:new"]] == ["exact"]


async def test_packet_over_transport_limit_closes_only_that_socket(chatting) -> None:  # type: ignore[no-untyped-def]
    live, staff, visitor = chatting
    attacker = await live.visitor()
    await attacker.sio.emit("message:send", {"client_id": "a", "text": "z" * 200_000}, namespace="/visitor")
    for _ in range(50):
        if not attacker.sio.connected:
            break
        await settle(0.1)
    assert not attacker.sio.connected
    await assert_still_chatting(staff, visitor, "big-packet")


async def test_second_chat_on_one_socket_is_refused(chatting) -> None:  # type: ignore[no-untyped-def]
    live, staff, visitor = chatting
    again = await visitor.call("chat:start", {"language": "en"})
    assert again["error"]["code"] == "chat_already_started"
    await assert_still_chatting(staff, visitor, "second")


async def test_staff_socket_without_session_is_refused(live: Live) -> None:
    for cookie in (None, "forged-token"):
        client = StaffMember(live.url, cookie)
        with pytest.raises(socketio.exceptions.ConnectionError) as info:
            await client.connect()
        assert "/staff" in str(info.value)
        refusal = client.received["connect_error"][-1]
        assert refusal["message"] == "unauthenticated"
        assert refusal["data"]["code"] == "unauthenticated"


async def test_staff_bad_input(chatting) -> None:  # type: ignore[no-untyped-def]
    live, staff, visitor = chatting
    cases = [
        ("message:send", {"chat_id": "c_nope", "client_id": "a", "text": "hi"}, "chat_not_found"),
        ("message:send", {"chat_id": visitor.chat_id, "client_id": "a", "text": "x" * 5000}, "message_too_long"),
        ("message:send", {"chat_id": visitor.chat_id, "text": "hi"}, "invalid_payload"),
        ("chat:end", {"chat_id": visitor.chat_id, "topics": "health.mental"}, "invalid_payload"),
        ("chat:end", {"chat_id": visitor.chat_id, "topics": ["nope.nope"]}, "unknown_topic"),
        ("staff:delete_everything", {}, "unknown_event"),
        ("duty:check_in", {"now": True}, "invalid_payload"),
        ("chat:invite", {"chat_id": visitor.chat_id, "staff_id": 0}, "invalid_payload"),
        ("chat:invite", {"chat_id": visitor.chat_id, "staff_id": 2, "as": "hidden"}, "invalid_payload"),
        ("chat:invite", [visitor.chat_id, 2], "invalid_payload"),
        ("chat:invite", {"chat_id": visitor.chat_id, "staff_id": 2, "as": "listener"}, "listeners_disabled"),
        ("chat:invite", {"chat_id": "c_nope", "staff_id": 2}, "chat_not_found"),
        ("chat:leave", {"chat_id": visitor.chat_id}, "chat_not_found"),
        ("chat:leave", {"chat_id": 5}, "invalid_payload"),
    ]
    for event, payload, code in cases:
        ack = await staff.raw_call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (event, ack)
    await assert_still_chatting(staff, visitor, "staff")


async def test_flood_is_rate_limited_and_others_carry_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    live = await start_live(tmp_path, limits={"events_per_second": 2.0, "event_burst": 5})
    try:
        await live.add_staff("aino")
        staff = await live.staff("aino")
        visitor = await live.visitor()
        await visitor.start()
        flooder = await live.visitor()
        codes = [(await flooder.raw_call("typing:set", {"typing": True}))["error"]["code"] for _ in range(12)]
        assert codes.count("rate_limited") >= 6
        assert set(codes) <= {"no_active_chat", "rate_limited"}
        await settle(0.6)
        await assert_still_chatting(staff, visitor, "flood")
    finally:
        await stop_live(live)


async def test_bad_origin_is_refused_at_handshake(live: Live) -> None:
    client = Visitor(live.url, origin="https://evil.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect()
    ok = Visitor(live.url, origin=live.settings.server.public_origin)
    await ok.connect()
    await ok.disconnect()
