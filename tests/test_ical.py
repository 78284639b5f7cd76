"""Calendar feeds: secret URLs, parsed back with icalendar and matched against the roster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar
from sqlalchemy import update

from chat_server.accounts import Role
from chat_server.db import Staff
from chat_server.keys import sessions_key, shifts_key, staff_key
from tests.support.http import Http
from tests.support.live import Live

# Tuesday 2030-01-08 10:00 in Helsinki.
ANCHOR = datetime(2030, 1, 8, 8, 0, tzinfo=UTC)


async def setup_roster(live: Live) -> dict[str, Any]:
    """A manager and two staff members with slot shifts and a few shifts outside any slot."""
    live.clock.set(ANCHOR)
    boss = await live.add_staff("bossman", alias="BossAlias", role=Role.MANAGER, shift=False)
    aino = await live.add_staff("aino", alias="AinoAlias", shift=False)
    leo = await live.add_staff("leo", alias="LeoAlias", shift=False)
    shifts: list[dict[str, Any]] = []
    async with Http(live) as manager:
        await manager.login("bossman")
        reply = await manager.call("POST", "/api/roster/slots",
                                   {"kind": "weekly", "weekday": 3, "start": "12:00", "end": "15:00", "needed": 2})
        weekly = reply.body["slot"]
        reply = await manager.call("POST", "/api/roster/slots",
                                   {"kind": "once", "date": "2030-01-11", "start": "22:00", "end": "02:00"})
        night = reply.body["slot"]
        for slot, day, who, note in (
            (weekly, "2030-01-10", aino, "bring the laptop"),
            (weekly, "2030-01-10", leo, ""),
            (weekly, "2030-01-17", aino, ""),
            (night, "2030-01-11", leo, ""),
        ):
            reply = await manager.call("POST", f"/api/roster/slots/{slot['id']}/dates/{day}/staff",
                                       {"staff_id": who.id, "note": note})
            assert reply.status == 201, reply.text
            shifts.append(reply.body["shift"])
    repo = live.app[shifts_key]
    # Outside any slot: ten days ago (in the feed), and 100 days ahead (beyond the 90-day window).
    past = await repo.add(aino.id, ANCHOR - timedelta(days=10), ANCHOR - timedelta(days=10) + timedelta(hours=2))
    far = await repo.add(aino.id, ANCHOR + timedelta(days=100), ANCHOR + timedelta(days=100, hours=2))
    return {"boss": boss, "aino": aino, "leo": leo, "shifts": shifts, "past": past, "far": far}


def events(body: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def fetch(live: Live, url: str) -> tuple[int, bytes, str]:
    async with Http(live) as anyone:  # no session: calendar apps cannot log in
        async with anyone.session.get(url) as response:
            return response.status, await response.read(), response.content_type


async def test_own_feed_has_only_the_owners_shifts(live: Live) -> None:
    roster = await setup_roster(live)
    aino, host = roster["aino"], live.url.split("://", 1)[1]
    async with Http(live) as me:
        await me.login("aino")
        reply = await me.call("POST", "/api/roster/calendar", {})
        assert reply.status == 201 and reply.body["scope"] == "own"
        url = reply.body["url"]
        assert url.startswith(f"{live.url}/ical/") and url.endswith(".ics")
    status, body, content_type = await fetch(live, url)
    assert status == 200 and content_type == "text/calendar"
    calendar = Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0"
    found = events(body)
    mine = [s for s in roster["shifts"] if s["staff_id"] == aino.id]
    expected = {f"shift-{s['shift_id']}@{host}": (utc(s["starts_at"]), utc(s["ends_at"])) for s in mine}
    past = roster["past"]
    expected[f"shift-{past.shift_id}@{host}"] = (
        past.starts_at.replace(microsecond=0), past.ends_at.replace(microsecond=0)
    )
    assert set(found) == set(expected)
    for uid, event in found.items():
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
        assert (start, end) == expected[uid], uid
        assert str(event["SUMMARY"]) == "Chat duty"
        assert "LeoAlias" not in body.decode() and "Real Name leo" not in body.decode()
    noted = found[f"shift-{mine[0]['shift_id']}@{host}"]
    assert str(noted["DESCRIPTION"]) == "bring the laptop"
    # The feed matches what the roster API says the member's shifts are.
    async with Http(live) as me:
        await me.login("aino")
        listed = (await me.get("/api/roster/mine?from=2030-01-07&to=2030-01-20")).body["shifts"]
    assert {f"shift-{s['shift_id']}@{host}" for s in listed} <= set(found)


async def test_all_feed_has_every_shift_with_names(live: Live) -> None:
    roster = await setup_roster(live)
    host = live.url.split("://", 1)[1]
    async with Http(live) as manager:
        await manager.login("bossman")
        reply = await manager.call("POST", "/api/roster/calendar", {"scope": "all"})
        assert reply.status == 201 and reply.body["scope"] == "all"
        url = reply.body["url"]
    status, body, _ = await fetch(live, url)
    assert status == 200
    found = events(body)
    everything = list(roster["shifts"]) + [
        {"shift_id": roster["past"].shift_id, "staff_id": roster["aino"].id,
         "starts_at": roster["past"].starts_at.isoformat(), "ends_at": roster["past"].ends_at.isoformat()}]
    assert set(found) == {f"shift-{s['shift_id']}@{host}" for s in everything}
    names = {roster["aino"].id: "Real Name aino", roster["leo"].id: "Real Name leo"}
    for shift in everything:
        event = found[f"shift-{shift['shift_id']}@{host}"]
        assert event.decoded("DTSTART") == utc(shift["starts_at"]).replace(microsecond=0)
        assert event.decoded("DTEND") == utc(shift["ends_at"]).replace(microsecond=0)
        assert str(event["SUMMARY"]) == f"Chat duty: {names[shift['staff_id']]}"
    # The night shift is given as UTC, across local midnight.
    night = next(s for s in roster["shifts"] if s["date"] == "2030-01-11")
    event = found[f"shift-{night['shift_id']}@{host}"]
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (
        datetime(2030, 1, 11, 20, 0, tzinfo=UTC), datetime(2030, 1, 12, 0, 0, tzinfo=UTC))


async def test_new_token_revokes_the_old_one_and_delete_revokes(live: Live) -> None:
    await setup_roster(live)
    async with Http(live) as me:
        await me.login("aino")
        first = (await me.call("POST", "/api/roster/calendar", {"scope": "own"})).body["url"]
        assert (await fetch(live, first))[0] == 200
        second = (await me.call("POST", "/api/roster/calendar", {})).body["url"]
        assert second != first
        assert (await fetch(live, first))[0] == 404
        assert (await fetch(live, second))[0] == 200
        gone = await me.call("DELETE", "/api/roster/calendar?scope=own")
        assert gone.status == 200 and gone.body == {"ok": True}
        assert (await fetch(live, second))[0] == 404
        # Revoking again is harmless.
        assert (await me.call("DELETE", "/api/roster/calendar")).status == 200

        refused = await me.call("POST", "/api/roster/calendar", {"scope": "all"})
        assert (refused.status, refused.code) == (403, "forbidden")
        for body in ({"scope": "mine"}, {"scope": "own", "colour": 1}):
            reply = await me.call("POST", "/api/roster/calendar", body)
            assert (reply.status, reply.code) == (400, "invalid_request"), body
        assert (await me.call("DELETE", "/api/roster/calendar?scope=mine")).code == "invalid_request"
    for path in ("/ical/unknown.ics", "/ical/" + "x" * 200 + ".ics"):
        async with Http(live) as anyone:
            reply = await anyone.get(path)
            assert (reply.status, reply.code) == (404, "not_found"), path


async def test_manager_feeds_are_separate_per_scope_and_stop_on_demotion(live: Live) -> None:
    roster = await setup_roster(live)
    async with Http(live) as manager:
        await manager.login("bossman")
        everyone = (await manager.call("POST", "/api/roster/calendar", {"scope": "all"})).body["url"]
        own = (await manager.call("POST", "/api/roster/calendar", {"scope": "own"})).body["url"]
        # Replacing the own feed leaves the full-roster feed alone.
        assert (await fetch(live, everyone))[0] == 200
        status, body, _ = await fetch(live, own)
        assert status == 200 and events(body) == {}
    async with live.app[sessions_key].begin() as session:
        await session.execute(update(Staff).where(Staff.id == roster["boss"].id).values(role=Role.STAFF.value))
    assert (await fetch(live, everyone))[0] == 404
    assert (await fetch(live, own))[0] == 200
    # A disabled account's feed stops too.
    await live.app[staff_key].set_disabled("bossman", True)
    assert (await fetch(live, own))[0] == 404
