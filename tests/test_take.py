"""Taking a waiting chat out of turn (chat:take): live server, real clients."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.support.live import Live, settle


async def test_take_gives_a_waiting_chat_beyond_the_queue_and_the_visitor_sees_an_assignment(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", max_chats=1)
    await live.add_staff("leo", alias="Leo")
    aino = await live.staff("aino")
    leo = await live.staff("leo", check_in=False)
    first, second, third = [await live.visitor() for _ in range(3)]
    await first.start("fi")
    await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == first.chat_id)
    await second.start("en")
    await third.start("fi")
    sync = await aino.call("staff:sync", {})
    assert [e["chat_id"] for e in sync["queue"]] == [second.chat_id, third.chat_id]
    assert (sync["staff"]["max_chats"], sync["staff"]["take_up_to"]) == (1, 2)

    # Out of turn: the second in line, one chat beyond Aino's own maximum (chat.take_extra_chats = 1).
    ack = await aino.call("chat:take", {"chat_id": third.chat_id})
    assert ack["ok"], ack
    assert (ack["chat"]["chat_id"], ack["chat"]["state"]) == (third.chat_id, "active")
    await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == third.chat_id)
    state = await third.wait_for("chat:state", lambda d: d["state"] == "active")
    assert state["staff_alias"] == "Aino" and "reason" not in state
    # Everybody's queue follows: only the second visitor still waits, now first in line.
    await leo.wait_for("queue:update", lambda d: [e["chat_id"] for e in d["queue"]] == [second.chat_id])

    assert (await aino.send(third.chat_id, "hei", "s1"))["ok"]
    assert (await third.wait_for("message:new", lambda m: m["text"] == "hei"))["seq"] == 1

    # Full even with the extra place: refused, nothing changes.
    refused = await aino.call("chat:take", {"chat_id": second.chat_id})
    assert refused["error"]["code"] == "staff_full", refused
    chat = await live.service.store.get_chat(second.chat_id)
    assert chat is not None and chat.state.value == "waiting" and chat.staff_id is None

    ended = await aino.call("chat:end", {"chat_id": third.chat_id, "topics": ["other.other"]})
    assert ended["ok"]
    rows = await live.session_rows()
    assert [(r["outcome"], r["shift_id"] is not None) for r in rows] == [("answered", True)]


async def test_take_refusals_change_nothing(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", max_chats=1, languages=("fi",))
    await live.add_staff("leo", alias="Leo", max_chats=1)
    await live.add_staff("off", alias="Off", shift=False)
    aino = await live.staff("aino")
    leo = await live.staff("leo")
    off = await live.staff("off", check_in=False)
    visitors = [await live.visitor() for _ in range(4)]
    for v, language in zip(visitors, ("fi", "fi", "en", "fi"), strict=True):
        await v.start(language)
    await settle(0.3)
    queue = [e["chat_id"] for e in (await aino.call("staff:sync", {}))["queue"]]
    assert queue == [visitors[2].chat_id, visitors[3].chat_id]
    english, finnish = queue

    cases = [
        (aino, {"chat_id": english}, "language_not_spoken"),
        (aino, {"chat_id": "no-such-chat"}, "chat_not_found"),
        (aino, {}, "invalid_payload"),
        (aino, {"chat_id": finnish, "extra": 1}, "invalid_payload"),
        (aino, {"chat_id": 7}, "invalid_payload"),
        (off, {"chat_id": finnish}, "staff_not_on_duty"),
    ]
    for member, payload, code in cases:
        ack = await member.call("chat:take", payload)
        assert ack["error"]["code"] == code, (payload, ack)
    assert [c.chat_id for c in await live.service.store.queue()] == queue

    # Checked out: refused too.
    await leo.call("duty:check_out", {})
    assert (await leo.call("chat:take", {"chat_id": finnish}))["error"]["code"] == "staff_not_on_duty"
    await leo.call("duty:check_in", {})
    assert (await leo.call("chat:take", {"chat_id": finnish}))["ok"]
    # Taken: no longer waiting for anyone else.
    assert (await aino.call("chat:take", {"chat_id": finnish}))["error"]["code"] == "chat_not_waiting"
    # An ended chat is no longer waiting either.
    await visitors[2].call("chat:end", {})
    await settle(0.1)
    gone = await aino.call("chat:take", {"chat_id": english})
    assert gone["error"]["code"] in {"chat_not_found", "chat_not_waiting"}, gone


async def test_take_during_early_check_in_before_the_shift_starts(live: Live) -> None:
    aino = await live.add_staff("aino", alias="Aino", shift=False)
    await live.add_staff("leo", alias="Leo", max_chats=1)
    now = live.clock.now()
    await live.add_shift(aino.id, now + timedelta(minutes=10), now + timedelta(hours=2))
    leo = await live.staff("leo")
    member = await live.staff("aino")
    assert (await member.call("staff:sync", {}))["duty"]["available"]
    busy, waiting = await live.visitor(), await live.visitor()
    await busy.start("fi")
    await leo.wait_for("chat:assigned")
    await waiting.start("fi")
    await settle(0.2)
    # The queue does not give chats before the shift starts, but the member may take one.
    assert [c.chat_id for c in await live.service.store.queue()] == [waiting.chat_id]
    ack = await member.call("chat:take", {"chat_id": waiting.chat_id})
    assert ack["ok"], ack
    assert (await waiting.wait_for("chat:state", lambda d: d["state"] == "active"))["staff_alias"] == "Aino"


async def test_concurrent_takes_of_one_chat_have_one_holder(live: Live) -> None:
    for name in ("aino", "leo", "mia"):
        await live.add_staff(name, max_chats=1)
    members = [await live.staff(name) for name in ("aino", "leo", "mia")]
    fillers = [await live.visitor() for _ in members]
    for v in fillers:
        await v.start("fi")
    wanted = await live.visitor()
    await wanted.start("fi")
    await settle(0.2)
    acks = await asyncio.gather(*(m.call("chat:take", {"chat_id": wanted.chat_id}) for m in members))
    winners = [a for a in acks if a["ok"]]
    assert len(winners) == 1, acks
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"chat_not_waiting"}
    chat = await live.service.store.get_chat(wanted.chat_id)
    assert chat is not None and chat.state.value == "active"
    assert (await live.service.store.staff_loads())[chat.staff_id] == 2
