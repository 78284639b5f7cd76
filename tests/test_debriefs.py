"""Debrief requests after a flagged chat: asked over the socket, listed and marked done by a manager, counted."""

from __future__ import annotations

import json

from chat_server.accounts import Role
from tests.support.clients import record_event
from tests.support.http import Http
from tests.support.live import Live, settle


async def test_a_debrief_after_a_flagged_chat_is_listed_done_and_counted(live: Live) -> None:
    aino_account = await live.add_staff("aino", alias="Aino")
    await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    await aino.wait_for("chat:assigned")

    # Only after a flag, only for one's own live chat.
    assert (await aino.call("debrief:request", {"chat_id": chat_id}))["error"]["code"] == "chat_not_flagged"
    assert (await aino.call("debrief:request", {"chat_id": "nope"}))["error"]["code"] == "chat_not_found"
    assert (await aino.call("debrief:request", {}))["error"]["code"] == "invalid_payload"
    assert (await aino.call("chat:flag", {"chat_id": chat_id, "category": "crisis_self_harm"}))["ok"]
    asked = await aino.call("debrief:request", {"chat_id": chat_id})
    assert asked["ok"], asked
    debrief = asked["debrief"]
    assert (debrief["staff_id"], debrief["alias"], debrief["done_at"]) == (aino_account.id, "Aino", None)
    assert (await aino.call("chat:end", {"chat_id": chat_id, "topics": ["health.mental"]}))["ok"]

    async with Http(live) as staff:
        await staff.login("aino")
        assert (await staff.get("/api/debriefs")).status == 403
    async with Http(live) as manager:
        await manager.login("boss")
        listed = await manager.get("/api/debriefs")
        assert listed.status == 200 and listed.body == {"debriefs": [debrief]}
        # Who asked and when: nothing about the chat.
        assert chat_id not in listed.text
        done = await manager.call("POST", f"/api/debriefs/{debrief['debrief_id']}/done")
        assert done.status == 200, done.text
        assert done.body["debrief"]["done_at"] is not None
        again = await manager.call("POST", f"/api/debriefs/{debrief['debrief_id']}/done")
        assert (again.status, again.code) == (409, "conflict")
        unknown = await manager.call("POST", f"/api/debriefs/{'0' * 32}/done")
        assert (unknown.status, unknown.code) == (404, "not_found")
        assert (await manager.get("/api/debriefs")).body == {"debriefs": []}
        today = live.clock.now().astimezone(live.settings.organisation.zone).date().isoformat()
        report = await manager.get(f"/api/reports?from={today}&to={today}&small_numbers=off")
        assert report.body["period"]["debriefs"] == {"requested": 1, "done": 1}


async def test_managers_consoles_get_debrief_requests_live(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
    await live.add_staff("leo", alias="Leo")
    aino = await live.staff("aino")
    boss = await live.staff("boss", check_in=False)
    leo = await live.staff("leo", check_in=False)
    for member in (aino, boss, leo):
        record_event(member, "debrief:requested")
        record_event(member, "debrief:done")
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    await aino.wait_for("chat:assigned")
    assert (await aino.call("chat:flag", {"chat_id": chat_id, "category": "violence_threat"}))["ok"]
    asked = (await aino.call("debrief:request", {"chat_id": chat_id}))["debrief"]
    # The manager's console gets it at once: the same Debrief, no chat, no text.
    pushed = await boss.wait_for("debrief:requested")
    assert pushed == asked and chat_id not in json.dumps(pushed)
    async with Http(live) as manager:
        await manager.login("boss")
        assert (await manager.call("POST", f"/api/debriefs/{asked['debrief_id']}/done")).status == 200
    done = await boss.wait_for("debrief:done")
    assert done["debrief_id"] == asked["debrief_id"] and done["done_at"] is not None
    await settle()
    # Only managers and admins: not the member who asked, not a colleague, never a visitor.
    for member in (aino, leo):
        assert not member.received["debrief:requested"] and not member.received["debrief:done"]
    assert not [name for name, _ in visitor.every if name.startswith("debrief:")]
