"""Duty held, for funders: a year of duty driven through the API with the movable clock.

Every Monday of 2026 one shift, 08:00–12:00 UTC (10:00/11:00 local in Helsinki).
Some are never checked in on; the others are checked in over the socket, some
with chats (one with a visitor who writes nothing), and are checked out by
hand or by the shift-end sweep. The report's planned, held and not-held counts,
the hours checked in, the no-conversation count and the summary text must match
exactly what was driven.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from chat_server.accounts import Role
from chat_server.keys import roster_key, shifts_key
from tests.support.http import Http
from tests.support.live import Live


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def at(live: Live, when: datetime) -> None:
    """Set the clock, drop the roster cache and apply every deadline."""
    live.clock.set(when)
    live.app[roster_key].invalidate()
    await live.service.sweep()


async def test_a_year_of_duty_held_and_not_held(live: Live) -> None:
    live.clock.set(utc(2026, 1, 1, 9))
    aino = await live.add_staff("aino", shift=False)
    mondays = [utc(2026, 1, 5, 8) + timedelta(weeks=w) for w in range(52)]
    assert mondays[-1] == utc(2026, 12, 28, 8)
    for start in mondays:
        await live.app[shifts_key].add(aino.id, start, start + timedelta(hours=4))
    live.app[roster_key].invalidate()

    held = minutes = empty_chats = talked_chats = 0
    for week, start in enumerate(mondays):
        if week % 4 == 3:
            continue  # nobody checks in: planned, not held
        await at(live, start + timedelta(minutes=10))
        staff = await live.staff("aino")  # signs in and checks in
        held += 1
        if week % 2 == 0:
            visitor = await live.visitor()
            await visitor.start("fi")
            await staff.wait_for("chat:assigned", lambda c, v=visitor: c["chat_id"] == v.chat_id)
            if week % 8 == 0:
                empty_chats += 1  # the visitor writes nothing: closed without a topic
                ack = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": []})
            else:
                talked_chats += 1
                await visitor.send("hei", "v1")
                ack = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.mental"]})
            assert ack == {"ok": True, "outcome": "answered"}, ack
            await visitor.disconnect()
            live.clients.remove(visitor)
        if week % 3 == 0:
            await at(live, start + timedelta(hours=3, minutes=10))
            assert (await staff.call("duty:check_out", {}))["ok"]
            minutes += 180
        else:
            # Still checked in when the shift ends: the sweep checks out, counted up to the end.
            await at(live, start + timedelta(hours=4, seconds=30))
            minutes += 230
        await staff.disconnect()
        live.clients.remove(staff)
    assert (held, empty_chats, talked_chats) == (39, 7, 19)

    await at(live, utc(2027, 1, 10, 9))
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    async with await Http(live).login("boss") as http:
        report = await http.get("/api/reports?from=2026-01-01&to=2026-12-31")
        csv_reply = await http.get("/api/reports/export.csv?from=2026-01-01&to=2026-12-31&small_numbers=off")
        en = await http.get("/api/reports/summary-text?from=2026-01-01&to=2026-12-31&lang=en")
        fi = await http.get("/api/reports/summary-text?from=2026-01-01&to=2026-12-31&lang=fi")
    assert report.status == 200, report.text
    year = report.body["period"]
    assert year["shifts"] == {
        "planned": 52, "held": 39, "not_held": 13, "duty_hours": 208.0,
        "checked_in_hours": round(minutes / 60, 2), "answered_per_shift": 0.7,
    }
    assert year["by_outcome"]["answered"] == 26
    assert year["no_conversation"] == 7
    assert year["by_topic"] == {"health.mental": 19}  # empty chats inflate no topic ("Other" included)

    rows = {(r[3], r[4], r[5]): r[6] for r in csv.reader(io.StringIO(csv_reply.text)) if r[0] == "current"}
    assert rows[("no_conversation", "", "sessions")] == "7"
    assert [rows[("shifts", "", m)] for m in ("planned", "held", "not_held")] == ["52", "39", "13"]

    hours = f"{minutes / 60:.1f}"
    assert ("Chat duty held 39 times (" + hours + " hours checked in); "
            "13 of 52 planned duty shifts were not held.") in en.text.splitlines()
    assert "Answered chats with no conversation (the visitor wrote nothing): 7." in en.text.splitlines()
    assert ("Chat-päivystyksiä pidettiin 39 kertaa (" + hours.replace(".", ",") + " tuntia kirjautuneena "
            "päivystykseen); suunnitelluista 52 päivystyksestä 13 jäi pitämättä.") in fi.text.splitlines()
