"""The field report's figures, from one place: a year of outreach entries and duty shifts driven through the API.

The Prop up report (shared context) closes with: 19 localities visited, field
outreach 146 times with 722 contacts, mobile health work in 5 localities with
18 people tested, individual support 696 times in 21 localities, online
outreach 131 times with 2306 information messages, chat duty held 150 times,
network meetings in 22 localities (68 meetings, 483 participants), remote
trainings 4. Two staff members record those entries over 2026 from their
phones (one submit retried, one mistake a manager corrects, one duplicate a
manager deletes); 150 duty shifts are checked in on over the socket, 10 more
are planned and not held. The report, the CSV and the summary text in Finnish
and English must say each figure exactly.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chat_server.accounts import Role
from chat_server.keys import roster_key, shifts_key
from tests.support.http import Http
from tests.support.live import Live

# Localities of the managed list (config/localities.toml).
VISITED = ["oulu", "rovaniemi", "kuopio", "joensuu", "jyvaskyla", "lahti", "pori", "kouvola", "lappeenranta",
           "hameenlinna", "vaasa", "seinajoki", "mikkeli", "kotka", "salo", "kokkola", "kajaani", "savonlinna",
           "kemi"]
SUPPORTED = ["helsinki", "tampere", "turku", *VISITED[:16], "espoo", "vantaa"]
NETWORK = ["helsinki", "tampere", "turku", *VISITED]
assert (len(VISITED), len(SUPPORTED), len(NETWORK)) == (19, 21, 22)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day(n: int) -> str:
    """The n-th day of 2026 (wrapping), as the API writes dates."""
    return (date(2026, 1, 1) + timedelta(days=n % 365)).isoformat()


def year_of_entries() -> list[dict[str, Any]]:
    """Every entry of the year, as the phones submit them."""
    entries: list[dict[str, Any]] = []
    for i in range(73):  # 146 times, 722 contacts, in the 19 localities visited
        entries.append({"date": day(i * 5), "type": "field_outreach", "locality": VISITED[i % 19],
                        "counts": {"times": 2, "contacts": 10 if i < 65 else 9}})
    for i, tested in enumerate((4, 4, 4, 3, 3)):  # 5 localities, 18 people tested
        entries.append({"date": day(40 + i * 60), "type": "health_outreach", "locality": VISITED[i * 3],
                        "counts": {"times": 1, "people_tested": tested}})
    for i in range(87):  # 696 times, 21 localities (3 entries by phone from nowhere in particular)
        entry: dict[str, Any] = {"date": day(i * 4 + 1), "type": "individual_support", "counts": {"times": 8}}
        if i < 84:
            entry["locality"] = SUPPORTED[i % 21]
        entries.append(entry)
    for i in range(66):  # 131 times, 2306 messages
        entries.append({"date": day(i * 5 + 2), "type": "online_outreach",
                        "counts": {"times": 2 if i < 65 else 1, "messages_sent": 35 if i < 62 else 34}})
    for i in range(22):  # 22 localities, 68 meetings, 483 participants
        entries.append({"date": day(i * 16 + 3), "type": "network_meeting", "locality": NETWORK[i],
                        "counts": {"times": 3 if i < 20 else 4, "participants": 22 if i < 21 else 21}})
    for i in range(4):
        entries.append({"date": day(200 + i * 30), "type": "remote_training", "counts": {"times": 1}})
    return entries


async def at(live: Live, when: datetime) -> None:
    live.clock.set(when)
    live.app[roster_key].invalidate()
    await live.service.sweep()


async def hold_duty(live: Live) -> None:
    """150 shifts checked in on (every day from 5 January), and 10 planned that nobody holds."""
    aino = await live.add_staff("duty", shift=False)
    starts = [utc(2026, 1, 5, 8) + timedelta(days=d) for d in range(160)]
    for start in starts:
        await live.app[shifts_key].add(aino.id, start, start + timedelta(hours=4))
    live.app[roster_key].invalidate()
    for n, start in enumerate(starts):
        if n % 16 == 15:
            continue  # nobody checks in
        await at(live, start + timedelta(minutes=5))
        staff = await live.staff("duty")
        await at(live, start + timedelta(hours=4, seconds=30))  # the shift-end sweep checks out
        await staff.disconnect()
        live.clients.remove(staff)


async def test_a_year_reproduces_the_field_reports_figures(live: Live) -> None:
    live.clock.set(utc(2026, 1, 2, 9))
    await hold_duty(live)
    await at(live, utc(2027, 1, 4, 9))
    await live.add_staff("taina", shift=False)
    await live.add_staff("anna", shift=False)
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    async with Http(live) as taina, Http(live) as anna, Http(live) as mona:
        await taina.login("taina")
        await anna.login("anna")
        await mona.login("mona")
        entries = year_of_entries()
        # A slip on the first entry: 100 contacts typed instead of 10 (a manager corrects it below).
        entries[0] = entries[0] | {"counts": {"times": 2, "contacts": 100}}
        for n, entry in enumerate(entries):
            phone = taina if n % 2 else anna
            reply = await phone.call("POST", "/api/activities", entry | {"client_id": f"e-{n:06d}"})
            assert reply.status == 201, reply.text
            if n == 0:
                slip = reply.body["entry"]
        fixed = await mona.call("PUT", f"/api/activities/{slip['id']}", year_of_entries()[0])
        assert fixed.status == 200, fixed.text
        history = (await mona.get(f"/api/activities/{slip['id']}/history")).body["changes"]
        assert [(c["measure"], c["old_value"], c["new_value"]) for c in history] == [("contacts", 100, 10)]
        # The phone that lost its connection sends its queued submit again: the corrected entry, no second one.
        retry = await anna.call("POST", "/api/activities", entries[0] | {"client_id": "e-000000"})
        assert (retry.status, retry.body["replayed"], retry.body["entry"]["counts"]["contacts"]) == (200, True, 10)
        # A duplicate (submitted again without its key), deleted by a manager.
        twice = await taina.call("POST", "/api/activities", year_of_entries()[-1])
        assert (await mona.call("DELETE", f"/api/activities/{twice.body['entry']['id']}")).status == 200

        year = "from=2026-01-01&to=2026-12-31"
        report = await mona.get(f"/api/reports?{year}&small_numbers=on")
        csv_reply = await mona.get(f"/api/reports/export.csv?{year}")
        en = await mona.get(f"/api/reports/summary-text?{year}&lang=en")
        fi = await mona.get(f"/api/reports/summary-text?{year}&lang=fi")
        february = await mona.get("/api/reports?from=2026-02-01&to=2026-02-28&small_numbers=on")
        february_text = await mona.get("/api/reports/summary-text?from=2026-02-01&to=2026-02-28&lang=en")

    assert report.status == 200, report.text
    figures = report.body["period"]
    assert figures["shifts"]["held"] == 150 and figures["shifts"]["not_held"] == 10
    activities = figures["activities"]
    by_type = {code: (row["counts"], row["localities"]) for code, row in activities["by_type"].items()}
    assert by_type == {
        "field_outreach": ({"times": 146, "contacts": 722}, 19),
        "health_outreach": ({"times": 5, "people_tested": 18}, 5),
        "individual_support": ({"times": 696}, 21),
        "online_outreach": ({"times": 131, "messages_sent": 2306}, None),
        "network_meeting": ({"times": 68, "participants": 483}, 22),
        "remote_training": ({"times": 4}, None),
    }
    reached = sorted(set(VISITED) | set(SUPPORTED) | set(NETWORK))
    assert (activities["localities_visited"], activities["visited"]) == (19, sorted(VISITED))
    assert (activities["localities_reached"], activities["localities"]) == (len(reached), reached)
    assert activities["entries"] == 73 + 5 + 87 + 66 + 22 + 4

    rows = {(r[3], r[4], r[5]): r[6] for r in csv.reader(io.StringIO(csv_reply.text)) if r[0] == "current"}
    assert rows[("activities", "field_outreach", "contacts")] == "722"
    assert rows[("activities", "network_meeting", "localities")] == "22"
    assert rows[("localities", "", "visited")] == "19"
    assert rows[("localities", "espoo", "reached")] == "1"
    assert rows[("shifts", "", "held")] == "150"

    assert en.status == 200, en.text
    for sentence in (
        "We visited 19 localities in all.",
        "Field outreach was done 146 times, with 722 contacts in all.",
        "Mobile health work was done in 5 localities, where 18 people were tested for sexually transmitted "
        "infections.",
        "Individual support was given 696 times in 21 localities.",
        "Online outreach was done 131 times, with 2,306 information messages sent in all.",
        "Chat duty was held 150 times.",
        "Network meetings were held in 22 localities: 68 meetings with 483 participants in all.",
        "Remote trainings were held 4 times.",
        f"Activities were recorded in {len(reached)} localities: Espoo, Helsinki, Hämeenlinna,",
    ):
        assert sentence in en.text, sentence
    for sentence in (
        "Vierailimme yhteensä 19 eri paikkakunnalla.",
        "Jalkautuvaa kenttätyötä teimme 146 kertaa, joissa saimme yhteensä 722 kontaktia.",
        "Jalkautuvaa terveystyötä toteutimme 5 eri paikkakunnalla, joiden yhteydessä 18 henkilöä kävi "
        "seksitautitesteissä.",
        "Yksilöllistä tukityötä tarjosimme 696 kertaa 21 eri paikkakunnalle.",
        "Etsivää työtä verkossa teimme 131 kertaa, jonka aikana lähetimme yhteensä 2306 infoviestiä.",
        "Chat-päivystykseen osallistuimme 150 kertaa.",
        "Verkostotapaamisia toteutui 22 paikkakunnalla. Tapaamiskertoja näihin sisältyi 68 ja niihin osallistui "
        "yhteensä 483 henkilöä.",
        "Etäkoulutuksia toteutimme 4 kertaa.",
    ):
        assert sentence in fi.text, sentence
    assert fi.text.index("Lukuja") < fi.text.index("Chat-keskusteluja:")

    # A month with one health visit of 4 people tested: the count of people is hidden, the times are not.
    health = february.body["period"]["activities"]["by_type"]["health_outreach"]
    assert health["counts"] == {"times": 1, "people_tested": "<5"}
    assert "Mobile health work was done in 1 localities, where <5 people were tested" in february_text.text
