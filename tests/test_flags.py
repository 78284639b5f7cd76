"""Flag a chat by category: the right consoles are alerted, the row counts the categories, reports show them."""

from __future__ import annotations

import typing
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from chat_server.accounts import Role
from chat_server.chat.models import FlagCategory
from chat_server.realtime import schemas
from tests.support.cluster import cluster, disconnect_all, staff_on, visitor_on
from tests.support.http import Http
from tests.support.live import Live, settle
from tests.test_events_contract import DOC


def test_the_categories_are_one_list_in_code_schema_and_document() -> None:
    allowed = typing.get_args(schemas.StaffFlag.model_fields["category"].annotation)
    assert set(allowed) == {c.value for c in FlagCategory}
    assert all(f"`{c.value}`" in DOC for c in FlagCategory)


async def test_flags_alert_the_right_consoles_and_are_counted(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    await live.add_staff("leo", alias="Leo")
    await live.add_staff("mia", alias="Mia")
    await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
    maja = await live.add_staff("maja", alias="Maja", shift=False)
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    await aino.wait_for("chat:assigned")
    leo = await live.staff("leo")  # on duty (checked in): alerted
    mia = await live.staff("mia", check_in=False)  # on shift, not on duty: not alerted
    boss = await live.staff("boss", check_in=False)  # a manager signed in: alerted while nobody is on call
    await aino.wait_for("duty:roster", lambda r: any(e["alias"] == "Leo" for e in r["roster"]))

    # Bad input changes nothing.
    assert (await aino.call("chat:flag", {"chat_id": chat_id, "category": "nasty"}))["error"]["code"] == (
        "invalid_payload"
    )
    assert (await leo.call("chat:flag", {"chat_id": chat_id, "category": "other"}))["error"]["code"] == (
        "chat_not_found"
    )
    flagged = await aino.call("chat:flag", {"chat_id": chat_id, "category": "violence_threat"})
    assert flagged == {"ok": True, "flags": ["violence_threat"], "added": True}
    for member in (leo, boss):
        alert = await member.wait_for("chat:flagged")
        assert (alert["chat_id"], alert["category"], alert["language"], alert["by"]["alias"]) == (
            chat_id, "violence_threat", "fi", "Aino")
    again = await aino.call("chat:flag", {"chat_id": chat_id, "category": "violence_threat"})
    assert again == {"ok": True, "flags": ["violence_threat"], "added": False}

    # With a manager on call, the alert goes to them (and the colleagues on duty), not to every manager.
    now = live.clock.now()
    async with Http(live) as manager:
        await manager.login("boss")
        local = (now - timedelta(hours=1)).astimezone(live.settings.organisation.zone)
        planned = await manager.call("POST", "/api/roster/on-call", {
            "staff_id": maja.id, "date": local.date().isoformat(), "start": local.strftime("%H:%M"),
            "end": (local + timedelta(hours=3)).strftime("%H:%M"),
        })
        assert planned.status == 201, planned.text
    maja_socket = await live.staff("maja", check_in=False)
    await aino.wait_for("duty:roster", lambda r: bool(r["on_call"]) and r["on_call"][0]["signed_in"])
    # Flagged again after the visitor ended the chat (awaiting topics): still allowed.
    assert (await visitor.call("chat:end", {}))["ok"]
    await aino.wait_for("chat:ended")
    second = await aino.call("chat:flag", {"chat_id": chat_id, "category": "crisis_self_harm"})
    assert second == {"ok": True, "flags": ["violence_threat", "crisis_self_harm"], "added": True}
    for member in (leo, maja_socket):
        await member.wait_for("chat:flagged", lambda a: a["category"] == "crisis_self_harm")
    await settle()
    assert len(boss.received["chat:flagged"]) == 1
    assert not mia.received["chat:flagged"] and not aino.received["chat:flagged"]
    assert not [name for name, _ in visitor.every if "flag" in name]

    ended = await aino.call("chat:end", {"chat_id": chat_id, "topics": ["safety.violence"]})
    assert ended["ok"], ended
    late = await aino.call("chat:flag", {"chat_id": chat_id, "category": "other"})
    assert late["error"]["code"] == "chat_not_found"
    # A waiting chat cannot be flagged (nobody holds it).
    waiting_visitor = await live.visitor()
    await live.service.check_out((await aino.call("staff:sync", {}))["staff"]["id"])
    await live.service.check_out((await leo.call("staff:sync", {}))["staff"]["id"])
    assert (await waiting_visitor.start("fi"))["chat"]["state"] == "waiting"
    refused = await aino.call("chat:flag", {"chat_id": waiting_visitor.chat_id, "category": "other"})
    assert refused["error"]["code"] == "chat_not_found"

    rows = await live.session_rows()
    assert len(rows) == 1
    from sqlalchemy import select

    from chat_server.db import SessionFlag
    from chat_server.keys import sessions_key

    async with live.app[sessions_key]() as session:
        flags = sorted((f.session_id, f.category) for f in await session.scalars(select(SessionFlag)))
    assert flags == [(rows[0]["id"], "crisis_self_harm"), (rows[0]["id"], "violence_threat")]
    async with Http(live) as manager:
        await manager.login("boss")
        today = now.astimezone(live.settings.organisation.zone).date()
        report = await manager.get(f"/api/reports?from={today.isoformat()}&to={today.isoformat()}&small_numbers=off")
        assert report.status == 200, report.text
        assert report.body["period"]["by_flag"] == {"crisis_self_harm": 1, "violence_threat": 1}
        month = await manager.get(
            f"/api/reports?from={today.replace(day=1).isoformat()}&to={today.isoformat()}&small_numbers=off"
        )
        assert month.body["period"]["by_flag"] == {"crisis_self_harm": 1, "violence_threat": 1}
        hidden = await manager.get(f"/api/reports?from={today.isoformat()}&to={today.isoformat()}&small_numbers=on")
        assert hidden.body["period"]["by_flag"] == {"crisis_self_harm": "<5", "violence_threat": "<5"}
        csv = await manager.get(f"/api/reports/export.csv?from={today.isoformat()}&to={today.isoformat()}"
                                "&small_numbers=off")
        assert ",by_flag,violence_threat,sessions,1" in csv.text


async def test_flags_across_two_workers_reach_the_colleague_and_the_row(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3), ("leo", "Leo", 3)),
    ) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino = await staff_on(url_a)
            clients.append(aino)
            visitor = await visitor_on(url_b)
            clients.append(visitor)
            await visitor.start("fi")
            await aino.wait_for("chat:assigned")
            leo = await staff_on(url_b, "leo")
            clients.append(leo)
            await aino.wait_for("duty:roster", lambda r: len(r["roster"]) == 2)
            flagged = await aino.call("chat:flag", {"chat_id": visitor.chat_id, "category": "trafficking_suspected"})
            assert flagged["ok"] and flagged["added"], flagged
            alert = await leo.wait_for("chat:flagged")
            assert (alert["category"], alert["by"]["alias"]) == ("trafficking_suspected", "Aino")
            assert (await aino.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["safety.trafficking"]}))["ok"]
            await visitor.wait_for("chat:ended")
            assert not [name for name, _ in visitor.received.items() if "flag" in name]
        finally:
            await disconnect_all(*clients)
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("select category from session_flags")
    finally:
        await conn.close()
    assert [r["category"] for r in rows] == ["trafficking_suspected"]
