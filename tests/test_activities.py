"""Outreach activities over the HTTP API: every role, corrections with history, retries, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chat_server.accounts import Role
from chat_server.activities.catalogue import CatalogueError, load_catalogue
from chat_server.settings import ACTIVITIES_FILE, LOCALITIES_FILE, load_settings
from tests.support.http import Http
from tests.support.live import Live, start_live, stop_live

FIELD = {"date": "2026-03-02", "type": "field_outreach", "counts": {"times": 2, "contacts": 9}, "locality": "oulu"}


def test_catalogue_has_every_label_and_the_field_reports_types() -> None:
    languages = load_settings(use_env=False).chat.languages
    catalogue = load_catalogue(ACTIVITIES_FILE, LOCALITIES_FILE, languages)
    assert [t.code for t in catalogue.types] == [
        "field_outreach", "health_outreach", "individual_support", "online_outreach", "network_meeting",
        "remote_training",
    ]
    for t in catalogue.types:
        assert set(languages) <= set(t.labels) and {"fi", "en"} <= set(t.summary)
    assert catalogue.type("online_outreach").counts == ("times", "messages_sent")  # type: ignore[union-attr]
    assert len([p for p in catalogue.localities if p.kind == "region"]) == 19


LABEL = 'label = { fi = "a", sv = "a", en = "a", ru = "a", th = "a", es = "a", et = "a" }'
MEASURES = f'''
[[measure]]
code = "times"
{LABEL}
[[measure]]
code = "contacts"
people = true
{LABEL}
'''


@pytest.mark.parametrize("types, message", [
    (f'[[type]]\ncode = "a"\ncounts = ["times"]\n{LABEL}\n[[type]]\ncode = "a"\ncounts = ["times"]\n{LABEL}',
     "appears twice"),
    ('[[type]]\ncode = "a"\ncounts = ["times"]\nlabel = { fi = "a", en = "a" }', "lacks labels"),
    (f'[[type]]\ncode = "a"\ncounts = ["times"]\nsummary.en = "{{people}}"\n{LABEL}', "names ['people']"),
    (f'[[type]]\ncode = "a"\ncounts = ["times"]\nsummary.en = "{{localities}}"\n{LABEL}', "names ['localities']"),
    (f'[[type]]\ncode = "a"\ncounts = ["contacts"]\n{LABEL}', "must list 'times'"),
    (f'[[type]]\ncode = "a"\ncounts = ["times", "hugs"]\n{LABEL}', "unknown measures"),
    (f'[[type]]\ncode = "a"\ncounts = ["times"]\nlocality = "maybe"\n{LABEL}', "locality must be one of"),
    (f'[[type]]\ncode = "A b"\ncounts = ["times"]\n{LABEL}', "not a lower-case identifier"),
    ("", "no activity types"),
])
def test_catalogue_refuses_what_would_break_reports(tmp_path: Path, types: str, message: str) -> None:
    languages = load_settings(use_env=False).chat.languages
    path = tmp_path / "activities.toml"
    path.write_text(MEASURES + types + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(message)):
        load_catalogue(path, LOCALITIES_FILE, languages)


async def _people(live: Live) -> None:
    live.clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))
    await live.add_staff("aino", shift=False)
    await live.add_staff("taina", shift=False)
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    await live.add_staff("ada", role=Role.ADMIN, shift=False)


async def test_staff_record_managers_correct_and_delete_with_history(live: Live) -> None:
    await _people(live)
    async with Http(live) as aino, Http(live) as taina, Http(live) as mona, Http(live) as ada:
        for http, name in ((aino, "aino"), (taina, "taina"), (mona, "mona"), (ada, "ada")):
            await http.login(name)
        types = await aino.get("/api/activities/types?lang=fi")
        assert types.status == 200
        assert types.body["notes"] is False
        field = next(t for t in types.body["types"] if t["code"] == "field_outreach")
        assert field == {"code": "field_outreach", "label": "Jalkautuva kenttätyö", "counts": ["times", "contacts"],
                         "locality": "required", "visit": True}
        assert {"code": "turku", "kind": "municipality", "name": "Turku"} in types.body["localities"]
        sv = await aino.get("/api/activities/types?lang=sv")
        assert {"code": "turku", "kind": "municipality", "name": "Åbo"} in sv.body["localities"]

        made = await aino.call("POST", "/api/activities", FIELD | {"client_id": "phone-0001-abcd"})
        assert made.status == 201, made.text
        entry = made.body["entry"]
        assert (entry["counts"], entry["locality"], entry["note"], made.body["replayed"]) == (
            {"contacts": 9, "times": 2}, "oulu", None, False)
        assert entry["recorded_by"] is not None and entry["recorded_at"].endswith("Z")
        # The phone's retry of the same submit: the first entry, not a second.
        again = await aino.call("POST", "/api/activities", FIELD | {"client_id": "phone-0001-abcd"})
        assert (again.status, again.body["replayed"], again.body["entry"]["id"]) == (200, True, entry["id"])
        # Another member's key space is their own.
        other = await taina.call("POST", "/api/activities", FIELD | {"client_id": "phone-0001-abcd"})
        assert other.status == 201 and other.body["entry"]["id"] != entry["id"]
        training = await ada.call("POST", "/api/activities", {
            "date": "2026-03-01", "type": "remote_training", "counts": {"times": 1}})
        assert training.status == 201, training.text
        assert (await ada.call("DELETE", f"/api/activities/{training.body['entry']['id']}")).status == 200
        online = await taina.call("POST", "/api/activities", {
            "date": "2026-03-03", "type": "online_outreach", "counts": {"times": 1, "messages_sent": 40}})
        assert online.status == 201, online.text

        period = "?from=2026-03-01&to=2026-03-31"
        assert [e["id"] for e in (await aino.get("/api/activities" + period)).body["entries"]] == [entry["id"]]
        assert len((await mona.get("/api/activities" + period)).body["entries"]) == 3

        # Staff cannot correct or delete, not even their own.
        body = FIELD | {"counts": {"times": 3, "contacts": 7}}
        path = f"/api/activities/{entry['id']}"
        for method, args in (("PUT", [body]), ("DELETE", [])):
            refused = await aino.call(method, path, *args)
            assert (refused.status, refused.code) == (403, "forbidden"), method
        assert (await aino.get(path + "/history")).code == "forbidden"

        fixed = await mona.call("PUT", path, body)
        assert fixed.status == 200, fixed.text
        assert fixed.body["entry"]["counts"] == {"contacts": 7, "times": 3}
        history = (await ada.get(path + "/history")).body["changes"]
        mona_id = (await mona.get("/api/auth/me")).body["staff"]["id"]
        assert [(c["action"], c["measure"], c["old_value"], c["new_value"], c["changed_by"]) for c in history] == [
            ("count", "contacts", 9, 7, mona_id), ("count", "times", 2, 3, mona_id)]
        assert set(history[0]) == {"id", "entry_id", "changed_by", "changed_at", "action", "measure", "old_value",
                                   "new_value"}

        assert (await ada.call("DELETE", path)).body == {"ok": True}
        assert (await ada.call("DELETE", path)).code == "not_found"
        assert (await mona.call("PUT", path, body)).code == "not_found"
        history = (await mona.get(path + "/history")).body["changes"]
        assert history[-1]["action"] == "deleted"
        assert (await mona.get("/api/activities/999999/history")).code == "not_found"
        assert len((await mona.get("/api/activities" + period)).body["entries"]) == 2


async def test_anonymous_foreign_origin_and_missing_csrf_are_refused(live: Live) -> None:
    await _people(live)
    async with Http(live) as anonymous, Http(live) as aino:
        assert (await anonymous.get("/api/activities/types")).code == "unauthenticated"
        assert (await anonymous.call("POST", "/api/activities", FIELD)).code == "unauthenticated"
        await aino.login("aino")
        foreign = await aino.call("POST", "/api/activities", FIELD, headers={"Origin": "https://evil.example"})
        assert (foreign.status, foreign.code) == (403, "origin_not_allowed")
        no_csrf = await aino.call("POST", "/api/activities", FIELD, headers={"X-CSRF-Token": "x"})
        assert (no_csrf.status, no_csrf.code) == (403, "csrf_failed")
        assert (await aino.get("/api/activities?from=2026-01-01&to=2026-12-31")).body["entries"] == []


BAD: list[tuple[dict[str, Any], str]] = [
    (FIELD | {"type": "knitting"}, "unknown_activity_type"),
    (FIELD | {"locality": "atlantis"}, "unknown_locality"),
    (FIELD | {"note": "met someone"}, "notes_disabled"),
    ({k: v for k, v in FIELD.items() if k != "locality"}, "invalid_request"),
    (FIELD | {"counts": {"times": 1}}, "invalid_request"),
    (FIELD | {"counts": {"times": 1, "contacts": 2, "participants": 3}}, "invalid_request"),
    (FIELD | {"counts": {"times": 0, "contacts": 2}}, "invalid_request"),
    (FIELD | {"counts": {"times": 1, "contacts": -1}}, "invalid_request"),
    (FIELD | {"counts": {"times": 1, "contacts": 100_001}}, "invalid_request"),
    (FIELD | {"counts": {"times": 1, "contacts": "5"}}, "invalid_request"),
    (FIELD | {"counts": {"times": True, "contacts": 5}}, "invalid_request"),
    (FIELD | {"date": "2026-03-04"}, "invalid_request"),  # tomorrow
    (FIELD | {"date": "1999-12-31"}, "invalid_request"),
    (FIELD | {"date": "2.3.2026"}, "invalid_request"),
    (FIELD | {"client_id": "short"}, "invalid_request"),
    (FIELD | {"name": "Jane"}, "invalid_request"),
    ({"date": "2026-03-02", "type": "online_outreach", "counts": {"times": 1, "messages_sent": 3},
      "locality": "oulu"}, "invalid_request"),
]


async def test_bad_input_gets_its_code_and_changes_nothing(live: Live) -> None:
    await _people(live)
    async with Http(live) as aino, Http(live) as mona:
        await aino.login("aino")
        await mona.login("mona")
        made = await aino.call("POST", "/api/activities", FIELD)
        path = f"/api/activities/{made.body['entry']['id']}"
        for body, code in BAD:
            # A correction takes no client_id: the bad one is refused there as an unknown field.
            for http, method, url in ((aino, "POST", "/api/activities"), (mona, "PUT", path)):
                reply = await http.call(method, url, body)
                assert (reply.status, reply.code) == (400, code), (method, body, reply.text)
        for raw in ("not json", "[]"):
            reply = await aino.call("POST", "/api/activities", data=raw, headers={"Content-Type": "application/json"})
            assert reply.code == "invalid_request"
        assert (await aino.get("/api/activities?from=2026-03-05&to=2026-03-01")).code == "invalid_request"
        assert (await aino.get("/api/activities?from=2025-01-01&to=2026-03-01")).code == "invalid_request"
        entries = (await mona.get("/api/activities?from=2026-01-01&to=2026-12-31")).body["entries"]
        assert [(e["id"], e["counts"]) for e in entries] == [(made.body["entry"]["id"], {"contacts": 9, "times": 2})]
        assert (await mona.get(path + "/history")).body["changes"] == []


async def test_a_note_only_when_enabled_and_never_in_a_log_or_report(tmp_path: Path) -> None:
    live = await start_live(tmp_path, activities={"notes": True, "note_max_length": 40})
    try:
        await _people(live)
        canary = "canary-note-5c1f0e"
        async with Http(live) as aino, Http(live) as mona:
            await aino.login("aino")
            await mona.login("mona")
            assert (await aino.get("/api/activities/types")).body["notes"] is True
            made = await aino.call("POST", "/api/activities", FIELD | {"note": f"  {canary} "})
            assert made.status == 201 and made.body["entry"]["note"] == canary
            too_long = await aino.call("POST", "/api/activities", FIELD | {"note": "x" * 41})
            assert too_long.code == "invalid_request" and "x" * 41 not in too_long.text
            report = await mona.get("/api/reports?from=2026-03-01&to=2026-03-31")
            csv_reply = await mona.get("/api/reports/export.csv?from=2026-03-01&to=2026-03-31")
            summary = await mona.get("/api/reports/summary-text?from=2026-03-01&to=2026-03-31&lang=fi")
            for reply in (report, csv_reply, summary):
                assert reply.status == 200 and canary not in reply.text
        assert canary not in live.log.getvalue()
    finally:
        await stop_live(live)


def test_figures_paragraph_falls_back_to_labels_and_hides_only_counts_of_people() -> None:
    from chat_server.reports.activities import figures_paragraph, number

    languages = load_settings(use_env=False).chat.languages
    catalogue = load_catalogue(ACTIVITIES_FILE, LOCALITIES_FILE, languages)
    report = {"period": {"shifts": {"held": 3}, "activities": {
        "entries": 3, "localities_reached": 1, "localities_visited": 1, "localities": ["turku"], "visited": ["turku"],
        "by_type": {
            "health_outreach": {"entries": 2, "counts": {"times": 2, "people_tested": 3}, "localities": 1},
            "online_outreach": {"entries": 1, "counts": {"times": 1, "messages_sent": 12345}, "localities": None},
            "remote_training": {"entries": 0, "counts": {"times": 0}, "localities": None},
        }}}}
    fi = figures_paragraph(report, "fi", catalogue, 5)
    assert fi.startswith("Lukuja\n\nVierailimme yhteensä 1 eri paikkakunnalla.")
    assert "1 eri paikkakunnalla, joiden yhteydessä <5 henkilöä" in fi
    assert "lähetimme yhteensä 12\u00a0345 infoviestiä" in fi
    assert "Etäkoulutuksia" not in fi  # no entries, no sentence
    assert "Toimintaa kirjattiin 1 paikkakunnalla: Turku." in fi
    en = figures_paragraph(report, "en", catalogue, 5)
    assert "12,345 information messages" in en and "Chat duty was held 3 times." in en
    # A type with no sentence in a language reads "Label: measure n, ...".
    without = catalogue.types[3]
    stripped = type(catalogue)(catalogue.measures, tuple(
        type(t)(t.code, t.labels, t.counts, t.locality, t.visit, {}, t.retired) if t is without else t
        for t in catalogue.types), catalogue.localities)
    assert "Online outreach: times 1, messages sent 12,345." in figures_paragraph(report, "en", stripped, 5)
    assert (number(2306, "fi"), number(2306, "en"), number("<5", "en")) == ("2306", "2,306", "<5")


async def test_a_type_dropped_from_the_file_is_retired_never_deleted(tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import date

    from sqlalchemy import select

    from chat_server.activities.catalogue import sync_catalogue
    from chat_server.activities.models import ActivityTypeRow, LocalityRow
    from chat_server.activities.repository import EntryFields
    from chat_server.activities.rules import ActivityRefused, check_entry
    from chat_server.db import create_engine, migrate, sessionmaker

    languages = load_settings(use_env=False).chat.languages
    catalogue = load_catalogue(ACTIVITIES_FILE, LOCALITIES_FILE, languages)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        await migrate(engine)
        sessions = sessionmaker(engine)
        await sync_catalogue(sessions, catalogue)
        fewer = replace(catalogue, types=catalogue.types[:-1], localities=catalogue.localities[1:])
        await sync_catalogue(sessions, fewer)
        await sync_catalogue(sessions, fewer)  # a second start changes nothing
        async with sessions() as session:
            types = {r.code: r.retired for r in await session.scalars(select(ActivityTypeRow))}
            places = {r.code: r.retired for r in await session.scalars(select(LocalityRow))}
        assert len(types) == len(catalogue.types) and types["remote_training"] is True
        assert sum(types.values()) == 1
        assert places["helsinki"] is True and len(places) == len(catalogue.localities)
    finally:
        await engine.dispose()
    retired = replace(catalogue, types=tuple(
        replace(t, retired=True) if t.code == "remote_training" else t for t in catalogue.types))
    training = EntryFields(date(2026, 3, 1), "remote_training", {"times": 1}, None, None)
    with pytest.raises(ActivityRefused) as refused:
        check_entry(retired, training, date(2026, 3, 2), False, 200)
    assert refused.value.code == "unknown_activity_type"
    assert "remote_training" not in {t["code"] for t in retired.describe("fi", False, 200)["types"]}
