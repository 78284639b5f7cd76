"""Taking access away ends a live staff socket on another worker (real processes, Redis, PostgreSQL).

`dutychat run --workers 2`: the socket is on one worker, the logout request
reaches the other, and `dutychat staff disable` / `reset-password` run as
separate processes with no HTTP at all.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import socketio

from tests.support.clients import StaffMember, record_event
from tests.support.cluster import PASSWORD, cluster, cluster_env, disconnect_all
from tests.support.processes import dutychat

# Default auth.session_check_seconds is 5; over Redis the CLI closes the sockets at once anyway.
WITHIN_SECONDS = 7.0


async def login_on(url: str, username: str) -> tuple[str, str]:
    """Log in on one worker; return (session cookie, CSRF token)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/auth/login", json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            return r.cookies["dutychat_session"].value, (await r.json())["csrf_token"]


async def socket_on(url: str, cookie: str) -> StaffMember:
    member = StaffMember(url, cookie)
    record_event(member, "disconnect")
    await member.connect()
    assert (await member.call("staff:sync", {}))["ok"]
    return member


async def closed_within(member: StaffMember, seconds: float) -> float:
    start = time.monotonic()
    await member.wait_for("disconnect", timeout=seconds)
    assert not member.sio.connected
    return time.monotonic() - start


async def test_cli_disable_and_reset_and_http_logout_end_sockets_on_another_worker(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    staff = (("aino", "Aino", 3), ("aila", "Aila", 3), ("mia", "Mia", 3))
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=staff) as workers:
        url_a, url_b = workers.urls
        env = cluster_env(redis_url, redis_prefix, pg_url)
        members: list[StaffMember] = []
        try:
            # HTTP logout on worker A; the socket is on worker B.
            cookie, csrf = await login_on(url_a, "mia")
            mia = await socket_on(url_b, cookie)
            members.append(mia)
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{url_a}/api/auth/logout", headers={
                    "Cookie": f"dutychat_session={cookie}", "X-CSRF-Token": csrf,
                }) as r:
                    assert r.status == 200, await r.text()
            assert await closed_within(mia, 3) < 3

            # The CLI, another process: disable, then reset a password.
            aino_cookie, aila_cookie = (await login_on(url_a, "aino"))[0], (await login_on(url_b, "aila"))[0]
            aino = await socket_on(url_b, aino_cookie)
            aila = await socket_on(url_a, aila_cookie)
            members += [aino, aila]
            await asyncio.to_thread(dutychat, "staff", "disable", "aino", data_dir=tmp_path / "data", env=env)
            assert await closed_within(aino, WITHIN_SECONDS) < WITHIN_SECONDS
            await asyncio.to_thread(
                dutychat, "staff", "reset-password", "aila", "--password-stdin", data_dir=tmp_path / "data",
                stdin="another long enough password\n", env=env,
            )
            assert await closed_within(aila, WITHIN_SECONDS) < WITHIN_SECONDS

            # No ended session comes back, on either worker.
            for url in (url_a, url_b):
                for old in (cookie, aino_cookie, aila_cookie):
                    again = StaffMember(url, old)
                    try:
                        await again.connect()
                    except socketio.exceptions.ConnectionError:
                        pass
                    assert again.received["connect_error"][-1]["data"]["code"] == "unauthenticated"
                    await again.disconnect()
        finally:
            await disconnect_all(*members)
