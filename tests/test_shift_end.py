"""Shift boundaries against a live server with a moved clock: hand-over, warnings,
duty state, the last shift ending, and early check-in."""

from __future__ import annotations

from datetime import datetime, timedelta

from chat_server.clock import iso
from chat_server.keys import roster_key, shifts_key
from roster.schedule import Shift
from tests.support.clients import record_event
from tests.support.http import Http
from tests.support.live import Live, settle, start_live, stop_live


async def add_shift(live: Live, staff_id: int, start: datetime, end: datetime) -> Shift:
    shift = await live.app[shifts_key].add(staff_id, start, end)
    live.app[roster_key].invalidate()
    return shift


async def move(live: Live, delta: timedelta) -> None:
    """Move the clock, drop the roster cache and apply every deadline."""
    live.clock.move(delta)
    live.app[roster_key].invalidate()
    await live.service.sweep()


async def test_overlapping_shifts_hand_over_at_the_first_ones_end(live: Live) -> None:
    now = live.clock.now()
    anna = await live.add_staff("anna", alias="Anna", shift=False)
    bert = await live.add_staff("bert", alias="Bert", shift=False)
    shift_a = await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(hours=1))
    await add_shift(live, bert.id, now - timedelta(minutes=30), now + timedelta(hours=3))
    a = await live.staff("anna")
    visitor = await live.visitor()
    ack = await visitor.start("fi")
    assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "Anna"
    await a.wait_for("chat:assigned")
    b = await live.staff("bert")
    assert (await visitor.send("hei", "v1"))["seq"] == 1
    assert (await a.send(visitor.chat_id, "moi", "a1"))["seq"] == 2
    await visitor.wait_for("message:new", lambda m: m["seq"] == 2)

    await move(live, timedelta(minutes=61))

    state = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "handed_over")
    assert (state["state"], state["staff_alias"], state["chat_id"], state["last_seq"]) == (
        "active", "Bert", visitor.chat_id, 2)
    removed = await a.wait_for("chat:removed")
    assert removed == {"chat_id": visitor.chat_id, "reason": "handed_over"}
    assigned = await b.wait_for("chat:assigned")
    assert assigned["chat_id"] == visitor.chat_id and assigned["state"] == "active"
    assert [(m["seq"], m["sender"], m["text"]) for m in assigned["messages"]] == [
        (1, "visitor", "hei"), (2, "staff", "moi")]
    assert (await a.wait_for("duty:state", lambda d: d["on_shift"] is False))["shift_ends_at"] is None

    # The conversation continues with Bert; Anna is out of it.
    assert (await visitor.send("oletko uusi?", "v2"))["seq"] == 3
    assert (await b.wait_for("message:new", lambda m: m["seq"] == 3))["text"] == "oletko uusi?"
    assert (await b.send(visitor.chat_id, "olen, jatketaan", "b1"))["seq"] == 4
    assert (await visitor.wait_for("message:new", lambda m: m["seq"] == 4))["text"] == "olen, jatketaan"
    refused = await a.send(visitor.chat_id, "still here?", "a2")
    assert refused["ok"] is False and refused["error"]["code"] == "chat_not_found"
    await settle()
    assert [m["seq"] for m in a.received["message:new"]] == [1, 2]
    assert len(visitor.received["chat:state"]) == 1  # no spurious re-announcements
    sync = await a.call("staff:sync", {})
    assert sync["chats"] == [] and sync["duty"]["on_shift"] is False

    done = await b.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]})
    assert done["ok"], done
    rows = await live.session_rows()
    assert len(rows) == 1
    row = rows[0]
    assert (row["outcome"], row["shift_id"], row["visitor_messages"], row["staff_messages"]) == (
        "answered", shift_a.shift_id, 2, 2)


async def test_hand_over_prefers_a_colleague_who_speaks_the_chats_language(live: Live) -> None:
    now = live.clock.now()
    anna = await live.add_staff("anna", alias="Anna", shift=False)
    bert = await live.add_staff("bert", alias="Bert", shift=False, languages=("en",))
    cara = await live.add_staff("cara", alias="Cara", shift=False, languages=("fi",))
    await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(hours=1))
    for member in (bert, cara):
        await add_shift(live, member.id, now - timedelta(minutes=30), now + timedelta(hours=3))
    a = await live.staff("anna")
    visitor = await live.visitor()
    assert (await visitor.start("fi"))["chat"]["staff_alias"] == "Anna"
    # Bert checks in first: without the language he would be next (longest idle, same load).
    b = await live.staff("bert")
    live.clock.move(timedelta(seconds=5))
    c = await live.staff("cara")

    await move(live, timedelta(minutes=61))

    state = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "handed_over")
    assert state["staff_alias"] == "Cara"
    assert (await c.wait_for("chat:assigned"))["chat_id"] == visitor.chat_id
    await a.wait_for("chat:removed")
    await settle()
    assert b.received["chat:assigned"] == []


async def test_no_one_to_hand_over_to_warns_once_and_keeps_the_chat(live: Live) -> None:
    """Bert is on duty but at capacity; Cecilia is on shift but not checked in."""
    now = live.clock.now()
    anna = await live.add_staff("anna", alias="Anna", shift=False)
    bert = await live.add_staff("bert", alias="Bert", shift=False, max_chats=1)
    cecilia = await live.add_staff("cecilia", alias="Cecilia", shift=False)
    await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(hours=1))
    for member in (bert, cecilia):
        await add_shift(live, member.id, now - timedelta(minutes=30), now + timedelta(hours=3))
    a = await live.staff("anna")
    record_event(a, "duty:warning")
    first = await live.visitor()
    assert (await first.start())["chat"]["staff_alias"] == "Anna"
    b = await live.staff("bert")
    record_event(b, "duty:warning")
    second = await live.visitor()
    assert (await second.start())["chat"]["staff_alias"] == "Bert"
    c = await live.staff("cecilia", check_in=False)

    await move(live, timedelta(minutes=61))
    await live.service.sweep()
    warning = await a.wait_for("duty:warning")
    assert warning["code"] == "shift_ended_with_chats" and warning["chat_id"] == first.chat_id
    assert warning["message"]
    await live.service.sweep()
    await settle(0.3)
    assert len(a.received["duty:warning"]) == 1
    assert a.received["chat:removed"] == [] and b.received["duty:warning"] == []
    assert len(b.received["chat:assigned"]) == 1 and c.received["chat:assigned"] == []
    chat = await live.service.store.get_chat(first.chat_id)
    assert chat is not None and chat.staff_id == anna.id and chat.state.value == "active"
    # The chat goes on with Anna.
    assert (await a.send(first.chat_id, "I'm still here", "a1"))["ok"]
    assert (await first.wait_for("message:new"))["text"] == "I'm still here"
    # Once Cecilia checks in, the next sweep hands the chat over after all.
    await c.check_in()
    await live.service.sweep()
    state = await first.wait_for("chat:state", lambda s: s.get("reason") == "handed_over")
    assert state["staff_alias"] == "Cecilia"
    assert (await a.wait_for("chat:removed"))["reason"] == "handed_over"
    assert len(a.received["duty:warning"]) == 1


async def test_hand_over_switched_off_warns_even_when_someone_is_free(tmp_path) -> None:  # type: ignore[no-untyped-def]
    live = await start_live(tmp_path, roster={"hand_over_at_shift_end": False})
    try:
        now = live.clock.now()
        anna = await live.add_staff("anna", alias="Anna", shift=False)
        bert = await live.add_staff("bert", alias="Bert", shift=False)
        await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(hours=1))
        await add_shift(live, bert.id, now - timedelta(minutes=30), now + timedelta(hours=3))
        a = await live.staff("anna")
        record_event(a, "duty:warning")
        visitor = await live.visitor()
        assert (await visitor.start())["chat"]["staff_alias"] == "Anna"
        b = await live.staff("bert")

        await move(live, timedelta(minutes=61))
        await live.service.sweep()
        warning = await a.wait_for("duty:warning")
        assert warning["chat_id"] == visitor.chat_id
        await settle(0.3)
        assert len(a.received["duty:warning"]) == 1
        assert b.received["chat:assigned"] == [] and a.received["chat:removed"] == []
        assert [s.get("reason") for s in visitor.received["chat:state"]] == []
        # Anna gets no new chats after her shift; Bert does.
        other = await live.visitor()
        assert (await other.start())["chat"]["staff_alias"] == "Bert"
    finally:
        await stop_live(live)


async def test_duty_state_is_pushed_when_a_shift_starts_and_ends(live: Live) -> None:
    now = live.clock.now()
    anna = await live.add_staff("anna", alias="Anna", shift=False)
    first = await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(minutes=30))
    later = await add_shift(live, anna.id, now + timedelta(hours=2), now + timedelta(hours=4))
    a = await live.staff("anna")
    assert (await a.call("staff:sync", {}))["duty"] == {
        "available": True, "on_shift": True, "shift_ends_at": iso(first.ends_at), "paused_since": None}

    await move(live, timedelta(minutes=31))
    ended = await a.wait_for("duty:state", lambda d: d["on_shift"] is False)
    assert ended["shift_ends_at"] is None
    # The end of duty checks the member out: the next shift starts with a check-in.
    assert ended["available"] is False
    refused = await a.call("duty:check_in", {})
    assert refused["ok"] is False and refused["error"]["code"] == "not_on_shift"

    # The next shift starts (counting the early check-in window).
    seen = len(a.received["duty:state"])
    await move(live, timedelta(hours=1, minutes=30))
    started = await a.wait_for(
        "duty:state", lambda d: d["on_shift"] is True and d["shift_ends_at"] == iso(later.ends_at)
    )
    assert started["available"] is False
    assert [d["on_shift"] for d in a.received["duty:state"][seen:]] == [True]


async def test_last_shift_ends_with_visitors_waiting(live: Live) -> None:
    now = live.clock.now()
    anna = await live.add_staff("anna", alias="Anna", shift=False, max_chats=1)
    await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(minutes=10))
    tomorrow = now + timedelta(days=1, hours=1)
    await add_shift(live, anna.id, tomorrow, tomorrow + timedelta(hours=2))
    await live.staff("anna")
    served = await live.visitor()
    assert (await served.start())["chat"]["state"] == "active"
    waiting = [await live.visitor() for _ in range(2)]
    for visitor in waiting:
        assert (await visitor.start())["chat"]["state"] == "waiting"

    await move(live, timedelta(minutes=11))
    expected = iso(tomorrow)
    assert expected is not None and expected.endswith("Z") and "." not in expected
    for visitor in waiting:
        ended = await visitor.wait_for("chat:ended")
        assert ended == {
            "chat_id": visitor.chat_id, "reason": "duty_ended", "next_opening": expected, "feedback_ticket": None
        }
    rows = await live.session_rows()
    assert sorted(r["outcome"] for r in rows) == ["unanswered", "unanswered"]
    assert all(r["shift_id"] is None and r["duration_seconds"] == 0 for r in rows)
    assert served.received["chat:ended"] == []  # a chat in progress is not cut off

    async with Http(live) as anonymous:
        status = (await anonymous.get("/api/status")).body
    assert status["open"] is False and status["next_opening"] == expected
    local_day = tomorrow.astimezone(live.settings.organisation.zone).date().isoformat()
    assert any(p["start"] == expected for d in status["opening_hours"] if d["date"] == local_day
               for p in d["periods"])
    late = await live.visitor()
    ack = await late.call("chat:start", {"language": "en"})
    assert ack["ok"] and ack["resume_token"] is None
    assert (ack["chat"]["state"], ack["chat"]["chat_id"], ack["chat"]["next_opening"]) == ("closed", None, expected)
    assert sorted(r["outcome"] for r in await live.session_rows()) == ["closed", "unanswered", "unanswered"]


async def test_early_check_in_gets_no_chat_until_the_shift_starts(live: Live) -> None:
    now = live.clock.now()
    early = live.settings.roster.check_in_early_minutes
    assert early == 15
    anna = await live.add_staff("anna", alias="Anna", shift=False)
    # Otto's shift keeps the chat open, but Otto is not checked in.
    otto = await live.add_staff("otto", alias="Otto", shift=False)
    await add_shift(live, otto.id, now - timedelta(hours=1), now + timedelta(hours=3))
    start = now + timedelta(minutes=20)
    await add_shift(live, anna.id, start, start + timedelta(hours=2))
    a = await live.staff("anna", check_in=False)
    await live.staff("otto", check_in=False)
    too_early = await a.call("duty:check_in", {})
    assert too_early["ok"] is False and too_early["error"]["code"] == "not_on_shift"

    await move(live, timedelta(minutes=6))  # 14 minutes before the shift
    duty = (await a.check_in())["duty"]
    assert duty["available"] is True and duty["on_shift"] is True
    visitor = await live.visitor()
    assert (await visitor.start())["chat"]["state"] == "waiting"
    await live.service.sweep()
    await settle(0.3)
    assert a.received["chat:assigned"] == []

    await move(live, timedelta(minutes=15))  # one minute into the shift
    assigned = await a.wait_for("chat:assigned")
    assert assigned["chat_id"] == visitor.chat_id
    state = await visitor.wait_for("chat:state", lambda s: s["state"] == "active")
    assert state["staff_alias"] == "Anna"
