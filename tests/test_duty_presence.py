"""Duty you can trust, live: availability from presence, unanswered-wait alerts, breaks, lost connections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chat_server.accounts import Role
from chat_server.clock import iso
from tests.support.http import Http
from tests.support.live import Live, settle, start_live, stop_live


@pytest.fixture
async def duty(tmp_path: Path) -> AsyncIterator[Live]:
    """A live server on SQLite (these rules live in the chat store, not the database)."""
    server = await start_live(tmp_path)
    try:
        yield server
    finally:
        await stop_live(server)


@pytest.fixture
async def no_queue(tmp_path: Path) -> AsyncIterator[Live]:
    """A live server whose organisation does not queue visitors while nobody answers."""
    server = await start_live(tmp_path, chat={"unstaffed_queue": False})
    try:
        yield server
    finally:
        await stop_live(server)


async def status(live: Live) -> dict[str, Any]:
    async with Http(live) as anonymous:
        reply = await anonymous.get("/api/status")
        assert reply.status == 200, reply.text
        body: dict[str, Any] = reply.body
        return body


async def test_a_shift_with_nobody_checked_in_is_unstaffed_and_alerts_staff_and_managers(duty: Live) -> None:
    now = duty.clock.now()
    aino = await duty.add_staff("aino", alias="Aino")  # a shift covers now
    await duty.add_staff("mira", alias="Mira", role=Role.MANAGER, shift=False)
    later = now + timedelta(hours=6)
    await duty.add_shift(aino.id, later, later + timedelta(hours=2))
    staff = await duty.staff("aino", check_in=False)
    manager = await duty.staff("mira", check_in=False)

    told = await status(duty)
    assert (told["availability"], told["open"], told["unstaffed_queue"]) == ("unstaffed", False, True)
    assert told["next_opening"] is None and told["expected_at"] == iso(later)
    assert told["desks"]["fi"]["availability"] == "unstaffed" and told["desks"]["th"]["availability"] == "closed"

    visitor = await duty.visitor()
    chat = (await visitor.start("fi"))["chat"]
    assert chat["state"] == "waiting"
    assert chat["desk"] == {"policy": "unstaffed", "alternatives": [], "speaker_from": iso(later)}

    alert = await staff.wait_for("duty:alert")
    assert alert == {
        "code": "visitor_waiting_unstaffed", "chat_id": visitor.chat_id, "language": "fi",
        "waiting_since": alert["waiting_since"], "on_call": False,
    }
    on_call = await manager.wait_for("duty:alert")
    assert on_call["chat_id"] == visitor.chat_id and on_call["on_call"] is True
    # Once per chat, however often the sweep runs.
    await duty.service.sweep()
    await settle()
    assert len(staff.received["duty:alert"]) == 1 and len(manager.received["duty:alert"]) == 1

    # Someone checks in: the visitor is answered and told, and the service is open again.
    await staff.check_in()
    active = await visitor.wait_for("chat:state", lambda s: s["state"] == "active")
    assert "desk" not in active and active["staff_alias"] == "Aino"
    assert (await status(duty))["availability"] == "open"

    await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["service.information"]})
    rows = await duty.session_rows()
    assert [r["waited_unstaffed"] for r in rows] == [True]
    # Counted in reports (a count only), and in the CSV.
    today = duty.clock.now().astimezone(duty.settings.organisation.zone).date().isoformat()
    async with Http(duty) as http:
        await http.login("mira")
        report = (await http.get(f"/api/reports?from={today}&to={today}&small_numbers=off")).body
        assert report["period"]["waited_unstaffed"] == 1
        csv = (await http.get(f"/api/reports/export.csv?from={today}&to={today}&small_numbers=off")).text
        assert "waited_unstaffed,,sessions,1" in csv


async def test_a_console_signing_in_after_the_alert_went_out_is_shown_it(duty: Live) -> None:
    await duty.add_staff("aino", alias="Aino")  # a shift covers now
    await duty.add_staff("mira", alias="Mira", role=Role.MANAGER, shift=False)
    await duty.add_staff("leo", alias="Leo", shift=False)
    staff = await duty.staff("aino", check_in=False)
    visitor = await duty.visitor()
    await visitor.start("fi")
    await staff.wait_for("duty:alert")

    # The manager on call and a colleague not on shift sign in afterwards; the member on shift reloads.
    manager = await duty.staff("mira", check_in=False)
    colleague = await duty.staff("leo", check_in=False)
    reloaded = await duty.staff("aino", check_in=False)
    alerts = {name: (await member.call("staff:sync", {}))["alerts"]
              for name, member in (("mira", manager), ("leo", colleague), ("aino", reloaded))}
    assert [(a["chat_id"], a["on_call"]) for a in alerts["mira"]] == [(visitor.chat_id, True)]
    assert [(a["chat_id"], a["on_call"]) for a in alerts["aino"]] == [(visitor.chat_id, False)]
    assert alerts["leo"] == []
    assert alerts["mira"][0] == {**alerts["aino"][0], "on_call": True}

    # Once answered, nothing stands any more.
    await reloaded.check_in()
    await visitor.wait_for("chat:state", lambda s: s["state"] == "active")
    assert (await manager.call("staff:sync", {}))["alerts"] == []


async def test_nobody_rostered_is_closed_with_the_next_opening(duty: Live) -> None:
    aino = await duty.add_staff("aino", shift=False)
    opening = duty.clock.now() + timedelta(hours=3)
    await duty.add_shift(aino.id, opening, opening + timedelta(hours=2))
    told = await status(duty)
    assert (told["availability"], told["open"], told["next_opening"], told["expected_at"]) == (
        "closed", False, iso(opening), None)


async def test_without_queueing_an_unstaffed_visitor_is_told_when_someone_is_expected(no_queue: Live) -> None:
    aino = await no_queue.add_staff("aino")
    later = no_queue.clock.now() + timedelta(hours=5)
    await no_queue.add_shift(aino.id, later, later + timedelta(hours=1))
    assert (await status(no_queue))["unstaffed_queue"] is False
    visitor = await no_queue.visitor()
    ack = await visitor.start("fi")
    assert ack["chat"]["state"] == "unstaffed" and ack["chat"]["chat_id"] is None
    assert ack["chat"]["next_opening"] == iso(later) and ack["resume_token"] is None
    assert await no_queue.service.store.queue() == []
    assert [r["outcome"] for r in await no_queue.session_rows()] == ["closed"]


async def test_a_break_keeps_open_chats_takes_no_new_one_and_shows_in_the_roster(duty: Live) -> None:
    await duty.add_staff("aino", alias="Aino")
    await duty.add_staff("leo", alias="Leo")
    aino = await duty.staff("aino")
    leo = await duty.staff("leo", check_in=False)
    first = await duty.visitor()
    await first.start("fi")
    await aino.wait_for("chat:assigned")

    refused = await leo.call("duty:pause", {})
    assert refused["ok"] is False and refused["error"]["code"] == "not_checked_in"

    paused = await aino.call("duty:pause", {})
    assert paused["ok"] and paused["duty"]["paused_since"] == iso(duty.clock.now())
    roster = await leo.wait_for("duty:roster", lambda r: any(e["paused_since"] for e in r["roster"]))
    entry = next(e for e in roster["roster"] if e["alias"] == "Aino")
    assert entry["free"] == 0 and entry["paused_since"] == paused["duty"]["paused_since"]

    # The open chat continues; a new visitor waits (nobody answers) and Aino gets the alert.
    assert (await first.send("still there?", "v1"))["ok"]
    await aino.wait_for("message:new")
    second = await duty.visitor()
    chat = (await second.start("fi"))["chat"]
    assert chat["state"] == "waiting" and chat["desk"]["policy"] == "unstaffed"
    assert (await aino.wait_for("duty:alert"))["chat_id"] == second.chat_id
    assert (await leo.wait_for("duty:alert"))["chat_id"] == second.chat_id

    resumed = await aino.call("duty:resume", {})
    assert resumed["ok"] and resumed["duty"]["paused_since"] is None
    got = await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == second.chat_id)
    assert got["state"] == "active"


async def test_after_a_lost_connection_the_member_is_checked_in_again_and_gets_the_chat_back(duty: Live) -> None:
    await duty.add_staff("aino", alias="Aino")
    staff = await duty.staff("aino")
    visitor = await duty.visitor()
    await visitor.start("fi")
    await staff.wait_for("chat:assigned")
    await staff.disconnect()

    duty.clock.move(timedelta(seconds=duty.settings.chat.staff_grace_seconds + 15))
    await duty.service.sweep()
    requeued = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "staff_disconnected")
    assert requeued["state"] == "waiting"

    back = await duty.staff("aino", check_in=False)
    state = await back.wait_for("duty:state", lambda d: d.get("reason") == "reconnected")
    assert state["available"] is True and state["on_shift"] is True
    again = await back.wait_for("chat:assigned")
    assert again["chat_id"] == visitor.chat_id
    assert (await visitor.wait_for("chat:state", lambda s: s["state"] == "active"))["staff_alias"] == "Aino"


async def test_a_requeued_chat_goes_back_to_its_member_before_older_waiting_chats(duty: Live) -> None:
    await duty.add_staff("aino", alias="Aino", max_chats=1)
    staff = await duty.staff("aino")
    mine = await duty.visitor()
    await mine.start("fi")
    await staff.wait_for("chat:assigned")
    other = await duty.visitor()
    assert (await other.start("fi"))["chat"]["state"] == "waiting"
    await staff.disconnect()
    duty.clock.move(timedelta(seconds=duty.settings.chat.staff_grace_seconds + 15))
    await duty.service.sweep()
    back = await duty.staff("aino", check_in=False)
    assert (await back.wait_for("chat:assigned"))["chat_id"] == mine.chat_id


async def test_a_member_who_checked_out_stays_out_after_reconnecting(duty: Live) -> None:
    await duty.add_staff("aino")
    staff = await duty.staff("aino")
    assert (await staff.call("duty:check_out", {}))["ok"]
    await staff.disconnect()
    duty.clock.move(timedelta(seconds=duty.settings.chat.staff_grace_seconds + 15))
    await duty.service.sweep()
    back = await duty.staff("aino", check_in=False)
    sync = await back.call("staff:sync", {})
    assert sync["duty"]["available"] is False
    await settle()
    assert not [d for d in back.received["duty:state"] if d.get("reason") == "reconnected"]
