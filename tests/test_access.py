"""Who reaches the staff side from where, and for how long (issue 14, items 1, 2 and 10).

Origins by purpose: the widget's host sites may use the visitor endpoints but
not the staff ones; staff writes need the session's CSRF token; a staff socket
ends with its session, whoever ended it and however.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import socketio
from sqlalchemy import delete

from chat_server import access
from chat_server.accounts import Role
from chat_server.db import AuthSession
from chat_server.keys import notifier_key, sessions_key, staff_key
from chat_server.settings import ServerSettings
from tests.support.clients import StaffMember, login, record_event
from tests.support.http import Http
from tests.support.live import PASSWORD, Live, start_live, stop_live

HOST_SITE = "https://www.example.org"
CHECK_SECONDS = 0.5


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Live]:
    """A server whose widget is embedded on HOST_SITE, re-checking sessions quickly."""
    live = await start_live(
        tmp_path, server={"allowed_origins": [HOST_SITE]}, auth={"session_check_seconds": CHECK_SECONDS}
    )
    try:
        yield live
    finally:
        await stop_live(live)


async def until_disconnected(client: StaffMember, within: float) -> float:
    """Seconds until the server closed the socket (fails after `within`)."""
    start = time.monotonic()
    await client.wait_for("disconnect", timeout=within)
    assert not client.sio.connected
    return time.monotonic() - start


async def staff_socket(live: Live, cookie: str, origin: str | None = None) -> StaffMember:
    client = StaffMember(live.url, cookie)
    if origin is not None:
        client.headers["Origin"] = origin
    record_event(client, "disconnect")
    await client.connect()
    live.clients.append(client)
    return client


# ------------------------------------------------------------------ origins by purpose


async def test_the_widget_host_site_may_use_the_visitor_side_but_not_the_staff_side(site: Live) -> None:
    await site.add_staff("aino")
    visitor = await site.visitor(origin=HOST_SITE)
    assert (await visitor.call("chat:start", {"language": "en"}))["ok"]

    cookie = await login(site.url, "aino", PASSWORD)
    refused = StaffMember(site.url, cookie)
    refused.headers["Origin"] = HOST_SITE
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect()
    assert refused.received["connect_error"][0]["data"]["code"] == "origin_not_allowed"

    own = await staff_socket(site, cookie, origin=site.settings.server.public_origin)
    assert (await own.call("staff:sync", {}))["ok"]


async def test_staff_http_accepts_only_the_own_origin_and_writes_need_the_csrf_token(site: Live) -> None:
    mia = await site.add_staff("mia", role=Role.MANAGER, shift=False)
    aino = await site.add_staff("aino")
    async with Http(site) as manager:
        await manager.login("mia")
        token = manager.csrf_token
        assert token
        # Reads from the host site: refused like writes (the cookie would be sent: same site).
        for method, path in (("GET", "/api/auth/me"), ("GET", "/api/staff"),
                             ("POST", f"/api/staff/{aino.id}/disable"), ("POST", f"/api/staff/{aino.id}/password")):
            reply = await manager.call(method, path, headers={"Origin": HOST_SITE})
            assert (reply.status, reply.code) == (403, "origin_not_allowed"), (method, path, reply.text)
        # Login from the host site is refused too (no login CSRF).
        reply = await manager.call("POST", "/api/auth/login", {"username": "mia", "password": PASSWORD},
                                   headers={"Origin": HOST_SITE})
        assert (reply.status, reply.code) == (403, "origin_not_allowed")
        # The own origin without the token, or with a wrong one: csrf_failed, nothing changed.
        for headers in ({"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": "ä" * 10}):
            reply = await manager.call("POST", f"/api/staff/{aino.id}/disable",
                                       headers={"Origin": site.settings.server.public_origin, **headers})
            assert (reply.status, reply.code) == (403, "csrf_failed"), reply.text
        manager.csrf_token = None
        reply = await manager.call("PATCH", f"/api/staff/{aino.id}", {"alias": "Changed"})
        assert (reply.status, reply.code) == (403, "csrf_failed")
        account = await site.app[staff_key].get(aino.id)
        assert account is not None and not account.disabled and account.alias == "Aino"
        # With it, from the own origin: done. GETs need no token.
        manager.csrf_token = token
        reply = await manager.call("POST", f"/api/staff/{aino.id}/disable",
                                   headers={"Origin": site.settings.server.public_origin})
        assert reply.status == 200, reply.text
        me = await manager.get("/api/auth/me")
        assert me.body["csrf_token"] == token and me.body["staff"]["id"] == mia.id
    # The visitor side still takes the host site's writes (a rating with an unknown ticket).
    async with Http(site) as anonymous:
        reply = await anonymous.call("POST", "/api/feedback", {"ticket": "x" * 32, "rating": 5},
                                     headers={"Origin": HOST_SITE})
        assert reply.code != "origin_not_allowed", reply.text


async def test_another_sessions_csrf_token_does_not_work(site: Live) -> None:
    await site.add_staff("mia", role=Role.MANAGER, shift=False)
    aino = await site.add_staff("aino")
    async with Http(site) as first, Http(site) as second:
        await first.login("mia")
        await second.login("mia")
        assert first.csrf_token != second.csrf_token
        first.csrf_token = second.csrf_token
        reply = await first.call("POST", f"/api/staff/{aino.id}/disable")
        assert (reply.status, reply.code) == (403, "csrf_failed")


async def test_the_cookie_has_the_host_prefix_behind_https_and_sockets_read_it(tmp_path: Path) -> None:
    # Plain http to a server whose public URL is https, as behind a TLS proxy.
    live = await start_live(tmp_path, server={"public_url": "https://chat.example.org"})
    try:
        await live.add_staff("aino")
        async with Http(live) as raw:
            async with raw.session.post(f"{live.url}/api/auth/login",
                                        json={"username": "aino", "password": PASSWORD}) as response:
                header = response.headers["Set-Cookie"]
        name, _, rest = header.partition("=")
        assert name == "__Host-dutychat_session", header
        assert "Secure" in rest and "Path=/" in rest and "Domain" not in rest
        token = rest.split(";", 1)[0]
        # The socket reads the prefixed cookie, and not an unprefixed one.
        good = StaffMember(live.url, None)
        good.headers["Cookie"] = f"__Host-dutychat_session={token}"
        await good.connect()
        live.clients.append(good)
        assert (await good.call("staff:sync", {}))["ok"]
        plain = StaffMember(live.url, token)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await plain.connect()
    finally:
        await stop_live(live)


# ------------------------------------------------------------------ access ends everywhere at once


async def test_logout_closes_that_sessions_sockets_at_once_and_keeps_other_sessions(site: Live) -> None:
    await site.add_staff("aino")
    async with Http(site) as phone:
        await phone.login("aino")
        phone_cookie = next(c.value for c in phone.session.cookie_jar if c.key == "dutychat_session")
        on_phone = await staff_socket(site, phone_cookie)
        on_laptop = await staff_socket(site, await login(site.url, "aino", PASSWORD))
        assert (await phone.call("POST", "/api/auth/logout")).status == 200
        assert await until_disconnected(on_phone, within=2) < 1.5
    assert on_laptop.sio.connected and (await on_laptop.call("staff:sync", {}))["ok"]
    # Connecting again with the ended session is refused.
    again = StaffMember(site.url, phone_cookie)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    assert again.received["connect_error"][0]["data"]["code"] == "unauthenticated"


async def test_a_session_deleted_by_another_process_ends_its_socket_within_the_check_interval(site: Live) -> None:
    """No notification at all (the CLI without Redis): the periodic re-check finds the session gone."""
    aino = await site.add_staff("aino")
    member = await staff_socket(site, await login(site.url, "aino", PASSWORD))
    await member.check_in()
    async with site.app[sessions_key].begin() as session:
        await session.execute(delete(AuthSession).where(AuthSession.staff_id == aino.id))
    assert await until_disconnected(member, within=CHECK_SECONDS * 4 + 2) < CHECK_SECONDS * 4 + 1


async def test_every_staff_event_rechecks_its_session(tmp_path: Path) -> None:
    # The periodic check is a minute away: only the per-event check can notice.
    live = await start_live(tmp_path, auth={"session_check_seconds": 60})
    try:
        aino = await live.add_staff("aino")
        member = await staff_socket(live, await login(live.url, "aino", PASSWORD))
        assert (await member.call("staff:sync", {}))["ok"]
        async with live.app[sessions_key].begin() as session:
            await session.execute(delete(AuthSession).where(AuthSession.staff_id == aino.id))
        # Within the cache time the event still passes (the check is cheap because it is cached)...
        assert (await member.call("staff:sync", {}))["ok"]
        # ...and once the cached answer is older than session_check_seconds, the next event asks again.
        namespace = live.app[notifier_key].staff
        assert namespace is not None
        for sid in namespace._checked:
            namespace._checked[sid] -= 61
        ack = await member.call("staff:sync", {})
        assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
        await until_disconnected(member, within=3)
    finally:
        await stop_live(live)


async def test_session_expiry_ends_the_socket(site: Live) -> None:
    await site.add_staff("aino")
    member = await staff_socket(site, await login(site.url, "aino", PASSWORD))
    site.clock.move(timedelta(hours=site.settings.auth.session_hours, seconds=1))
    await until_disconnected(member, within=CHECK_SECONDS * 4 + 2)


async def test_password_reset_and_disable_end_sockets_sessions_and_calendar_feeds(site: Live) -> None:
    await site.add_staff("mia", role=Role.MANAGER, shift=False)
    aino = await site.add_staff("aino")
    aila = await site.add_staff("aila")
    async with Http(site) as manager, Http(site) as aino_http, Http(site) as aila_http:
        await manager.login("mia")
        await aino_http.login("aino")
        await aila_http.login("aila")
        feeds = {}
        for name, http in (("aino", aino_http), ("aila", aila_http)):
            feeds[name] = (await http.call("POST", "/api/roster/calendar", {})).body["url"]
            assert (await http.get(feeds[name])).status == 200
        aino_socket = await staff_socket(site, await login(site.url, "aino", PASSWORD))
        aila_socket = await staff_socket(site, await login(site.url, "aila", PASSWORD))
        assert (await manager.call("POST", f"/api/staff/{aino.id}/password")).status == 200
        assert (await manager.call("POST", f"/api/staff/{aila.id}/disable")).status == 200
        await until_disconnected(aino_socket, within=2)
        await until_disconnected(aila_socket, within=2)
        for name, http in (("aino", aino_http), ("aila", aila_http)):
            assert (await http.get("/api/auth/me")).status == 401
            assert (await http.get(feeds[name])).status == 404, name


# ------------------------------------------------------------------ small fixes


@pytest.mark.parametrize("bad", ["Ai\r\nno", "Ai\nno", "Aino\x00", "Ai\tno", "Aino\u202e", "\x1b[31mAino"])
async def test_control_characters_are_refused_in_alias_and_display_name(live: Live, bad: str) -> None:
    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    aino = await live.add_staff("aino")
    async with Http(live) as manager:
        await manager.login("mia")
        for body in ({"alias": bad}, {"display_name": bad}):
            reply = await manager.call("PATCH", f"/api/staff/{aino.id}", body)
            assert (reply.status, reply.code) == (400, "invalid_request"), (body, reply.text)
            reply = await manager.call("POST", "/api/staff", {"username": "new", "alias": "New", **body})
            assert (reply.status, reply.code) == (400, "invalid_request"), (body, reply.text)
        # Joiners in an emoji sequence are fine.
        reply = await manager.call("PATCH", f"/api/staff/{aino.id}", {"display_name": "Aino \U0001f469\u200d\u2695"})
        assert reply.status == 200, reply.text
    account = await live.app[staff_key].get(aino.id)
    assert account is not None and account.alias == "Aino"


@pytest.mark.parametrize("field", ["username", "password"])
async def test_a_lone_surrogate_in_the_login_is_a_bad_request(live: Live, field: str) -> None:
    await live.add_staff("aino")
    body = {"username": "aino", "password": PASSWORD, field: "ai\ud800no"}
    async with Http(live) as http:
        async with http.session.post(f"{live.url}/api/auth/login", data=_json_with_escapes(body),
                                     headers={"Content-Type": "application/json"}) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "invalid_request"


def _json_with_escapes(body: dict[str, str]) -> bytes:
    import json

    # ensure_ascii spells the surrogate as \ud800, as an attacker's client would.
    return json.dumps(body, ensure_ascii=True).encode()


# ------------------------------------------------------------------ refusals do not flood the log


def test_wrong_origin_refusals_are_logged_once_a_minute_with_the_count_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    throttle = access.LogThrottle(access.ORIGIN_LOG_SECONDS, clock=lambda: now[0])
    server = ServerSettings(public_url="https://chat.example.org")
    caplog.set_level(logging.WARNING, logger=access.__name__)

    for _ in range(500):
        access.log_wrong_origin(server, throttle)
    lines = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "staff.origin_refused"]
    assert len(lines) == 1 and "more refused" not in lines[0] and "https://chat.example.org" in lines[0]

    now[0] += access.ORIGIN_LOG_SECONDS - 1
    access.log_wrong_origin(server, throttle)
    now[0] += 1
    access.log_wrong_origin(server, throttle)
    lines = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "staff.origin_refused"]
    assert len(lines) == 2 and lines[1].endswith("; 500 more refused since the last such line"), lines
    # Each service has its own: another one's first refusal is logged.
    access.log_wrong_origin(server, access.LogThrottle(access.ORIGIN_LOG_SECONDS, clock=lambda: now[0]))
    assert len([r for r in caplog.records if getattr(r, "event", None) == "staff.origin_refused"]) == 3
