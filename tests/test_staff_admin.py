"""Staff administration API (docs/protocol.md §8) on a live server, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chat_server.accounts import LastAdmin, Role
from chat_server.keys import staff_key
from tests.support.clients import record_event
from tests.support.http import Http
from tests.support.live import PASSWORD, Live

FIELDS = {"id", "username", "display_name", "alias", "role", "languages", "max_chats", "disabled"}


async def staff_list(http: Http) -> list[dict[str, Any]]:
    reply = await http.get("/api/staff")
    assert reply.status == 200, reply.text
    return reply.body["staff"]


async def by_name(http: Http, username: str) -> dict[str, Any]:
    return next(s for s in await staff_list(http) if s["username"] == username)


async def can_log_in(live: Live, username: str, password: str) -> bool:
    async with Http(live) as http:
        reply = await http.call("POST", "/api/auth/login", {"username": username, "password": password})
        return reply.status == 200


async def test_anonymous_and_staff_are_refused_everywhere(live: Live) -> None:
    aino = await live.add_staff("aino", shift=False)
    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    calls = [
        ("GET", "/api/staff", None),
        ("POST", "/api/staff", {"username": "new", "alias": "New"}),
        ("PATCH", f"/api/staff/{aino.id}", {"alias": "X"}),
        ("POST", f"/api/staff/{aino.id}/disable", None),
        ("POST", f"/api/staff/{aino.id}/enable", None),
        ("POST", f"/api/staff/{aino.id}/password", None),
    ]
    async with Http(live) as anonymous, Http(live) as staff, Http(live) as manager:
        await staff.login("aino")
        await manager.login("mia")
        before = await staff_list(manager)
        for method, path, body in calls:
            args = () if body is None else (body,)
            reply = await anonymous.call(method, path, *args)
            assert (reply.status, reply.code) == (401, "unauthenticated"), (method, path)
            reply = await staff.call(method, path, *args)
            assert (reply.status, reply.code) == (403, "forbidden"), (method, path)
        # The pages: the same HTML, with the status of the caller's right to it.
        assert (await anonymous.get("/staff/")).status == 401
        assert (await staff.get("/staff/")).status == 403
        page = await manager.get("/staff/")
        assert page.status == 200 and 'id="staff-view"' in page.text
        assert await staff_list(manager) == before
        assert await can_log_in(live, "aino", PASSWORD)


async def test_manager_adds_changes_resets_disables_and_enables(live: Live) -> None:
    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    async with Http(live) as manager:
        await manager.login("mia")
        # Added with a generated one-time password, answered once.
        reply = await manager.call("POST", "/api/staff", {
            "username": "Leo", "alias": "Leo", "display_name": "Leo Example", "languages": ["sv", "fi", "sv"],
        })
        assert reply.status == 201, reply.text
        leo = reply.body["staff"]
        assert set(leo) == FIELDS
        assert leo["username"] == "leo" and leo["role"] == "staff" and leo["languages"] == ["sv", "fi"]
        assert leo["max_chats"] == live.settings.chat.default_max_chats and leo["disabled"] is False
        generated = reply.body["password"]
        assert isinstance(generated, str) and len(generated) >= 16
        assert await can_log_in(live, "leo", generated)
        # Added with a chosen password: none is answered.
        reply = await manager.call("POST", "/api/staff", {
            "username": "sam", "alias": "Sam", "role": "manager", "max_chats": 5, "password": "a long password",
        })
        assert reply.status == 201 and reply.body["password"] is None
        assert reply.body["staff"]["role"] == "manager" and reply.body["staff"]["max_chats"] == 5
        assert await can_log_in(live, "sam", "a long password")

        listed = await staff_list(manager)
        assert [s["username"] for s in listed] == ["leo", "mia", "sam"]
        assert all(set(s) == FIELDS for s in listed)
        assert "argon2" not in json.dumps(listed)

        # Change.
        reply = await manager.call("PATCH", f"/api/staff/{leo['id']}", {
            "alias": "Leon", "languages": ["en"], "max_chats": 7, "role": "manager", "display_name": "",
        })
        assert reply.status == 200, reply.text
        changed = reply.body["staff"]
        assert (changed["alias"], changed["languages"], changed["max_chats"], changed["role"]) == (
            "Leon", ["en"], 7, "manager"
        )
        assert changed["display_name"] == "leo"  # empty: the user name
        assert await by_name(manager, "leo") == changed

        # Reset: the member's session ends at once; only the new password works.
        async with Http(live) as leo_http:
            await leo_http.call("POST", "/api/auth/login", {"username": "leo", "password": generated})
            assert (await leo_http.get("/api/auth/me")).status == 200
            reply = await manager.call("POST", f"/api/staff/{leo['id']}/password")
            assert reply.status == 200, reply.text
            fresh = reply.body["password"]
            assert fresh != generated and reply.body["staff"]["username"] == "leo"
            assert (await leo_http.get("/api/auth/me")).code == "unauthenticated"
        assert not await can_log_in(live, "leo", generated)
        assert await can_log_in(live, "leo", fresh)

        # Disable: the cookie stops working at once, and logging in too.
        async with Http(live) as leo_http:
            await leo_http.call("POST", "/api/auth/login", {"username": "leo", "password": fresh})
            assert (await leo_http.get("/api/auth/me")).status == 200
            reply = await manager.call("POST", f"/api/staff/{leo['id']}/disable", {})
            assert reply.status == 200 and reply.body["staff"]["disabled"] is True
            me = await leo_http.get("/api/auth/me")
            assert (me.status, me.code) == (401, "unauthenticated")
        assert not await can_log_in(live, "leo", fresh)
        assert (await by_name(manager, "leo"))["disabled"] is True

        reply = await manager.call("POST", f"/api/staff/{leo['id']}/enable")
        assert reply.status == 200 and reply.body["staff"]["disabled"] is False
        assert await can_log_in(live, "leo", fresh)

        # The audit lines carry the action and ids only.
        lines = [json.loads(line) for line in live.log.getvalue().splitlines() if "staff account changed" in line]
        me = await by_name(manager, "mia")
        assert [(x["event"], x["actor_id"], x["staff_id"]) for x in lines] == [
            ("staff.add", me["id"], leo["id"]),
            ("staff.add", me["id"], leo["id"] + 1),
            ("staff.change", me["id"], leo["id"]),
            ("staff.reset_password", me["id"], leo["id"]),
            ("staff.disable", me["id"], leo["id"]),
            ("staff.enable", me["id"], leo["id"]),
        ]
        assert all(set(x) == {"time", "level", "logger", "msg", "event", "actor_id", "staff_id"} for x in lines)


BAD_ADD = [
    ([], "invalid_request"),
    ("username", "invalid_request"),
    ({}, "invalid_request"),
    ({"username": "x1"}, "invalid_request"),  # no alias
    ({"alias": "X"}, "invalid_request"),  # no username
    ({"username": "has space", "alias": "X"}, "invalid_request"),
    ({"username": "a" * 65, "alias": "X"}, "invalid_request"),
    ({"username": "x1", "alias": ""}, "invalid_request"),
    ({"username": "x1", "alias": "   "}, "invalid_request"),
    ({"username": "x1", "alias": "A" * 65}, "invalid_request"),
    ({"username": "x1", "alias": 5}, "invalid_request"),
    ({"username": "x1", "alias": "X", "role": "boss"}, "invalid_request"),
    ({"username": "x1", "alias": "X", "languages": ["de"]}, "invalid_request"),
    ({"username": "x1", "alias": "X", "languages": "fi"}, "invalid_request"),
    ({"username": "x1", "alias": "X", "languages": [1]}, "invalid_request"),
    ({"username": "x1", "alias": "X", "max_chats": 0}, "invalid_request"),
    ({"username": "x1", "alias": "X", "max_chats": 51}, "invalid_request"),
    ({"username": "x1", "alias": "X", "max_chats": "3"}, "invalid_request"),
    ({"username": "x1", "alias": "X", "max_chats": True}, "invalid_request"),
    ({"username": "x1", "alias": "X", "display_name": "N" * 129}, "invalid_request"),
    ({"username": "x1", "alias": "X", "password_hash": "$argon2id$"}, "invalid_request"),
    ({"username": "x1", "alias": "X", "password": "short"}, "weak_password"),
    ({"username": "x1", "alias": "X", "password": 1234567890123}, "invalid_request"),
    ({"username": "x1", "alias": "X", "password": "p" * 1025}, "invalid_request"),
    ({"username": "aino", "alias": "Another"}, "conflict"),
    ({"username": "AINO", "alias": "Another"}, "conflict"),
]

BAD_CHANGE = [
    ({}, "invalid_request"),
    ([], "invalid_request"),
    ({"username": "renamed"}, "invalid_request"),
    ({"disabled": True}, "invalid_request"),
    ({"alias": ""}, "invalid_request"),
    ({"alias": None, "role": None}, "invalid_request"),
    ({"role": "root"}, "invalid_request"),
    ({"languages": ["fi", "xx"]}, "invalid_request"),
    ({"max_chats": 100}, "invalid_request"),
    ({"max_chats": 2.5}, "invalid_request"),
    ({"password": "a new long password"}, "invalid_request"),
]


async def test_every_invalid_body_is_refused_and_changes_nothing(live: Live) -> None:
    aino = await live.add_staff("aino", shift=False)
    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    async with Http(live) as manager:
        await manager.login("mia")
        before = await staff_list(manager)
        for body, code in BAD_ADD:
            reply = await manager.call("POST", "/api/staff", body)
            assert reply.code == code, (body, reply.text)
            assert reply.status == {"invalid_request": 400, "weak_password": 400, "conflict": 409}[code]
        for body, code in BAD_CHANGE:
            reply = await manager.call("PATCH", f"/api/staff/{aino.id}", body)
            assert (reply.status, reply.code) == (400, code), (body, reply.text)
        # Not JSON, or not declared as JSON.
        for path in ("/api/staff", f"/api/staff/{aino.id}"):
            method = "POST" if path == "/api/staff" else "PATCH"
            reply = await manager.call(method, path, data="{not json", headers={"Content-Type": "application/json"})
            assert (reply.status, reply.code) == (400, "invalid_request")
            reply = await manager.call(method, path, data='{"alias": "X"}', headers={"Content-Type": "text/plain"})
            assert (reply.status, reply.code) == (400, "invalid_request")
        # Actions take no fields.
        for action in ("disable", "enable", "password"):
            reply = await manager.call("POST", f"/api/staff/{aino.id}/{action}", {"now": True})
            assert (reply.status, reply.code) == (400, "invalid_request"), action
            reply = await manager.call("POST", f"/api/staff/{aino.id}/{action}", [])
            assert (reply.status, reply.code) == (400, "invalid_request"), action
        # Unknown members.
        for path in ("/api/staff/9999/disable", "/api/staff/0/enable", "/api/staff/abc/password",
                     "/api/staff/99999999999999999999/disable", f"/api/staff/{chr(0xFF11)}/disable"):
            reply = await manager.call("POST", path)
            assert (reply.status, reply.code) == (404, "not_found"), path
        reply = await manager.call("PATCH", "/api/staff/9999", {"alias": "X"})
        assert (reply.status, reply.code) == (404, "not_found")
        # A foreign origin changes nothing either.
        reply = await manager.call("POST", f"/api/staff/{aino.id}/disable", headers={"Origin": "https://evil.example"})
        assert (reply.status, reply.code) == (403, "origin_not_allowed")
        assert await staff_list(manager) == before
        assert await can_log_in(live, "aino", PASSWORD)
    assert "staff account changed" not in live.log.getvalue()


async def test_who_may_do_what(live: Live) -> None:
    root = await live.add_staff("root", role=Role.ADMIN, shift=False)
    mia = await live.add_staff("mia", role=Role.MANAGER, shift=False)
    sam = await live.add_staff("sam", role=Role.MANAGER, shift=False)
    aino = await live.add_staff("aino", shift=False)
    async with Http(live) as manager, Http(live) as admin:
        await manager.login("mia")
        await admin.login("root")
        before = await staff_list(manager)
        # Managers never grant admin, nor touch an admin account.
        refused = [
            ("POST", "/api/staff", {"username": "boss", "alias": "Boss", "role": "admin"}),
            ("PATCH", f"/api/staff/{aino.id}", {"role": "admin"}),
            ("PATCH", f"/api/staff/{root.id}", {"alias": "Root"}),
            ("POST", f"/api/staff/{root.id}/disable", None),
            ("POST", f"/api/staff/{root.id}/enable", None),
            ("POST", f"/api/staff/{root.id}/password", None),
        ]
        for method, path, body in refused:
            reply = await manager.call(method, path, *(() if body is None else (body,)))
            assert (reply.status, reply.code) == (403, "forbidden"), (method, path)
        # Nobody disables, demotes or resets themselves.
        for http, me in ((manager, mia), (admin, root)):
            for method, path, body in [
                ("POST", f"/api/staff/{me.id}/disable", None),
                ("POST", f"/api/staff/{me.id}/password", None),
                ("PATCH", f"/api/staff/{me.id}", {"role": "staff"}),
            ]:
                reply = await http.call(method, path, *(() if body is None else (body,)))
                assert (reply.status, reply.code) == (409, "own_account"), (me.username, method, path)
        assert await staff_list(manager) == before
        # ... but may change their own alias and languages (and "change" to the same role).
        reply = await manager.call(
            "PATCH", f"/api/staff/{mia.id}", {"alias": "Mia M", "languages": ["fi"], "role": "manager"}
        )
        assert reply.status == 200 and reply.body["staff"]["alias"] == "Mia M"
        # Managers change other managers.
        reply = await manager.call("PATCH", f"/api/staff/{sam.id}", {"role": "staff"})
        assert reply.status == 200 and reply.body["staff"]["role"] == "staff"
        # Admins grant admin and change admins.
        reply = await admin.call("PATCH", f"/api/staff/{aino.id}", {"role": "admin"})
        assert reply.status == 200 and reply.body["staff"]["role"] == "admin"
        reply = await admin.call("POST", "/api/staff", {"username": "ops", "alias": "Ops", "role": "admin"})
        assert reply.status == 201 and reply.body["staff"]["role"] == "admin"
        reply = await admin.call("POST", f"/api/staff/{aino.id}/disable")
        assert reply.status == 200 and reply.body["staff"]["disabled"] is True
        # A manager demoted to staff loses the pages and the API at their next request.
        reply = await admin.call("PATCH", f"/api/staff/{mia.id}", {"role": "staff"})
        assert reply.status == 200
        assert (await manager.get("/api/staff")).code == "forbidden"
        assert (await manager.get("/staff/")).status == 403


async def test_the_last_enabled_admin_stays(live: Live) -> None:
    root = await live.add_staff("root", role=Role.ADMIN, shift=False)
    other = await live.add_staff("other", role=Role.ADMIN, shift=False)
    repo = live.app[staff_key]
    async with Http(live) as admin:
        await admin.login("root")
        # Two admins: one may disable the other; then root is the last one.
        assert (await admin.call("POST", f"/api/staff/{other.id}/disable")).status == 200
        # The rule holds below the API too (the command line uses the same repository).
        with pytest.raises(LastAdmin):
            await repo.set_disabled("root", True)
        with pytest.raises(LastAdmin):
            await repo.update(root.id, role=Role.MANAGER)
        assert (await repo.get(root.id)).role is Role.ADMIN  # type: ignore[union-attr]
        assert not (await repo.get(root.id)).disabled  # type: ignore[union-attr]
        # A disabled admin does not count, and may be demoted freely.
        reply = await admin.call("PATCH", f"/api/staff/{other.id}", {"role": "manager"})
        assert reply.status == 200 and reply.body["staff"]["role"] == "manager"
        # With another enabled admin, root may be demoted (by that admin).
        reply = await admin.call("PATCH", f"/api/staff/{other.id}", {"role": "admin"})
        assert reply.status == 200
        assert (await admin.call("POST", f"/api/staff/{other.id}/enable")).status == 200
        await repo.update(root.id, role=Role.MANAGER)
        with pytest.raises(LastAdmin):
            await repo.set_disabled("other", True)


async def test_disabling_a_connected_member_disconnects_and_requeues(live: Live) -> None:
    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    aino = await live.add_staff("aino", max_chats=2)
    staff = await live.staff("aino")
    record_event(staff, "disconnect")
    visitor = await live.visitor()
    assert (await visitor.start())["chat"]["state"] == "active"
    await staff.wait_for("chat:assigned")
    assert [c.staff_id for c in await live.service.store.chats_of_staff(aino.id)] == [aino.id]
    async with Http(live) as manager:
        await manager.login("mia")
        reply = await manager.call("POST", f"/api/staff/{aino.id}/disable")
        assert reply.status == 200, reply.text
    # The socket is closed by the server, and the visitor is back at the front of the queue at once.
    await staff.wait_for("disconnect")
    assert not staff.sio.connected
    told = await visitor.wait_for("chat:state", lambda d: d["state"] == "waiting")
    assert told["reason"] == "staff_disconnected" and told["position"] == 1
    assert [c.chat_id for c in await live.service.store.queue()] == [visitor.chat_id]
    presence = next(p for p in await live.service.store.presences() if p.staff_id == aino.id)
    assert presence.available is False and presence.sockets == 0
    # The same cookie cannot open a socket again.
    from tests.support.clients import StaffMember

    again = StaffMember(live.url, None)
    again.headers = dict(staff.headers)
    with pytest.raises(Exception):  # noqa: B017 - socketio.exceptions.ConnectionError
        await again.connect()
    assert again.received["connect_error"] or not again.sio.connected


async def test_disabling_disconnects_the_members_socket_on_another_worker(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """Two workers share Redis and PostgreSQL; the disable request reaches one, the socket is on the other."""
    from tests.support.clients import StaffMember, login
    from tests.support.live import start_live, stop_live
    from tests.support.postgres import pg_database

    chat = {"store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix}
    async with pg_database() as pg_url:
        first = await start_live(tmp_path / "a", database={"url": pg_url}, chat=chat)
        second = await start_live(tmp_path / "b", database={"url": pg_url}, chat=chat)
        try:
            await first.add_staff("mia", role=Role.MANAGER, shift=False)
            aino = await first.add_staff("aino")
            # Each worker listens from start-up, not from its first socket (python-socketio's default):
            # a broadcast meant for the socket about to connect is not missed.
            from chat_server.keys import sio_key
            assert second.app[sio_key].manager.subscribed.is_set()
            other = StaffMember(second.url, await login(second.url, "aino", PASSWORD))
            record_event(other, "disconnect")
            await other.connect()
            second.clients.append(other)
            assert (await other.call("staff:sync", {}))["ok"]
            async with Http(first) as manager:
                await manager.login("mia")
                reply = await manager.call("POST", f"/api/staff/{aino.id}/disable")
                assert reply.status == 200, reply.text
            await other.wait_for("disconnect")
            assert not other.sio.connected
        finally:
            await stop_live(second)
            await stop_live(first)


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(live: Live) -> None:
    import asyncio

    repo = live.app[staff_key]
    first = await live.add_staff("root", role=Role.ADMIN, shift=False)
    second = await live.add_staff("ops", role=Role.ADMIN, shift=False)
    results = await asyncio.gather(
        repo.update(first.id, role=Role.MANAGER), repo.update(second.id, role=Role.MANAGER), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], LastAdmin), results
    admins = [a for a in await repo.list() if a.role is Role.ADMIN and not a.disabled]
    assert len(admins) == 1
    # The same for disabling each other.
    await repo.update(first.id, role=Role.ADMIN)
    await repo.update(second.id, role=Role.ADMIN)
    results = await asyncio.gather(
        repo.set_disabled("root", True), repo.set_disabled("ops", True), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], LastAdmin), results
    admins = [a for a in await repo.list() if a.role is Role.ADMIN and not a.disabled]
    assert len(admins) == 1


async def test_a_new_max_chats_and_alias_apply_to_a_connected_member_at_once(live: Live) -> None:
    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    aino = await live.add_staff("aino", alias="Aino", max_chats=1)
    staff = await live.staff("aino")
    first, second = await live.visitor(), await live.visitor()
    assert (await first.start())["chat"]["state"] == "active"
    assert (await second.start())["chat"]["state"] == "waiting"
    async with Http(live) as manager:
        await manager.login("mia")
        reply = await manager.call("PATCH", f"/api/staff/{aino.id}", {"max_chats": 2, "alias": "Ada"})
        assert reply.status == 200, reply.text
    state = await second.wait_for("chat:state", lambda d: d["state"] == "active")
    assert state["staff_alias"] == "Ada"
    presence = next(p for p in await live.service.store.presences() if p.staff_id == aino.id)
    assert (presence.alias, presence.max_chats, presence.sockets, presence.available) == ("Ada", 2, 1, True)
    assert staff.sio.connected
