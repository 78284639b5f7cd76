"""No input makes the HTTP API answer 5xx: a bounded schemathesis run over the generated OpenAPI document.

A real `dutychat run` (SQLite) in a subprocess, fuzzed anonymously and as a
manager (session cookie and CSRF token), with the `not_a_server_error` check
only: refusals are fine, a 500 is not. Offline, seeded and bounded (a few
examples per operation) so that it stays well under a minute. Logout is left
out of the manager run, since it would end the session being fuzzed with.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.support.processes import ServerProcess, clean_env, dutychat

PASSWORD = "a long enough password"
ST = Path(sys.executable).parent / "st"
EXAMPLES = "5"


def schemathesis(url: str, artifacts: Path, *options: str) -> subprocess.CompletedProcess[str]:
    artifacts.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(ST), "run", f"{url}/api/openapi.json", "--checks", "not_a_server_error", "--max-examples", EXAMPLES,
         "--seed", "14", "--workers", "1", "--phases", "examples,coverage,fuzzing", "--no-shrink",
         "--generation-database", "none", "--request-timeout", "10", "--no-color",
         "--report", "junit", "--report-dir", str(artifacts), *options],
        # cwd: schemathesis keeps a cache of its own in the working directory.
        capture_output=True, text=True, cwd=artifacts, timeout=120, env=clean_env(SCHEMATHESIS_HOOKS=""),
    )


@pytest.mark.timeout(300)
async def test_schemathesis_finds_no_server_error_anonymous_or_as_manager(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = clean_env(DUTYCHAT_LOGGING__LEVEL="INFO")
    await asyncio.to_thread(
        dutychat, "staff", "add", "mia", "--alias", "Mia", "--role", "manager", "--password-stdin",
        data_dir=data_dir, stdin=PASSWORD + "\n", env=env,
    )
    await asyncio.to_thread(
        dutychat, "staff", "add", "aino", "--alias", "Aino", "--password-stdin",
        data_dir=data_dir, stdin=PASSWORD + "\n", env=env,
    )
    server = ServerProcess(data_dir, tmp_path / "server.log", env=env)
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/api/auth/login", json={"username": "mia", "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
                cookie, csrf = r.cookies["dutychat_session"].value, (await r.json())["csrf_token"]
        runs = {
            "anonymous": schemathesis(server.url, tmp_path / "anonymous"),
            "manager": schemathesis(
                server.url, tmp_path / "manager", "-H", f"Cookie: dutychat_session={cookie}",
                "-H", f"X-CSRF-Token: {csrf}", "--exclude-path", "/api/auth/logout",
            ),
        }
        for name, run in runs.items():
            assert run.returncode == 0, f"{name}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
        # The manager's session lived through the whole run (so the run really was authenticated).
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/auth/me", headers={"Cookie": f"dutychat_session={cookie}"}) as r:
                assert r.status == 200
    finally:
        server.stop()
    assert "request failed" not in server.output()


# What the issue's probe found, pinned: each is a 4xx, never a 500.
EXTREMES = [
    ("GET", "/api/reports?from=9999-12-31&to=9999-12-31&compare=previous"),
    ("GET", "/api/reports?from=0001-01-01&to=0001-01-01&compare=previous"),
    ("GET", "/api/reports/summary?from=0001-01-01&to=9999-12-31"),
    ("GET", "/api/reports/summary-text?from=0001-01-01&to=0001-12-31"),
    ("GET", "/api/reports/export.csv?from=9999-12-01&to=9999-12-31"),
    ("GET", "/api/roster?from=0001-01-01&to=0001-01-07"),
    ("GET", "/api/roster?from=9999-12-25&to=9999-12-31"),
    ("GET", "/api/roster/mine?from=9999-12-25&to=9999-12-31"),
    ("PATCH", "/api/staff/99999999999999999999999999"),
    ("POST", "/api/staff/9223372036854775808/disable"),
    ("DELETE", "/api/roster/slots/1/dates/9999-12-31"),
    ("PUT", "/api/roster/slots/1/dates/0001-01-01"),
    ("GET", "/api/reports/summary?from=%ED%A0%80&to=2026-01-01"),
    ("GET", "/api/roster?from=%ED%A0%80&to=%FF"),
]


async def test_extreme_dates_huge_ids_and_bad_bytes_are_refused_not_500(live) -> None:  # type: ignore[no-untyped-def]
    from chat_server.accounts import Role
    from tests.support.http import Http

    await live.add_staff("mia", role=Role.MANAGER, shift=False)
    async with Http(live) as manager:
        await manager.login("mia")
        for method, path in EXTREMES:
            reply = await manager.call(method, path, {"cancelled": True} if method in ("PUT", "PATCH") else {})
            assert 400 <= reply.status < 500, (method, path, reply.status, reply.text)
        reply = await manager.call("POST", "/api/roster/slots/1/dates/2026-01-01/staff", {"staff_id": 2**63})
        assert reply.status in (400, 404), reply.text
    assert "request failed" not in live.log.getvalue()
