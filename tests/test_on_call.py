"""The manager on call: planned over HTTP, shown live on the consoles, askable into a colleague thread."""

from __future__ import annotations

from datetime import timedelta

from chat_server.accounts import Role
from chat_server.keys import settings_key
from tests.support.http import Http
from tests.support.live import Live
from tests.test_shift_end import move


async def test_the_manager_on_call_is_planned_shown_live_and_askable(live: Live) -> None:
    now = live.clock.now()
    zone = live.app[settings_key].organisation.zone
    local = now.astimezone(zone)
    await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
    maja = await live.add_staff("maja", alias="Maja", shift=False)  # a senior member, no chat shift
    await live.add_staff("aino", alias="Aino")
    aino = await live.staff("aino")
    sync = await aino.call("staff:sync", {})
    assert sync["on_call"] == []

    async with Http(live) as manager:
        await manager.login("boss")
        async with Http(live) as staff:
            await staff.login("aino")
            refused = await staff.call("POST", "/api/roster/on-call", {
                "staff_id": maja.id, "date": local.date().isoformat(), "start": "00:00", "end": "00:00",
            })
            assert refused.status == 403 and refused.code == "forbidden"
        bad = await manager.call("POST", "/api/roster/on-call", {
            "staff_id": 99999, "date": local.date().isoformat(), "start": "00:00", "end": "00:00",
        })
        assert (bad.status, bad.code) == (404, "not_found")
        malformed = await manager.call("POST", "/api/roster/on-call", {"staff_id": maja.id, "date": "x"})
        assert (malformed.status, malformed.code) == (400, "invalid_request")
        start = (local - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=3)
        planned = await manager.call("POST", "/api/roster/on-call", {
            "staff_id": maja.id, "date": start.date().isoformat(), "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"), "note": "evening",
        })
        assert planned.status == 201, planned.text
        period = planned.body["period"]
        assert (period["alias"], period["note"]) == ("Maja", "evening")
        # Shown live: who is on call, until when, not signed in yet.
        pushed = await aino.wait_for("duty:roster", lambda r: bool(r["on_call"]))
        assert pushed["on_call"] == [
            {"staff_id": maja.id, "alias": "Maja", "until": period["ends_at"], "signed_in": False}
        ]
        listed = await manager.get(f"/api/roster/on-call?from={start.date().isoformat()}")
        assert [p["period_id"] for p in listed.body["periods"]] == [period["period_id"]]

        # Signed in: on call, and askable into a thread without a chat shift.
        maja_socket = await live.staff("maja", check_in=False)
        await aino.wait_for("duty:roster", lambda r: r["on_call"] and r["on_call"][0]["signed_in"])
        visitor = await live.visitor()
        await visitor.start("fi")
        await aino.wait_for("chat:assigned")
        asked = await aino.call("thread:send", {
            "chat_id": visitor.chat_id, "client_id": "t1", "text": "Maja, a minute?", "invite": maja.id,
        })
        assert asked["ok"], asked
        await maja_socket.wait_for("thread:entry")

        # Over when the period ends (the clock moves past it); gone when removed.
        await move(live, end - local + timedelta(minutes=1))
        await aino.wait_for("duty:roster", lambda r: r["on_call"] == [])
        await manager.login("boss")  # the moved clock ended the idle session
        removed = await manager.call("DELETE", f"/api/roster/on-call/{period['period_id']}")
        assert removed.status == 200 and removed.body == {"ok": True}
        again = await manager.call("DELETE", f"/api/roster/on-call/{period['period_id']}")
        assert (again.status, again.code) == (404, "not_found")
