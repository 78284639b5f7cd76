"""Peer group sessions on one live server (SQLite and PostgreSQL): joining, the room, moderation, the row."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
from sqlalchemy import select

from chat_server import errors
from chat_server.accounts import Role
from chat_server.groups.records import GroupSessionRow
from chat_server.keys import group_service_key, sessions_key
from tests.support.clients import StaffMember, login
from tests.support.groups import Moderator, Participant, plan_group_now
from tests.support.http import Http
from tests.support.live import PASSWORD, Live, settle, start_live, stop_live


async def participant(live: Live, local_address: str | None = None) -> Participant:
    client = Participant(live.url, local_address)
    await client.connect()
    live.clients.append(client)
    return client


async def moderator(live: Live, username: str) -> Moderator:
    client = Moderator(live.url, await login(live.url, username, PASSWORD))
    await client.connect()
    live.clients.append(client)
    return client


def code(ack: dict[str, Any]) -> str:
    assert not ack["ok"], ack
    return str(ack["error"]["code"])


async def rows(live: Live) -> list[GroupSessionRow]:
    async with live.app[sessions_key]() as session:
        return list((await session.scalars(select(GroupSessionRow))).all())


async def test_a_session_from_join_to_end(live: Live) -> None:
    peer = await live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
    occurrence = await plan_group_now(live.app, live.clock.now(), capacity=3, moderators=(peer.id,))
    room = occurrence.room_id

    async with Http(live) as http:
        status = (await http.get("/api/status")).body
    (listed,) = status["groups"]
    assert listed["room_id"] == room and listed["running"] and listed["capacity"] == 3 and listed["moderated"]
    assert "Pia" not in str(listed) and "pia" not in str(listed)  # no names, not even aliases

    mod = await moderator(live, "pia")
    opened = await mod.act("group:moderate", room_id=room)
    assert opened["ok"] and opened["participants"] == [] and opened["state"]["capacity"] == 3

    kettu = await participant(live, "127.0.0.9")
    assert (await kettu.join(room, "Kettu"))["place"]["status"] == "in"
    other = await participant(live)
    assert code(await other.join(room, "K")) == errors.NICKNAME_INVALID
    assert code(await other.join(room, "Modérator")) == errors.NICKNAME_RESERVED
    assert code(await other.join(room, "P.I.A")) == errors.NICKNAME_RESERVED  # a moderator's alias
    assert code(await other.join(room, "KETTU")) == errors.NICKNAME_TAKEN
    assert code(await other.join(room, "Susi", rules_accepted=False)) == errors.RULES_NOT_ACCEPTED
    assert code(await other.join("999-2026-01-01", "Susi")) == errors.GROUP_NOT_RUNNING
    assert (await other.join(room, "Susi"))["ok"]
    assert code(await other.join(room, "Susi2")) == errors.ALREADY_IN_GROUP
    karhu = await participant(live)
    await karhu.join(room, "Karhu")
    ilves = await participant(live)
    waiting = await ilves.join(room, "Ilves")
    assert waiting["place"] == {"member_id": ilves.member_id, "nickname": "Ilves", "status": "waiting",
                                "position": 1, "muted": False}
    assert code(await ilves.send("can I?", "w1")) == errors.STILL_WAITING

    assert (await kettu.send("  hello group  ", "k1")) == {"ok": True, "seq": 1, "duplicate": False}
    assert (await kettu.send("hello group", "k1"))["duplicate"]
    for client in (kettu, other, karhu):
        message = await client.wait_for("group:message", lambda m: m["seq"] == 1)
        assert message["nickname"] == "Kettu" and message["text"] == "hello group" and "member_id" not in message
    seen = await mod.wait_for("group:message", lambda m: m["seq"] == 1)
    assert seen["member_id"] == kettu.member_id
    assert (await mod.act("message:send", room_id=room, client_id="m1", text="Welcome all"))["seq"] == 2
    await other.send("a rude one", "s1")
    await kettu.wait_for("group:message", lambda m: m["seq"] == 3)

    assert (await other.call("message:report", {"seq": 3}))["ok"]
    alert = await mod.wait_for("group:report")
    assert alert == {"room_id": room, "seq": 3, "reports": 1}
    assert (await mod.act("message:remove", room_id=room, seq=3))["ok"]
    for client in (kettu, other, karhu):
        await client.wait_for("group:message_removed", lambda m: m["seq"] == 3)
    assert code(await mod.act("message:remove", room_id=room, seq=3)) == errors.MESSAGE_NOT_FOUND

    assert (await mod.act("participant:mute", room_id=room, member_id=other.member_id, muted=True))["ok"]
    assert (await other.wait_for("group:place", lambda p: p["muted"]))["status"] == "in"
    assert code(await other.send("still here", "s2")) == errors.MUTED

    state = await mod.act("group:slow", room_id=room, seconds=60)
    assert state["state"]["slow_seconds"] == 60
    assert (await karhu.send("slowly", "r1"))["ok"]
    assert code(await karhu.send("again", "r2")) == errors.SLOW_MODE
    await mod.act("group:slow", room_id=room, seconds=0)
    await mod.act("group:pause", room_id=room, paused=True)
    assert code(await karhu.send("paused?", "r3")) == errors.GROUP_PAUSED
    await mod.act("group:pause", room_id=room, paused=False)

    # Resume after a drop: a new socket, the token, the messages missed since last_seq.
    token = karhu.token
    await karhu.disconnect()
    await kettu.send("while you were away", "k2")
    back = await participant(live)
    resumed = await back.call("group:resume", {"resume_token": token, "last_seq": 4})
    assert resumed["ok"] and [m["seq"] for m in resumed["messages"]] == [5]
    assert resumed["place"]["nickname"] == "Karhu" and "resume_token" not in resumed
    assert code(await (await participant(live)).call("group:resume", {"resume_token": "nope", "last_seq": 0})) == (
        errors.RESUME_FAILED
    )

    # Removal: the removed socket is told and closed; the waiting list moves up; the address cannot rejoin.
    assert (await mod.act("participant:remove", room_id=room, member_id=kettu.member_id))["ok"]
    await kettu.wait_for("group:removed")
    assert (await ilves.wait_for("group:place", lambda p: p["status"] == "in"))["position"] is None
    assert ilves.received["group:message"] == []  # nothing of the room reached the waiting list
    entered = await ilves.call("group:resume", {"resume_token": ilves.token, "last_seq": 0})
    assert [m["seq"] for m in entered["messages"]] == [1, 2, 4, 5]  # the removed one is gone
    again = await participant(live, "127.0.0.9")
    assert code(await again.join(room, "Kettu Two")) == errors.REMOVED_FROM_GROUP
    await settle(0.2)
    assert not kettu.sio.connected

    # The peer leader moderates but takes no one-to-one chats.
    staff_socket = StaffMember(live.url, await login(live.url, "pia", PASSWORD))
    await staff_socket.connect()
    live.clients.append(staff_socket)
    assert (await staff_socket.call("duty:check_in", {}))["error"]["code"] == errors.FORBIDDEN

    assert (await mod.act("group:end", room_id=room))["ok"]
    for client in (other, back, ilves):
        assert (await client.wait_for("group:ended"))["reason"] == "ended"
    assert code(await mod.act("group:end", room_id=room)) == errors.GROUP_NOT_RUNNING
    service = live.app[group_service_key]
    assert await service.store.room(room) is None and await service.store.rooms() == []
    (row,) = await rows(live)
    assert (row.id, row.end_reason, row.peak_participants, row.total_participants) == (room, "ended", 3, 4)
    assert (row.messages, row.removed_messages, row.removed_participants, row.muted_participants) == (5, 1, 1, 1)
    assert (row.reports, row.moderators_present) == (1, 1)


async def test_only_signed_up_moderators_and_managers_moderate(live: Live) -> None:
    await live.add_staff("mika", role=Role.MANAGER, shift=False)
    await live.add_staff("aino", shift=False)
    occurrence = await plan_group_now(live.app, live.clock.now())
    stranger = await moderator(live, "aino")
    assert code(await stranger.act("group:moderate", room_id=occurrence.room_id)) == errors.NOT_MODERATOR
    assert code(await stranger.act("group:end", room_id=occurrence.room_id)) == errors.NOT_MODERATOR
    manager = await moderator(live, "mika")
    assert (await manager.act("group:moderate", room_id=occurrence.room_id))["ok"]
    # A participant socket has no moderation events at all.
    visitor = await participant(live)
    await visitor.join(occurrence.room_id, "Joki")
    reply = await visitor.call("message:remove", {"room_id": occurrence.room_id, "seq": 1})
    assert code(reply) == errors.UNKNOWN_EVENT


async def test_a_session_whose_time_is_over_ends_by_itself(live: Live) -> None:
    occurrence = await plan_group_now(live.app, live.clock.now(), hours=1)
    visitor = await participant(live)
    await visitor.join(occurrence.room_id, "Myyrä")
    await visitor.send("see you", "m1")
    live.clock.move(occurrence.ends_at - live.clock.now())
    assert (await visitor.wait_for("group:ended", timeout=10))["reason"] == "over"
    (row,) = await rows(live)
    assert (row.end_reason, row.total_participants, row.messages) == ("over", 1, 1)


async def test_bad_group_payloads_are_refused_at_the_edge(live: Live) -> None:
    occurrence = await plan_group_now(live.app, live.clock.now())
    visitor = await participant(live)
    for payload in (
        {"room_id": occurrence.room_id, "nickname": "Ok name"},  # rules_accepted missing
        {"room_id": occurrence.room_id, "nickname": "Ok name", "rules_accepted": "yes"},
        {"room_id": "../../x", "nickname": "Ok name", "rules_accepted": True},
        {"room_id": occurrence.room_id, "nickname": 5, "rules_accepted": True},
        {"room_id": occurrence.room_id, "nickname": "x" * 201, "rules_accepted": True},
        {"room_id": occurrence.room_id, "nickname": "Ok", "rules_accepted": True, "extra": 1},
    ):
        assert code(await visitor.call("group:join", payload)) == errors.INVALID_PAYLOAD
    assert code(await visitor.raw_call("group:join", ["not", "an", "object"])) == errors.INVALID_PAYLOAD
    assert code(await visitor.call("group:nonsense", {})) == errors.UNKNOWN_EVENT
    assert code(await visitor.send("before joining", "m1")) == errors.NOT_IN_GROUP
    await visitor.join(occurrence.room_id, "Kala")
    assert code(await visitor.send("   ", "m1")) == errors.MESSAGE_EMPTY
    assert code(await visitor.send("x" * (live.settings.chat.max_message_length + 1), "m1")) == errors.MESSAGE_TOO_LONG
    assert code(await visitor.call("message:report", {"seq": 99})) == errors.MESSAGE_NOT_FOUND
    assert code(await visitor.call("message:send", {"client_id": "bad id!", "text": "x"})) == errors.INVALID_PAYLOAD
    # Nothing of the refusals reached the room.
    room = await live.app[group_service_key].store.room(occurrence.room_id)
    assert room is not None and room.last_seq == 0 and len(room.members) == 1


async def test_floods_are_rate_limited_per_socket_and_per_session(tmp_path: Path) -> None:
    live = await start_live(tmp_path, limits={"events_per_second": 1.0, "event_burst": 5},
                            groups={"room_messages_per_second": 4})
    try:
        occurrence = await plan_group_now(live.app, live.clock.now())
        flooder = await participant(live)
        assert (await flooder.join(occurrence.room_id, "Tulva"))["ok"]
        answers = [await flooder.send(f"flood {n}", f"f{n}") for n in range(10)]
        codes = [a["error"]["code"] for a in answers if not a["ok"]]
        assert codes and set(codes) == {errors.RATE_LIMITED}  # the socket's bucket
        # Many sockets together: the session accepts room_messages_per_second a second.
        crowd = [await participant(live) for _ in range(6)]
        for n, member in enumerate(crowd):
            assert (await member.join(occurrence.room_id, f"Joukko {n}"))["ok"]
        live.clock.move(timedelta(seconds=5))
        results = await asyncio.gather(*(m.send("all at once", "c1") for m in crowd))
        refused = [r for r in results if not r["ok"]]
        assert refused and {r["error"]["code"] for r in refused} == {errors.RATE_LIMITED}
        accepted = [r for r in results if r["ok"]]
        assert 1 <= len(accepted) <= 4
        room = await live.app[group_service_key].store.room(occurrence.room_id)
        assert room is not None and room.last_seq == sum(1 for a in answers if a["ok"]) + len(accepted)
    finally:
        await stop_live(live)


async def test_typing_is_someone_typing_and_the_waiting_list_hears_of_the_end(live: Live) -> None:
    occurrence = await plan_group_now(live.app, live.clock.now(), capacity=2)
    room = occurrence.room_id
    writer, reader, waiting = await participant(live), await participant(live), await participant(live)
    await writer.join(room, "Kirjoittaja")
    await reader.join(room, "Lukija")
    assert (await waiting.join(room, "Jonossa"))["place"]["status"] == "waiting"
    assert (await writer.call("typing:set", {"typing": True}))["ok"]
    assert await reader.wait_for("group:typing") == {"typing": True, "nickname": None}  # "someone is typing"
    await settle(0.2)
    assert writer.received["group:typing"] == [] and waiting.received["group:typing"] == []
    assert code(await waiting.call("typing:set", {"typing": True})) == errors.NOT_IN_GROUP
    assert await live.app[group_service_key].end(room, "ended") is not None
    assert (await waiting.wait_for("group:ended"))["reason"] == "ended"


async def test_group_sockets_per_address_are_capped(tmp_path: Path) -> None:
    live = await start_live(tmp_path, limits={"sockets_per_address": 2})
    try:
        first, second = await participant(live), await participant(live)
        third = Participant(live.url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await third.connect()
        assert errors.TOO_MANY_CONNECTIONS in str(third.received["connect_error"]), third.received
        await first.disconnect()
        await settle(0.2)
        assert (await participant(live)).sio.connected  # a place freed by a disconnect is usable again
        assert second.sio.connected
    finally:
        await stop_live(live)


async def test_pinned_rules_and_moderator_message_and_an_invitation(live: Live) -> None:
    peer = await live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
    occurrence = await plan_group_now(live.app, live.clock.now(), moderators=(peer.id,))
    room = occurrence.room_id
    mod = await moderator(live, "pia")
    assert (await mod.act("group:moderate", room_id=room))["state"]["pinned"] is None
    kettu, susi = await participant(live), await participant(live)
    assert (await kettu.join(room, "Kettu"))["state"]["pinned"] is None
    await susi.join(room, "Susi")
    await kettu.send("a participant's words", "k1")
    assert (await mod.act("message:send", room_id=room, client_id="m1", text="Welcome, be kind"))["seq"] == 2

    # Only the rules or a moderator's message can be pinned; bad input changes nothing.
    assert code(await mod.act("group:pin", room_id=room, seq=1)) == errors.MESSAGE_NOT_PINNABLE
    assert code(await mod.act("group:pin", room_id=room, seq=99)) == errors.MESSAGE_NOT_FOUND
    assert code(await mod.act("group:pin", room_id=room, seq="2")) == errors.INVALID_PAYLOAD
    assert code(await mod.act("group:pin", room_id=room, seq=0)) == errors.INVALID_PAYLOAD
    assert code(await kettu.call("group:pin", {"room_id": room})) == errors.UNKNOWN_EVENT
    assert (await live.app[group_service_key].store.room(room)).pinned is None  # type: ignore[union-attr]

    pinned = await mod.act("group:pin", room_id=room)
    assert pinned["state"]["pinned"] == {"kind": "rules"}
    for client in (kettu, susi):
        assert (await client.wait_for("group:state", lambda s: s["pinned"] is not None))["pinned"] == {"kind": "rules"}
    message_pin = (await mod.act("group:pin", room_id=room, seq=2))["state"]["pinned"]
    assert message_pin["kind"] == "message" and message_pin["seq"] == 2 and message_pin["nickname"] == "Pia"
    assert message_pin["text"] == "Welcome, be kind"
    await susi.wait_for("group:state", lambda s: (s["pinned"] or {}).get("seq") == 2)

    # A resumed participant gets the pin in its state; a newcomer too.
    await susi.disconnect()
    back = await participant(live)
    resumed = await back.call("group:resume", {"resume_token": susi.token, "last_seq": 2})
    assert resumed["state"]["pinned"] == message_pin
    karhu = await participant(live)
    assert (await karhu.join(room, "Karhu"))["state"]["pinned"] == message_pin

    # Removing the pinned message unpins it; unpinning the rules clears it for everyone.
    assert (await mod.act("message:remove", room_id=room, seq=2))["ok"]
    await kettu.wait_for("group:state", lambda s: s["pinned"] is None and s["last_seq"] == 2)
    await mod.act("group:pin", room_id=room)
    assert (await mod.act("group:unpin", room_id=room))["state"]["pinned"] is None
    await karhu.wait_for("group:state", lambda s: s["pinned"] is None and s["participants"] == 3)

    # An invitation reaches that participant only; declining or ignoring it changes nothing.
    assert code(await mod.act("participant:invite", room_id=room, member_id="p_0")) == errors.PARTICIPANT_NOT_FOUND
    assert code(await mod.act("participant:invite", room_id=room, member_id="kettu")) == errors.INVALID_PAYLOAD
    assert code(await kettu.call("participant:invite", {"room_id": room, "member_id": karhu.member_id})) == (
        errors.UNKNOWN_EVENT
    )
    invited = await mod.act("participant:invite", room_id=room, member_id=kettu.member_id)
    assert invited == {"ok": True, "invitations": 1}
    assert await kettu.wait_for("group:invite") == {"room_id": room}
    await settle(0.2)
    assert back.received["group:invite"] == [] and karhu.received["group:invite"] == []
    assert (await kettu.send("still here", "k2"))["ok"]

    assert (await mod.act("group:end", room_id=room))["ok"]
    (row,) = await rows(live)
    assert (row.invitations, row.messages, row.removed_messages) == (1, 3, 1)
