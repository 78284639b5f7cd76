"""Language desks in the reports, live: chats driven end to end, then the figures and the CSV, exact.

Friday 4 December 2026, 18:10 in Helsinki (EET, UTC+2). Aino speaks Finnish and English and
is on duty from 17:10 (her shift runs to 22:10); nobody on duty speaks Thai.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.accounts import Role
from tests.support.http import Http
from tests.support.live import Live, settle

NOW = datetime(2026, 12, 4, 16, 10, tzinfo=UTC)
FRIDAY, EVENING = 4, 18


def desk_cell(figures: dict[str, Any], language: str, weekday: int, hour: int) -> dict[str, Any]:
    found = [c for c in figures["language_desks"][language] if (c["weekday"], c["hour"]) == (weekday, hour)]
    assert len(found) == 1
    return found[0]


async def drive_chats(live: Live) -> None:
    """Thai asked, answered in English after the offer; Thai asked, left while offered; Finnish answered."""
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
    aino = await live.staff("aino")

    switched = await live.visitor()
    offer = (await switched.start("th"))["chat"]
    assert offer["desk"]["policy"] == "offer" and offer["desk"]["alternatives"] == ["fi", "en"]
    assert (await switched.call("chat:language", {"language": "en"}))["chat"]["state"] == "active"
    await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == switched.chat_id)
    assert (await aino.call("chat:end", {"chat_id": switched.chat_id, "topics": ["other.other"]}))["ok"]

    left = await live.visitor()
    assert (await left.start("th"))["chat"]["desk"]["policy"] == "offer"
    assert (await left.call("chat:end", {}))["ok"]  # declined the offer: left for lack of Thai

    finn = await live.visitor()
    assert (await finn.start("fi"))["chat"]["state"] == "active"
    await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == finn.chat_id)
    assert (await aino.call("chat:end", {"chat_id": finn.chat_id, "topics": ["other.other"]}))["ok"]
    await settle(0.2)


async def test_sessions_by_asked_and_answered_language_switches_and_left(live: Live) -> None:
    live.clock.set(NOW)
    await drive_chats(live)
    rows = sorted(
        (r["requested_language"], r["language"], r["answered_language"], r["switched_language"],
         r["left_for_language"], r["outcome"])
        for r in await live.session_rows()
    )
    assert rows == [
        ("fi", "fi", "fi", False, False, "answered"),
        ("th", "en", "en", True, False, "answered"),
        ("th", "th", None, False, True, "abandoned"),
    ]
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    async with await Http(live).login("boss") as http:
        body = (await http.get("/api/reports?from=2026-12-01&to=2026-12-31")).body
        export = await http.get("/api/reports/export.csv?from=2026-12-01&to=2026-12-31&small_numbers=off")
        summary = (await http.get("/api/reports/summary-text?from=2026-12-01&to=2026-12-31&lang=en")).text
    # The paste-able summary hides small numbers (all of these are).
    assert ("Languages asked for: Finnish <5, Thai <5. Chats that changed language: <5. Visitors who left "
            "because their language was not available: <5.") in summary
    cur = body["period"]
    assert cur["by_language"] == {"en": 1, "fi": 1, "th": 1}  # the language each chat ended in
    assert cur["by_requested_language"] == {"fi": 1, "th": 2}
    assert cur["by_answered_language"] == {"en": 1, "fi": 1}
    assert cur["switched_language"] == {"sessions": 1, "by_pair": {"th>en": 1}}
    assert cur["left_for_language"] == {"sessions": 1, "by_language": {"th": 1}}
    # Every offered language has a desk, demand or not.
    assert set(cur["language_desks"]) == set(live.settings.chat.languages)
    assert all(len(cells) == 168 for cells in cur["language_desks"].values())
    # Thai demand on Friday evening, no Thai duty.
    assert desk_cell(cur, "th", FRIDAY, EVENING) == {
        "weekday": FRIDAY, "hour": EVENING, "sessions": 2, "answered": 1, "left_for_language": 1,
        "covered_hours": 0.0,
    }
    assert sum(c["covered_hours"] for c in cur["language_desks"]["th"]) == 0
    # Aino's duty so far (17:10–18:10): 50 minutes of the 17 o'clock hour, 10 of the 18 o'clock one.
    assert [desk_cell(cur, "fi", FRIDAY, h)["covered_hours"] for h in (16, 17, 18, 19)] == [0, 0.83, 0.17, 0]
    assert desk_cell(cur, "fi", FRIDAY, EVENING)["sessions"] == 1
    assert desk_cell(cur, "en", FRIDAY, EVENING) | {"covered_hours": 0} == {
        "weekday": FRIDAY, "hour": EVENING, "sessions": 0, "answered": 0, "left_for_language": 0, "covered_hours": 0,
    }

    assert export.status == 200
    table = [r[3:] for r in csv.reader(io.StringIO(export.text)) if r[0] == "current"]
    language_rows = [r for r in table if r[0] in (
        "by_requested_language", "by_answered_language", "switched_language", "left_for_language", "language_desks",
    )]
    assert language_rows == [
        ["by_requested_language", "fi", "sessions", "1"],
        ["by_requested_language", "th", "sessions", "2"],
        ["by_answered_language", "en", "sessions", "1"],
        ["by_answered_language", "fi", "sessions", "1"],
        ["switched_language", "", "sessions", "1"],
        ["switched_language", "th>en", "sessions", "1"],
        ["left_for_language", "", "sessions", "1"],
        ["left_for_language", "th", "sessions", "1"],
        ["language_desks", "en 4-17", "sessions", "0"],
        ["language_desks", "en 4-17", "answered", "0"],
        ["language_desks", "en 4-17", "left_for_language", "0"],
        ["language_desks", "en 4-17", "covered_hours", "0.83"],
        ["language_desks", "en 4-18", "sessions", "0"],
        ["language_desks", "en 4-18", "answered", "0"],
        ["language_desks", "en 4-18", "left_for_language", "0"],
        ["language_desks", "en 4-18", "covered_hours", "0.17"],
        ["language_desks", "fi 4-17", "sessions", "0"],
        ["language_desks", "fi 4-17", "answered", "0"],
        ["language_desks", "fi 4-17", "left_for_language", "0"],
        ["language_desks", "fi 4-17", "covered_hours", "0.83"],
        ["language_desks", "fi 4-18", "sessions", "1"],
        ["language_desks", "fi 4-18", "answered", "1"],
        ["language_desks", "fi 4-18", "left_for_language", "0"],
        ["language_desks", "fi 4-18", "covered_hours", "0.17"],
        ["language_desks", "th 4-18", "sessions", "2"],
        ["language_desks", "th 4-18", "answered", "1"],
        ["language_desks", "th 4-18", "left_for_language", "1"],
        ["language_desks", "th 4-18", "covered_hours", "0.0"],
    ]


async def test_a_visitor_waiting_for_a_busy_speaker_did_not_leave_for_lack_of_language(live: Live) -> None:
    live.clock.set(NOW)
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"), max_chats=1)
    await live.staff("aino")
    first, second = await live.visitor(), await live.visitor()
    await first.start("fi")
    assert (await second.start("fi"))["chat"]["state"] == "waiting"
    assert (await second.call("chat:end", {}))["ok"]
    await settle(0.2)
    rows = [r for r in await live.session_rows() if r["outcome"] == "abandoned"]
    assert [(r["requested_language"], r["left_for_language"]) for r in rows] == [("fi", False)]


async def test_the_openapi_document_describes_the_language_figures(live: Live) -> None:
    async with Http(live) as http:
        doc = (await http.get("/api/openapi.json")).body
    schemas = doc["components"]["schemas"]
    figures = schemas["Figures"]["properties"]
    for name in ("by_requested_language", "by_answered_language", "switched_language", "left_for_language",
                 "language_desks"):
        assert name in figures and name in schemas["Figures"]["required"]
    assert set(schemas["LanguageCell"]["properties"]) == {
        "weekday", "hour", "sessions", "answered", "left_for_language", "covered_hours",
    }
    week = schemas["RosterWeek"]["properties"]
    assert "languages" in week and "language_gaps" in week
    assert "languages_uncovered" in schemas["OccurrenceView"]["properties"]
    assert set(schemas["LanguageCoverageView"]["properties"]) == {"language", "hours", "periods", "gaps"}


async def test_a_visitor_gone_while_told_no_speaker_is_on_left_for_lack_of_language(live: Live) -> None:
    live.clock.set(NOW)
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
    await live.staff("aino")
    visitor = await live.visitor()
    assert (await visitor.start("th"))["chat"]["desk"]["policy"] == "offer"
    await visitor.disconnect()  # closed the tab while told nobody speaks Thai now
    await settle()
    live.clock.move(timedelta(seconds=live.settings.chat.visitor_grace_seconds + 1))
    await live.service.sweep()
    rows = await live.session_rows()
    assert [(r["outcome"], r["requested_language"], r["left_for_language"]) for r in rows] == [
        ("abandoned", "th", True)
    ]
