"""Login, logout, me, role checks, cookie flags and the public endpoints."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from chat_server.accounts import Role
from tests.support.live import PASSWORD, Live, start_live, stop_live


def session() -> aiohttp.ClientSession:
    # The default jar refuses cookies for IP addresses such as 127.0.0.1.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def post(http: aiohttp.ClientSession, url: str, body: object, **kw: object) -> aiohttp.ClientResponse:
    response = await http.post(url, json=body, **kw)
    await response.read()  # releases the connection; .json() still works
    return response


async def test_login_me_logout(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    async with session() as http:
        r = await post(http, f"{live.url}/api/auth/login", {"username": "aino", "password": PASSWORD})
        assert r.status == 200
        body = await r.json()
        assert body["staff"]["username"] == "aino" and body["staff"]["alias"] == "Aino"
        assert "password_hash" not in body["staff"]
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        me = await http.get(f"{live.url}/api/auth/me")
        assert me.status == 200 and (await me.json())["staff"]["role"] == "staff"
        # Login and me answer the same CSRF token; logging out a live session needs it.
        assert (await me.json())["csrf_token"] == body["csrf_token"]
        async with http.post(f"{live.url}/api/auth/logout") as refused:
            assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf_failed"
        async with http.post(f"{live.url}/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]}) as out:
            assert out.status == 200
        # The session is revoked server-side, not just forgotten by the client.
        token = r.cookies["dutychat_session"].value
        replay = await http.get(f"{live.url}/api/auth/me", headers={"Cookie": f"dutychat_session={token}"})
        assert replay.status == 401
        assert (await replay.json())["error"]["code"] == "unauthenticated"


async def test_cookie_is_secure_behind_https(tmp_path) -> None:  # type: ignore[no-untyped-def]
    live = await start_live(tmp_path, server={"public_url": "https://chat.example.org"})
    try:
        await live.add_staff("aino")
        async with session() as http:
            r = await post(http, f"{live.url}/api/auth/login", {"username": "aino", "password": PASSWORD})
            assert "Secure" in r.headers["Set-Cookie"]
            # The __Host- prefix: Secure, Path=/ and no Domain, so no sibling host can set or shadow it.
            cookie = r.headers["Set-Cookie"]
            assert cookie.startswith("__Host-dutychat_session=") and "Path=/" in cookie and "Domain" not in cookie
    finally:
        await stop_live(live)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "aino", "password": "wrong password"}, 401, "invalid_credentials"),
        ({"username": "nobody", "password": PASSWORD}, 401, "invalid_credentials"),
        ({"username": "aino"}, 400, "invalid_request"),
        ({"username": "aino", "password": PASSWORD, "role": "admin"}, 400, "invalid_request"),
        (["aino", PASSWORD], 400, "invalid_request"),
        ({"username": 1, "password": PASSWORD}, 400, "invalid_request"),
    ],
)
async def test_bad_logins(live: Live, body: object, status: int, code: str) -> None:
    await live.add_staff("aino")
    async with session() as http:
        r = await post(http, f"{live.url}/api/auth/login", body)
        assert r.status == status
        assert (await r.json())["error"]["code"] == code
        assert "dutychat_session" not in r.cookies


async def test_non_json_login_and_foreign_origin(live: Live) -> None:
    await live.add_staff("aino")
    async with session() as http:
        r = await http.post(f"{live.url}/api/auth/login", data="username=aino")
        assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_request"
        r = await post(http, f"{live.url}/api/auth/login", {"username": "aino", "password": PASSWORD},
                       headers={"Origin": "https://evil.example"})
        assert r.status == 403 and (await r.json())["error"]["code"] == "origin_not_allowed"
        # The refusal names the setting that decides, on the page and in the log (never the sent origin).
        message = (await r.json())["error"]["message"]
        assert "server.public_url" in message and live.settings.server.public_origin in message, message
        assert "evil.example" not in message
        assert "server.public_url" in live.log.getvalue()


async def test_disabled_account_cannot_log_in_and_loses_sessions(live: Live) -> None:
    await live.add_staff("aino")
    async with session() as http:
        r = await post(http, f"{live.url}/api/auth/login", {"username": "aino", "password": PASSWORD})
        assert r.status == 200
        from chat_server.keys import staff_key

        await live.app[staff_key].set_disabled("aino", True)
        async with http.get(f"{live.url}/api/auth/me") as me:
            assert me.status == 401
        r = await post(http, f"{live.url}/api/auth/login", {"username": "aino", "password": PASSWORD})
        assert r.status == 401


async def test_reports_need_manager_role(live: Live) -> None:
    await live.add_staff("aino")
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    url = f"{live.url}/api/reports/summary?from=2026-01-01&to=2026-12-31"
    async with session() as anonymous:
        r = await anonymous.get(url)
        assert r.status == 401 and (await r.json())["error"]["code"] == "unauthenticated"
    async with session() as staff:
        await post(staff, f"{live.url}/api/auth/login", {"username": "aino", "password": PASSWORD})
        r = await staff.get(url)
        assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
    async with session() as boss:
        await post(boss, f"{live.url}/api/auth/login", {"username": "boss", "password": PASSWORD})
        r = await boss.get(url)
        assert r.status == 200
        body = await r.json()
        assert body["total"] == 0
        assert body["by_outcome"] == dict.fromkeys(("answered", "abandoned", "unanswered", "closed", "blocked"), 0)
        for bad in ("from=2026-13-01&to=2026-12-31", "from=2026-02-01&to=2026-01-01", "to=2026-01-01", "from=x&to=y"):
            r = await boss.get(f"{live.url}/api/reports/summary?{bad}")
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_request", bad


async def test_report_counts_by_local_date(live: Live) -> None:
    """A chat late on a local day belongs to that local day, whatever UTC says."""
    from datetime import UTC, date, datetime

    from chat_server.chat.models import Outcome, SessionRecord
    from chat_server.keys import records_key

    zone = live.settings.organisation.zone
    records = live.app[records_key]
    late = datetime(2026, 11, 30, 23, 30, tzinfo=zone)  # 21:30 UTC
    early = datetime(2026, 12, 1, 0, 15, tzinfo=zone)  # 22:15 UTC on Nov 30
    for i, (when, outcome, topics) in enumerate(
        [
            (late, Outcome.ANSWERED, ("health.mental",)),
            (early, Outcome.CLOSED, ()),
            (late, Outcome.ANSWERED, ("health.mental", "life.housing")),
        ]
    ):
        await records.write(SessionRecord(f"{i:032d}", when.astimezone(UTC), 5, 60, outcome, "fi", 2, 3, None, topics))
    november = await records.summary(date(2026, 11, 1), date(2026, 11, 30), zone)
    assert november["by_outcome"]["answered"] == 2 and november["total"] == 2
    assert november["by_topic"] == {"health.mental": 2, "life.housing": 1}
    december = await records.summary(date(2026, 12, 1), date(2026, 12, 31), zone)
    assert december["total"] == 1 and december["by_outcome"]["closed"] == 1
    # Writing the same row again is a no-op: exactly one row per chat.
    again = SessionRecord(
        f"{0:032d}", late.astimezone(UTC), 5, 60, Outcome.ANSWERED, "fi", 2, 3, None, ("health.mental",)
    )
    assert await records.write(again) is False
    assert (await records.summary(date(2026, 11, 1), date(2026, 11, 30), zone))["total"] == 2


async def test_status_topics_health_openapi(live: Live) -> None:
    account = await live.add_staff("aino", shift=False)
    start = live.clock.now() + timedelta(hours=3)
    await live.add_shift(account.id, start, start + timedelta(hours=2))
    async with session() as http:
        status = await (await http.get(f"{live.url}/api/status")).json()
        assert status["open"] is False
        assert status["next_opening"] == start.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        assert status["languages"] == ["fi", "sv", "en", "ru", "th", "es", "et"]
        assert status["link_allowlist"] == ["127.0.0.1"]  # the public URL's host, always allowed
        assert status["max_message_length"] == 2000
        topics = await (await http.get(f"{live.url}/api/topics?lang=fi")).json()
        health = topics["groups"][0]
        assert health["code"] == "health" and health["label"] == "Terveys"
        async with http.get(f"{live.url}/healthz") as health:
            assert health.status == 200
        doc = await (await http.get(f"{live.url}/api/openapi.json")).json()
        assert doc["openapi"].startswith("3.1")
        r = await http.get(f"{live.url}/api/nothing-here")
        assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
        async with http.get(f"{live.url}/console/") as page:
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


async def test_openapi_documents_every_api_route(live: Live) -> None:
    from chat_server.web.routes import openapi_document

    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in live.app.router.routes()
        if r.resource is not None
        and (r.resource.canonical.startswith(("/api/", "/ical/")) or r.resource.canonical in ("/healthz", "/metrics"))
        and r.method != "HEAD"
    }
    documented = {(m, p) for p, ops in openapi_document()["paths"].items() for m in ops}
    assert routes == documented


def test_protocol_doc_lists_every_error_code() -> None:
    from pathlib import Path

    from chat_server import errors

    doc = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
    codes = [v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)]
    missing = [c for c in codes if f"| `{c}` |" not in doc]
    assert not missing, missing
