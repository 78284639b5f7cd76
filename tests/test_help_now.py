"""Help now: the alarm reaches every on-duty console and the manager on call until someone answers; counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chat_server.accounts import Role
from tests.support.cluster import cluster, disconnect_all, staff_on, visitor_on
from tests.support.http import Http
from tests.support.live import Live, settle


async def test_an_alarm_reaches_the_right_consoles_until_answered_and_is_counted(live: Live) -> None:
    aino_account = await live.add_staff("aino", alias="Aino")
    await live.add_staff("leo", alias="Leo")
    await live.add_staff("mia", alias="Mia", shift=False)  # signed in, no shift: not on duty
    await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    await aino.wait_for("chat:assigned")
    leo = await live.staff("leo", check_in=False)  # on shift, not taking chats: still alerted
    mia = await live.staff("mia", check_in=False)
    boss = await live.staff("boss", check_in=False)

    assert (await leo.call("help:raise", {"chat_id": chat_id}))["error"]["code"] == "chat_not_found"
    assert (await aino.call("help:raise", {"chat_id": 5}))["error"]["code"] == "invalid_payload"
    raised = await aino.call("help:raise", {"chat_id": chat_id})
    assert raised["ok"], raised
    alarm = raised["alarm"]
    assert (alarm["by"], alarm["chat_id"]) == ({"staff_id": aino_account.id, "alias": "Aino"}, chat_id)
    for member in (leo, boss, aino):
        got = await member.wait_for("help:alarm")
        assert got == alarm
    # Raising again while it is open is the same alarm, and alerts nobody again.
    again = await aino.call("help:raise", {})
    assert again["alarm"]["alarm_id"] == alarm["alarm_id"]
    # A console connecting meanwhile gets the open alarm in staff:sync.
    assert (await mia.call("staff:sync", {}))["alarms"] == [alarm]

    answered = await leo.call("help:answer", {"alarm_id": alarm["alarm_id"]})
    assert answered["ok"] and answered["answered"]["answered_by"]["alias"] == "Leo"
    for member in (aino, boss, leo):
        done = await member.wait_for("help:answered")
        assert done["alarm_id"] == alarm["alarm_id"] and done["by"]["alias"] == "Aino"
    late = await boss.call("help:answer", {"alarm_id": alarm["alarm_id"]})
    assert late["error"]["code"] == "alarm_not_found"
    assert (await aino.call("help:answer", {"alarm_id": "nope"}))["error"]["code"] == "alarm_not_found"
    assert (await mia.call("staff:sync", {}))["alarms"] == []
    await settle()
    assert len(leo.received["help:alarm"]) == 1
    assert not mia.received["help:alarm"]
    assert not [name for name, _ in visitor.every if name.startswith("help:")]

    # A second alarm, about no chat, nobody answers: counted raised, not answered.
    second = await aino.call("help:raise", {})
    assert second["ok"] and second["alarm"]["chat_id"] is None
    async with Http(live) as manager:
        await manager.login("boss")
        today = live.clock.now().astimezone(live.settings.organisation.zone).date().isoformat()
        report = await manager.get(f"/api/reports?from={today}&to={today}&small_numbers=off")
        assert report.status == 200, report.text
        assert report.body["period"]["help_alarms"] == {"raised": 2, "answered": 1}
        hidden = await manager.get(f"/api/reports?from={today}&to={today}&small_numbers=on")
        assert hidden.body["period"]["help_alarms"] == {"raised": "<5", "answered": "<5"}


async def test_an_alarm_across_two_workers_is_answered_once(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3), ("leo", "Leo", 3), ("mia", "Mia", 3)),
    ) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino = await staff_on(url_a)
            leo = await staff_on(url_b, "leo", check_in=False)
            mia = await staff_on(url_b, "mia", check_in=False)
            visitor = await visitor_on(url_b)
            clients += [aino, leo, mia, visitor]
            await visitor.start("fi")
            await aino.wait_for("chat:assigned")
            raised = await aino.call("help:raise", {"chat_id": visitor.chat_id})
            assert raised["ok"], raised
            alarm_id = raised["alarm"]["alarm_id"]
            for member in (leo, mia):
                await member.wait_for("help:alarm", lambda a: a["alarm_id"] == alarm_id)
            # Both answer at once, on one worker: exactly one answer ends it.
            import asyncio

            first, second = await asyncio.gather(
                leo.call("help:answer", {"alarm_id": alarm_id}), mia.call("help:answer", {"alarm_id": alarm_id}),
            )
            assert sorted([first["ok"], second["ok"]]) == [False, True], (first, second)
            loser = first if not first["ok"] else second
            assert loser["error"]["code"] == "alarm_not_found"
            await aino.wait_for("help:answered", lambda a: a["alarm_id"] == alarm_id)
            await settle(0.3)
            assert len(aino.received["help:answered"]) == 1
            assert not [name for name in visitor.received if name.startswith("help:")]
        finally:
            await disconnect_all(*clients)
