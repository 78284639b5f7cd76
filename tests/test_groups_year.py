"""A simulated year of a weekly peer group, driven through the API with the movable clock.

The report must say the group met exactly as many times, with exactly as many
participants, as the test drove through it: some sessions ended by a
moderator, some by their planned time running out, and some weeks nobody came.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from chat_server.accounts import Role
from tests.support.clients import login
from tests.support.groups import Moderator, Participant
from tests.support.http import Http
from tests.support.live import PASSWORD, Live, start_live, stop_live

WEEKS = 52


async def test_a_year_of_weekly_sessions_is_counted_exactly(tmp_path: Path) -> None:
    live = await start_live(tmp_path, testing={"movable_clock": True})
    try:
        await drive_a_year(live)
    finally:
        await stop_live(live)


async def move_to(http: Http, live: Live, instant: datetime) -> None:
    seconds = (instant - live.clock.now()).total_seconds()
    reply = await http.call("POST", "/api/testing/clock", {"move_seconds": seconds})
    assert reply.status == 200, reply.text


async def drive_a_year(live: Live) -> None:
    await live.add_staff("mika", alias="Mika", role=Role.MANAGER, shift=False)
    zone = live.settings.organisation.zone
    first_day = (live.clock.now().astimezone(zone) + timedelta(days=1)).date()
    async with Http(live) as manager, Http(live) as clock:
        await manager.login("mika")
        created = await manager.call("POST", "/api/roster/groups", {
            "kind": "weekly", "weekday": first_day.weekday(), "start": "18:00", "end": "19:30", "capacity": 10,
            "languages": ["fi"], "titles": {"fi": "Vertaisryhmä"}, "valid_from": first_day.isoformat(),
        })
        assert created.status == 201, created.text
        group_id = created.body["slot"]["id"]
        held = participants = 0
        for week in range(WEEKS):
            day = first_day + timedelta(weeks=week)
            room = f"{group_id}-{day.isoformat()}"
            start = datetime(day.year, day.month, day.day, 18, 0, tzinfo=zone)
            await move_to(clock, live, start + timedelta(minutes=5))
            people = week % 4  # every fourth week nobody comes
            if people == 0:
                continue
            clients = []
            for n in range(people):
                client = Participant(live.url)
                await client.connect()
                clients.append(client)
                assert (await client.join(room, f"Week {week} n{n}"))["ok"]
                assert (await client.send("hello", "m1"))["ok"]
            if week % 2:
                mod = Moderator(live.url, await login(live.url, "mika", PASSWORD))
                await mod.connect()
                assert (await mod.act("group:moderate", room_id=room))["ok"]
                assert (await mod.act("group:end", room_id=room))["ok"]
                await mod.disconnect()
            else:
                await move_to(clock, live, start + timedelta(minutes=90))
            assert (await clients[0].wait_for("group:ended", timeout=10))["reason"] == ("ended" if week % 2 else "over")
            for client in clients:
                await client.disconnect()
            held += 1
            participants += people

        await manager.login("mika")  # the clock moved a year: log in again
        period = f"from={first_day.isoformat()}&to={(first_day + timedelta(weeks=WEEKS)).isoformat()}"
        report = (await manager.get(f"/api/reports/groups?{period}")).body
        assert report["figures"]["sessions"] == held == 39
        assert report["figures"]["participants"] == participants
        assert report["figures"]["messages"] == participants
        assert len(report["sessions"]) == held
        assert report["summary"] == f"The peer group met {held} times, {participants} participants in all."
        finnish = (await manager.get(f"/api/reports/groups?{period}&lang=fi")).body["summary"]
        assert finnish == f"Vertaisryhmä kokoontui {held} kertaa, osallistujia yhteensä {participants}."
        exported = (await manager.get(f"/api/reports/groups.csv?{period}")).text
        lines = list(csv.reader(io.StringIO(exported)))
        figures = {row[1]: row[2] for row in lines if len(row) == 3 and row[1].startswith("group.")}
        assert figures["group.sessions"] == str(held) and figures["group.participants"] == str(participants)
        assert sum(1 for row in lines if row and row[0].startswith(f"{group_id}-")) == held
        # The chat report's summary text and CSV carry the same figures.
        text = (await manager.get(f"/api/reports/summary-text?{period}&lang=en")).text
        assert f"The peer group met {held} times, {participants} participants in all." in text
        main_csv = list(csv.reader(io.StringIO((await manager.get(f"/api/reports/export.csv?{period}")).text)))
        group_rows = {r[5]: r[6] for r in main_csv if len(r) == 7 and r[3] == "group"}
        assert group_rows["sessions"] == str(held) and group_rows["participants"] == str(participants)
        # A period of one week holds exactly that week's session.
        one = first_day + timedelta(weeks=1)
        week_report = (await manager.get(f"/api/reports/groups?from={one.isoformat()}&to={one.isoformat()}")).body
        assert week_report["figures"]["sessions"] == 1 and week_report["figures"]["participants"] == 1
