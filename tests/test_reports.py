"""Manager reports: every figure exact on SQLite and PostgreSQL, in the organisation's time zone.

Sessions are written through the real SessionRepository (which keeps the
roll-ups), shifts through the real ShiftRepository; figures are read over
HTTP as a manager would. Europe/Helsinki: EET (UTC+2), EEST (UTC+3) from
2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chat_server.accounts import Role
from chat_server.chat.models import Outcome, SessionRecord
from chat_server.keys import engine_key, records_key, sessions_key, shifts_key
from chat_server.reports.models import (
    FeedbackCountRow,
    ReportCountRow,
    ReportHourRow,
    ReportLanguageSlotRow,
    ReportSlotRow,
    ReportValueRow,
)
from chat_server.reports.repository import rebuild_rollups
from chat_server.web.reports import previous_period
from roster.schedule import Shift
from tests.support.http import Http
from tests.support.live import Live

OUTCOMES = ("answered", "abandoned", "unanswered", "closed", "blocked")
A, AB, UN, CL, BL = (Outcome.ANSWERED, Outcome.ABANDONED, Outcome.UNANSWERED, Outcome.CLOSED, Outcome.BLOCKED)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (UTC start, outcome, language, wait, duration, topics); the comment is the local time.
SESSIONS: list[tuple[datetime, Outcome, str, int, int, tuple[str, ...]]] = [
    (utc(2026, 3, 29, 0, 30), A, "fi", 20, 400, ("health.mental",)),  # Sun 02:30 EET, the night clocks go forward
    (utc(2026, 3, 29, 1, 0), CL, "fi", 0, 0, ()),  # Sun 04:00 EEST: 03:xx never happened
    (utc(2026, 10, 25, 0, 30), A, "en", 40, 500, ("life.housing",)),  # Sun 03:30 EEST
    (utc(2026, 10, 25, 1, 30), AB, "en", 70, 0, ()),  # Sun 03:30 EET, the same wall clock an hour later
    (utc(2026, 10, 31, 21, 30), A, "fi", 30, 600, ("health.sti_testing",)),  # Sat 31 Oct 23:30: October
    (utc(2026, 10, 31, 22, 0), CL, "en", 0, 0, ()),  # Sun 1 Nov 00:00: November
    (utc(2026, 11, 15, 10, 0), A, "fi", 90, 1200, ("health.sti_testing", "safety.violence")),  # Sun 12:00
    (utc(2026, 11, 15, 10, 15), A, "sv", 10, 300, ("health.sti_testing",)),  # Sun 12:15
    (utc(2026, 11, 16, 8, 0), BL, "fi", 5, 0, ()),  # Mon 10:00
    (utc(2026, 11, 30, 21, 45), AB, "en", 200, 0, ()),  # Mon 30 Nov 23:45: November
    (utc(2026, 11, 30, 22, 0), UN, "fi", 300, 0, ()),  # Tue 1 Dec 00:00: December
]


async def write_sessions(live: Live) -> None:
    records = live.app[records_key]
    for i, (when, outcome, language, wait, duration, topics) in enumerate(SESSIONS):
        record = SessionRecord(f"{i:032x}", when, wait, duration, outcome, language, 2, 2, None, topics)
        assert await records.write(record)
    # A second write of a row changes no figure.
    when, outcome, language, wait, duration, topics = SESSIONS[6]
    again = SessionRecord(f"{6:032x}", when, wait, duration, outcome, language, 2, 2, None, topics)
    assert not await records.write(again)


async def add_shifts(live: Live) -> None:
    aino = await live.add_staff("aino", shift=False)
    mia = await live.add_staff("mia", shift=False)
    shifts = live.app[shifts_key]

    async def checked_in(shift: Shift, start: datetime, end: datetime) -> None:
        await shifts.record_check_in(shift, start)
        await shifts.record_check_out(shift.staff_id, end)

    # Sunday 15 Nov 11:00–15:00 and 14:00–16:00 local: 5 duty hours, 2 shifts, only Aino's held (4 hours).
    await checked_in(await live.add_shift(aino.id, utc(2026, 11, 15, 9), utc(2026, 11, 15, 13)),
                     utc(2026, 11, 15, 9), utc(2026, 11, 15, 13))
    await live.add_shift(mia.id, utc(2026, 11, 15, 12), utc(2026, 11, 15, 14))
    # 30 Sep 20:00 UTC – 1 Oct 01:00 UTC crosses local midnight (Wed 23:00 – Thu 04:00 EEST); held 4.5 hours.
    await checked_in(await live.add_shift(aino.id, utc(2026, 9, 30, 20), utc(2026, 10, 1, 1)),
                     utc(2026, 9, 30, 20, 30), utc(2026, 10, 1, 2))
    # 30 Nov 21:00 UTC – 23:00 UTC: starts in November (23:00 local), runs into December; held 2 hours.
    await checked_in(await live.add_shift(mia.id, utc(2026, 11, 30, 21), utc(2026, 11, 30, 23)),
                     utc(2026, 11, 30, 20, 50), utc(2026, 11, 30, 23, 30))


async def manager(live: Live) -> Http:
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    return await Http(live).login("boss")


def cell(figures: dict[str, Any], weekday: int, hour: int) -> dict[str, Any]:
    found = [c for c in figures["by_weekday_hour"] if (c["weekday"], c["hour"]) == (weekday, hour)]
    assert len(found) == 1
    return found[0]


def counts(**given: int) -> dict[str, int]:
    row = dict.fromkeys(OUTCOMES, 0) | given
    return {"sessions": sum(row.values()), **row}


async def test_november_figures_exact(live: Live) -> None:
    live.clock.set(utc(2026, 12, 15, 12))
    await write_sessions(live)
    await add_shifts(live)
    async with await manager(live) as http:
        reply = await http.get("/api/reports?from=2026-11-01&to=2026-11-30")
    assert reply.status == 200, reply.text
    body = reply.body
    assert (body["from"], body["to"], body["timezone"], body["small_numbers"], body["threshold"]) == (
        "2026-11-01", "2026-11-30", "Europe/Helsinki", False, 5
    )
    assert body["previous"] is None
    nov = body["period"]
    assert nov["sessions"] == 5
    assert nov["by_outcome"] == {"answered": 2, "abandoned": 1, "unanswered": 0, "closed": 1, "blocked": 1}
    assert nov["by_language"] == {"en": 2, "fi": 2, "sv": 1}
    assert nov["by_topic"] == {"health.sti_testing": 2, "safety.violence": 1}
    assert len(nov["by_day"]) == 30
    days = {d["date"]: d for d in nov["by_day"]}
    assert days["2026-11-01"] == {"date": "2026-11-01", **counts(closed=1)}
    assert days["2026-11-15"] == {"date": "2026-11-15", **counts(answered=2)}
    assert days["2026-11-16"] == {"date": "2026-11-16", **counts(blocked=1)}
    assert days["2026-11-30"] == {"date": "2026-11-30", **counts(abandoned=1)}
    assert sum(d["sessions"] for d in nov["by_day"]) == 5
    assert [(w["week"], w["start"], w["end"], w["sessions"]) for w in nov["by_week"]] == [
        ("2026-W44", "2026-11-01", "2026-11-01", 1),
        ("2026-W45", "2026-11-02", "2026-11-08", 0),
        ("2026-W46", "2026-11-09", "2026-11-15", 2),
        ("2026-W47", "2026-11-16", "2026-11-22", 1),
        ("2026-W48", "2026-11-23", "2026-11-29", 0),
        ("2026-W49", "2026-11-30", "2026-11-30", 1),
    ]
    assert nov["by_month"] == [{"month": "2026-11", "start": "2026-11-01", "end": "2026-11-30",
                                **counts(answered=2, abandoned=1, closed=1, blocked=1)}]
    assert [(y["year"], y["sessions"]) for y in nov["by_year"]] == [("2026", 5)]
    # Heat map: weekday 0 = Monday; demand against the duty hours that covered it.
    assert cell(nov, 6, 12) == {"weekday": 6, "hour": 12, "sessions": 2, "answered": 2, "closed": 0,
                                "covered_hours": 1.0, "hours": 5.0}
    assert cell(nov, 6, 0)["sessions"] == 1 and cell(nov, 6, 0)["closed"] == 1
    assert cell(nov, 0, 23)["sessions"] == 1 and cell(nov, 0, 10)["sessions"] == 1
    assert [cell(nov, 6, h)["covered_hours"] for h in range(10, 17)] == [0, 1.0, 1.0, 1.0, 1.0, 1.0, 0]
    # The shift starting 23:00 on Mon 30 Nov covers that hour (its December hour is outside the range).
    assert cell(nov, 0, 23)["covered_hours"] == 1.0 and cell(nov, 0, 22)["covered_hours"] == 0
    # November 2026 has five Sundays and Mondays, four of every other weekday.
    assert [cell(nov, w, 9)["hours"] for w in range(7)] == [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 5.0]
    assert sum(c["sessions"] for c in nov["by_weekday_hour"]) == 5
    assert nov["wait_seconds"] == {"answered": 2, "median": 50.0, "p90": 90}
    assert nov["duration_seconds"] == {"answered": 2, "median": 750.0}
    assert nov["shifts"] == {"planned": 3, "held": 2, "not_held": 1, "duty_hours": 6.0, "checked_in_hours": 6.17,
                             "answered_per_shift": 1.0}
    assert nov["closed_share"] == round(1 / 5, 4)
    assert nov["ratings"] == {"count": 0, "by_rating": {str(r): 0 for r in range(1, 6)}, "mean": None}


async def test_year_dst_and_previous_period(live: Live) -> None:
    live.clock.set(utc(2027, 1, 10))
    await write_sessions(live)
    await add_shifts(live)
    async with await manager(live) as http:
        year = (await http.get("/api/reports?from=2026-01-01&to=2026-12-31&compare=previous")).body
        october = (await http.get("/api/reports?from=2026-10-01&to=2026-10-31")).body["period"]
        march = (await http.get("/api/reports?from=2026-03-29&to=2026-03-29")).body["period"]
        week = (await http.get("/api/reports?from=2026-11-16&to=2026-11-22&compare=previous")).body
    current = year["period"]
    assert current["sessions"] == len(SESSIONS)
    assert current["by_outcome"] == {"answered": 5, "abandoned": 2, "unanswered": 1, "closed": 2, "blocked": 1}
    assert current["by_language"] == {"en": 4, "fi": 6, "sv": 1}
    assert current["by_topic"] == {"health.mental": 1, "health.sti_testing": 3, "life.housing": 1,
                                   "safety.violence": 1}
    months = {m["month"]: m["sessions"] for m in current["by_month"]}
    per_month = [0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 5, 1]
    assert months == {f"2026-{m:02d}": n for m, n in zip(range(1, 13), per_month, strict=True)}
    assert current["wait_seconds"] == {"answered": 5, "median": 30.0, "p90": 90}
    # Lengths count to the nearest minute: 400 s is 7 min, 500 s is 8 min; the middle of five is 8 min.
    assert current["duration_seconds"] == {"answered": 5, "median": 480.0}
    assert current["shifts"] == {"planned": 4, "held": 3, "not_held": 1, "duty_hours": 12.0,
                                 "checked_in_hours": 10.67, "answered_per_shift": 1.7}
    assert year["previous"]["from"] == "2025-01-01" and year["previous"]["to"] == "2025-12-31"
    assert year["previous"]["sessions"] == 0
    # October: 23:30 on its last day is October's; both 03:30s of 25 Oct are in the 03 hour of a Sunday.
    assert october["sessions"] == 3
    assert october["by_day"][-1] == {"date": "2026-10-31", **counts(answered=1)}
    assert cell(october, 6, 3)["sessions"] == 2
    # 25 Oct had 25 hours, so October's Sunday 03 hour happened five times over four Sundays.
    assert cell(october, 6, 3)["hours"] == 5.0 and cell(october, 6, 2)["hours"] == 4.0
    # The shift from 23:00 on Wed 30 Sep to 04:00 on Thu 1 Oct counts in October for its October hours only,
    # and is held in September, the month it started.
    assert cell(october, 2, 23)["covered_hours"] == 0
    assert october["shifts"] == {"planned": 0, "held": 0, "not_held": 0, "duty_hours": 4.0, "checked_in_hours": 0,
                                 "answered_per_shift": None}
    assert [cell(october, 3, h)["covered_hours"] for h in range(5)] == [1.0, 1.0, 1.0, 1.0, 0]
    # 29 Mar: 02:30 EET, then 04:00 EEST; the day has 23 hours and no 03 hour.
    assert march["sessions"] == 2
    assert cell(march, 6, 2)["sessions"] == 1 and cell(march, 6, 4)["closed"] == 1
    assert cell(march, 6, 3)["hours"] == 0 and sum(c["hours"] for c in march["by_weekday_hour"]) == 23.0
    # A week compares with the week before.
    assert (week["previous"]["from"], week["previous"]["to"]) == ("2026-11-09", "2026-11-15")
    assert week["period"]["sessions"] == 1 and week["previous"]["sessions"] == 2


def test_previous_period_rule() -> None:
    assert previous_period(date(2026, 11, 1), date(2026, 11, 30)) == (date(2026, 10, 1), date(2026, 10, 31))
    assert previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_period(date(2026, 1, 1), date(2026, 12, 31)) == (date(2025, 1, 1), date(2025, 12, 31))
    assert previous_period(date(2026, 1, 1), date(2026, 3, 31)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert previous_period(date(2026, 11, 10), date(2026, 11, 19)) == (date(2026, 10, 31), date(2026, 11, 9))


async def test_rollups_equal_a_rebuild_from_the_rows(live: Live) -> None:
    await write_sessions(live)
    records = live.app[records_key]
    # Language desks: asked for in Thai, answered in English; left for lack of Thai.
    assert await records.write(SessionRecord("e" * 32, utc(2026, 11, 20, 16), 30, 600, A, "en", 2, 2, None, (),
                                             requested_language="th"))
    assert await records.write(SessionRecord("f" * 32, utc(2026, 11, 20, 16, 15), 90, 0, AB, "th", 0, 0, None, (),
                                             left_for_language=True))

    async def snapshot() -> list[list[tuple[Any, ...]]]:
        async with live.app[sessions_key]() as session:
            out = []
            for table in (ReportSlotRow, ReportHourRow, ReportCountRow, ReportValueRow, ReportLanguageSlotRow):
                rows = (await session.execute(select(table.__table__).order_by(*table.__table__.primary_key))).all()
                out.append([tuple(r) for r in rows])
            return out

    kept = await snapshot()
    assert all(kept)
    async with live.app[engine_key].begin() as conn:
        await conn.run_sync(rebuild_rollups)
    assert await snapshot() == kept


async def test_small_numbers_in_json_and_csv(live: Live) -> None:
    live.clock.set(utc(2026, 12, 15, 12))
    records = live.app[records_key]
    # 7 answered Finnish chats on 15 Nov, 2 Swedish ones; 1 closed.
    for i in range(10):
        outcome, language = (A, "fi") if i < 7 else (A, "sv") if i < 9 else (CL, "fi")
        topics = ("health.mental",) if i < 6 else ("life.housing",)
        await records.write(SessionRecord(f"{i:032x}", utc(2026, 11, 15, 10), 10 * i, 60, outcome, language, 1, 1,
                                          None, topics if outcome is A else ()))
    async with await manager(live) as http:
        raw = (await http.get("/api/reports?from=2026-11-01&to=2026-11-30")).body
        hidden = (await http.get("/api/reports?from=2026-11-01&to=2026-11-30&small_numbers=on")).body
        export = await http.get("/api/reports/export.csv?from=2026-11-01&to=2026-11-30")
        export_raw = await http.get("/api/reports/export.csv?from=2026-11-01&to=2026-11-30&small_numbers=off")
    assert raw["period"]["by_language"] == {"fi": 8, "sv": 2}
    assert raw["period"]["by_topic"] == {"health.mental": 6, "life.housing": 3}
    cur = hidden["period"]
    assert hidden["small_numbers"] is True
    assert cur["sessions"] == 10
    assert cur["by_outcome"] == {"answered": 9, "abandoned": 0, "unanswered": 0, "closed": "<5", "blocked": 0}
    assert cur["by_language"] == {"fi": 8, "sv": "<5"}
    assert cur["by_topic"] == {"health.mental": 6, "life.housing": "<5"}
    assert cur["closed_share"] is None  # it would give the hidden count away
    assert cell(cur, 6, 12) | {"covered_hours": 0} == {"weekday": 6, "hour": 12, "sessions": 10, "answered": 9,
                                                       "closed": "<5", "covered_hours": 0, "hours": 5.0}
    assert {d["date"]: d["closed"] for d in cur["by_day"]}["2026-11-15"] == "<5"

    assert export.status == 200 and export.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["period", "from", "to", "figure", "item", "measure", "value"]
    table = {(r[3], r[4], r[5]): r[6] for r in rows[1:] if r[0] == "current"}
    assert table[("total", "", "sessions")] == "10"
    assert table[("by_language", "sv", "sessions")] == "<5"
    assert table[("by_language", "fi", "sessions")] == "8"
    assert table[("by_topic", "life.housing", "sessions")] == "<5"
    assert table[("by_outcome", "closed", "sessions")] == "<5"
    assert table[("by_day", "2026-11-15", "closed")] == "<5"
    assert table[("closed_share", "", "share")] == ""
    assert table[("wait_seconds", "", "median")] == "40.0"
    assert not any(v.isdigit() and 0 < int(v) < 5 for k, v in table.items() if k[2] in ("sessions", *OUTCOMES))
    raw_table = {(r[3], r[4], r[5]): r[6] for r in csv.reader(io.StringIO(export_raw.text)) if r[0] == "current"}
    assert raw_table[("by_language", "sv", "sessions")] == "2"


async def test_summary_text_in_finnish_and_english(live: Live) -> None:
    live.clock.set(utc(2026, 12, 15, 12))
    await write_sessions(live)
    await add_shifts(live)
    async with await manager(live) as http:
        fi = await http.get("/api/reports/summary-text?from=2026-11-01&to=2026-11-30&lang=fi&compare=previous")
        en = await http.get("/api/reports/summary-text?from=2026-11-01&to=2026-11-30&lang=en")
        bad = await http.get("/api/reports/summary-text?from=2026-11-01&to=2026-11-30&lang=de")
    assert fi.status == 200 and fi.content_type == "text/plain"
    assert fi.text.startswith("Chat-raportti 1.11.2026–30.11.2026 (Europe/Helsinki)")
    assert ("Chat-päivystyksiä pidettiin 2 kertaa (6,2 tuntia kirjautuneena päivystykseen); "
            "suunnitelluista 3 päivystyksestä 1 jäi pitämättä.") in fi.text
    assert "Chat-keskusteluja: 5." in fi.text and "Vastattuja <5" in fi.text
    assert "Edellinen jakso 1.10.2026–31.10.2026: <5 chat-keskustelua" in fi.text
    assert "Alle 5 lukumäärät näytetään muodossa \"<5\"" in fi.text
    assert "Chat report 1 Nov 2026 – 30 Nov 2026" in en.text
    assert ("Chat duty held 2 times (6.2 hours checked in); 1 of 3 planned duty shifts were not held."
            in en.text)
    assert "Topics: " in en.text and "Previous period" not in en.text
    assert bad.status == 400 and bad.code == "invalid_request"


async def test_every_report_endpoint_and_page_is_for_managers_only(live: Live) -> None:
    await live.add_staff("aino")
    await live.add_staff("root", role=Role.ADMIN, shift=False)
    query = "?from=2026-11-01&to=2026-11-30"
    paths = ["/api/reports" + query, "/api/reports/export.csv" + query, "/api/reports/summary-text" + query,
             "/api/reports/summary" + query]
    async with Http(live) as anonymous:
        for path in paths:
            reply = await anonymous.get(path)
            assert (reply.status, reply.code) == (401, "unauthenticated"), path
        page = await anonymous.get("/reports/")
        assert page.status == 401 and "<title>" in page.text
    async with await Http(live).login("aino") as staff:
        for path in paths:
            reply = await staff.get(path)
            assert (reply.status, reply.code) == (403, "forbidden"), path
        page = await staff.get("/reports/")
        assert page.status == 403 and 'id="forbidden"' in page.text
        assert "Content-Security-Policy" in (await staff.session.get(live.url + "/reports/")).headers
    async with await Http(live).login("root") as admin:
        for path in paths:
            assert (await admin.get(path)).status == 200, path
        assert (await admin.get("/reports/")).status == 200
        for bad in ("?from=2026-11-01", "?from=2026-12-01&to=2026-11-01", "?from=2016-01-01&to=2026-12-31",
                    query + "&compare=last", query + "&small_numbers=yes", query + "&extra=1"):
            reply = await admin.get("/api/reports" + bad)
            assert (reply.status, reply.code) == (400, "invalid_request"), bad


async def test_feedback_ticket_single_use_and_counted_unlinked(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.mental"]})
    ended = await visitor.wait_for("chat:ended")
    ticket = ended["feedback_ticket"]
    assert ended["reason"] == "staff_ended" and isinstance(ticket, str) and len(ticket) >= 32
    # A visitor who left while still waiting gets no ticket.
    queued = await live.visitor()
    await staff.call("duty:check_out", {})
    await queued.start()
    assert (await queued.call("chat:end", {}))["ok"]
    assert (await queued.wait_for("chat:ended"))["feedback_ticket"] is None

    async def stored() -> list[tuple[Any, ...]]:
        async with live.app[sessions_key]() as session:
            return [tuple(r) for r in (await session.execute(select(FeedbackCountRow.__table__))).all()]

    async with Http(live) as http:
        for bad in ({"ticket": ticket, "rating": 6}, {"ticket": ticket, "rating": 0}, {"ticket": ticket, "rating": "5"},
                    {"ticket": ticket, "rating": True}, {"ticket": ticket}, {"ticket": ticket, "rating": 4, "chat": 1},
                    {"ticket": "", "rating": 3}, [ticket, 4]):
            reply = await http.call("POST", "/api/feedback", bad)
            assert (reply.status, reply.code) == (400, "invalid_request"), bad
        assert await stored() == []
        unknown = await http.call("POST", "/api/feedback", {"ticket": "no-such-ticket", "rating": 4})
        assert (unknown.status, unknown.code) == (404, "unknown_ticket")
        # The ticket survived the bad attempts; it counts once.
        first = await http.call("POST", "/api/feedback", {"ticket": ticket, "rating": 4})
        assert first.status == 204 and first.text == ""
        again = await http.call("POST", "/api/feedback", {"ticket": ticket, "rating": 5})
        assert (again.status, again.code) == (404, "unknown_ticket")
        foreign = await http.call("POST", "/api/feedback", {"ticket": ticket, "rating": 4},
                                  headers={"Origin": "https://evil.example"})
        assert (foreign.status, foreign.code) == (403, "origin_not_allowed")
    today = live.clock.now().astimezone(live.settings.organisation.zone).date()
    # Only a count per local day and rating: nothing that points at the chat.
    assert await stored() == [(today, 4, 1)]
    async with await manager(live) as http:
        body = (await http.get(f"/api/reports?from={today}&to={today}")).body
    assert body["period"]["ratings"] == {"count": 1, "by_rating": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
                                         "mean": 4.0}


async def test_ratings_expire(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    ack = await visitor.call("chat:end", {})
    ticket = (await visitor.wait_for("chat:ended"))["feedback_ticket"]
    # The ack carries the same ticket as chat:ended.
    assert ack == {"ok": True, "feedback_ticket": ticket} and ticket
    await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.mental"]})
    live.clock.move(timedelta(seconds=live.settings.reports.feedback_ticket_seconds + 1))
    async with Http(live) as http:
        reply = await http.call("POST", "/api/feedback", {"ticket": ticket, "rating": 3})
    assert (reply.status, reply.code) == (404, "unknown_ticket")


async def test_half_hour_zone_reads_the_minute_slots(live: Live) -> None:
    """A zone at UTC+5:30 cannot use the hourly roll-up; the minute slots give its local hours exactly."""
    from chat_server.keys import reports_key

    await write_sessions(live)
    figures = await live.app[reports_key].figures(
        date(2026, 11, 1), date(2026, 11, 30), ZoneInfo("Asia/Kolkata"), utc(2026, 12, 15)
    )
    # 31 Oct 21:30 and 22:00 UTC are 1 Nov 03:00 and 03:30 in Kolkata; 30 Nov 21:45 UTC is already 1 Dec.
    assert figures["sessions"] == 5
    assert figures["by_outcome"] == {"answered": 3, "abandoned": 0, "unanswered": 0, "closed": 1, "blocked": 1}
    assert figures["by_day"][0] == {"date": "2026-11-01", **counts(answered=1, closed=1)}
    assert cell(figures, 6, 3)["sessions"] == 2 and cell(figures, 6, 15)["sessions"] == 2
    assert cell(figures, 0, 13)["sessions"] == 1
    assert sum(c["hours"] for c in figures["by_weekday_hour"]) == 30 * 24


async def _migration_backfills_existing_sessions(url: str) -> None:
    from sqlalchemy import column, insert, table

    from chat_server.db import SessionTopic, Topic, create_engine, migrate, sessionmaker
    from chat_server.reports.repository import ReportRepository

    engine = create_engine(url)
    try:
        await migrate(engine, "0003")
        async with engine.begin() as conn:
            await conn.execute(insert(Topic), [{"code": c, "group_code": c.split(".")[0], "retired": False}
                                              for c in ("health.mental", "health.sti_testing", "life.housing",
                                                        "safety.violence")])
            # The table as it was at 0003 (the model has columns added since).
            old_sessions = table("chat_sessions", *(column(c) for c in (
                "id", "started_at", "wait_seconds", "duration_seconds", "outcome", "language", "visitor_messages",
                "staff_messages", "shift_id",
            )))
            for i, (when, outcome, language, wait, duration, topics) in enumerate(SESSIONS):
                await conn.execute(insert(old_sessions).values(
                    id=f"{i:032x}", started_at=when.replace(tzinfo=None), wait_seconds=wait,
                    duration_seconds=duration, outcome=outcome.value, language=language, visitor_messages=1,
                    staff_messages=1, shift_id=None,
                ))
                for topic in topics:
                    await conn.execute(insert(SessionTopic).values(session_id=f"{i:032x}", topic_code=topic))
        await migrate(engine)  # 0004 fills the roll-ups from the rows already there, 0007 the language ones
        figures = await ReportRepository(sessionmaker(engine)).figures(
            date(2026, 1, 1), date(2026, 12, 31), ZoneInfo("Europe/Helsinki"), utc(2027, 1, 10)
        )
    finally:
        await engine.dispose()
    assert figures["sessions"] == len(SESSIONS)
    assert figures["by_topic"] == {"health.mental": 1, "health.sti_testing": 3, "life.housing": 1,
                                   "safety.violence": 1}
    assert figures["wait_seconds"] == {"answered": 5, "median": 30.0, "p90": 90}
    # Rows from before language desks: asked for and answered in their one language, never switched.
    assert figures["by_requested_language"] == figures["by_language"] == {"en": 4, "fi": 6, "sv": 1}
    assert figures["by_answered_language"] == {"en": 1, "fi": 3, "sv": 1}
    assert figures["switched_language"] == {"sessions": 0, "by_pair": {}}
    assert figures["left_for_language"] == {"sessions": 0, "by_language": {}}
    assert sum(c["sessions"] for c in figures["language_desks"]["fi"]) == 6


async def test_migration_backfills_existing_sessions_on_sqlite(tmp_path: Any) -> None:
    await _migration_backfills_existing_sessions(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")


async def test_migration_backfills_existing_sessions_on_postgresql(pg_url: str) -> None:
    await _migration_backfills_existing_sessions(pg_url)


async def test_an_upgrade_to_head_rebuilds_the_roll_ups_once_on_the_final_schema(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat_server.db import create_engine, migrate
    from chat_server.reports import repository

    calls: list[bool] = []
    real = repository.rebuild_rollups

    def counted(conn: Any, *, languages: bool = True) -> Any:
        calls.append(languages)
        return real(conn, languages=languages)

    monkeypatch.setattr(repository, "rebuild_rollups", counted)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    try:
        await migrate(engine, "0003")
        await migrate(engine)  # 0004, 0007 and 0011 each change what the roll-ups count
        assert calls == [True]
    finally:
        await engine.dispose()
    # Stopping short of head, each migration rebuilds on its own schema (0004's has no language columns).
    calls.clear()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    try:
        await migrate(engine, "0003")
        await migrate(engine, "0007")
        assert calls == [False, True]
        await migrate(engine)
        assert calls == [False, True, True]
    finally:
        await engine.dispose()
