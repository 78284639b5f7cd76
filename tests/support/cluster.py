"""Real worker clusters for tests: `dutychat run --workers 2` on Redis and PostgreSQL, staff, clients, rows.

Shared by the multi-worker, access and Sentinel tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.clients import StaffMember, Visitor, login
from tests.support.processes import WorkersProcess, clean_env, dutychat

PASSWORD = "a long enough password"
TOPIC = "health.sti_testing"
RESUME_WITHIN_SECONDS = 5.0




def cluster_env(redis_url: str, redis_prefix: str, pg_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        DUTYCHAT_CHAT__STORE="redis",
        DUTYCHAT_CHAT__REDIS_URL=redis_url,
        DUTYCHAT_CHAT__REDIS_KEY_PREFIX=redis_prefix,
        DUTYCHAT_DATABASE__URL=pg_url,
        # Tests send quickly; the rate limit has its own test.
        DUTYCHAT_LIMITS__EVENTS_PER_SECOND="1000",
        DUTYCHAT_LIMITS__EVENT_BURST="1000",
        # Every client comes from loopback: the per-address flood limits have their own tests.
        DUTYCHAT_LIMITS__SOCKETS_PER_ADDRESS="1000",
        DUTYCHAT_LIMITS__LIVE_CHATS_PER_ADDRESS="1000",
        DUTYCHAT_LIMITS__CHAT_STARTS_PER_ADDRESS="1000",
        DUTYCHAT_SERVER__SHUTDOWN_TIMEOUT_SECONDS="5",
        DUTYCHAT_LOGGING__LEVEL="INFO",
        **extra,
    )


async def add_staff(
    data_dir: Path, env: dict[str, str], username: str, alias: str, max_chats: int, languages: str = "fi,en"
) -> None:
    await asyncio.to_thread(
        dutychat, "staff", "add", username, "--alias", alias, "--max-chats", str(max_chats), "--languages", languages,
        "--password-stdin", data_dir=data_dir, stdin=PASSWORD + "\n", env=env,
    )
    await asyncio.to_thread(
        dutychat, "shift", "add", username, "--start", "2000-01-01T00:00", "--end", "2100-01-01T00:00",
        data_dir=data_dir, env=env,
    )


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str,
    staff: tuple[tuple[str, str, int], ...] = (("aino", "Aino", 3),), **extra_env: str,
) -> AsyncIterator[WorkersProcess]:
    """Staff and shifts in PostgreSQL, then `dutychat run --workers 2`; stopped afterwards whatever happens.

    A staff entry may name its languages as a fourth item ("th,en"); fi,en otherwise.
    """
    data_dir = tmp_path / "data"
    env = cluster_env(redis_url, redis_prefix, pg_url, **extra_env)
    for username, alias, max_chats, *languages in staff:
        await add_staff(data_dir, env, username, alias, max_chats, *languages)
    workers = WorkersProcess(data_dir, tmp_path / "workers.log", 2, env=env)
    try:
        await workers.wait_ready(45)
        yield workers
    finally:
        workers.stop(signal.SIGTERM, 30)


async def staff_on(url: str, username: str = "aino", check_in: bool = True) -> StaffMember:
    cookie = await login(url, username, PASSWORD)
    member = StaffMember(url, cookie)
    await member.connect()
    if check_in:
        await member.check_in()
    return member


async def visitor_on(url: str) -> Visitor:
    visitor = Visitor(url)
    await visitor.connect()
    return visitor


async def disconnect_all(*clients: Any) -> None:
    for client in clients:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()


async def session_rows(pg_url: str) -> list[dict[str, Any]]:
    """Every chat_sessions row with its topics (sorted)."""
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "select id, outcome, visitor_messages, staff_messages from chat_sessions order by id"
        )
        topics = await conn.fetch("select session_id, topic_code from session_topics")
    finally:
        await conn.close()
    by_session: dict[str, list[str]] = {}
    for t in topics:
        by_session.setdefault(t["session_id"], []).append(t["topic_code"])
    return [dict(r) | {"topics": sorted(by_session.get(r["id"], []))} for r in rows]


async def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:  # noqa: ASYNC109 - each caller sets the deadline of this polling loop
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


def log_records(output: str) -> list[dict[str, Any]]:
    records = []
    for line in output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    return records
