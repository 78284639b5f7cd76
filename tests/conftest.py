"""Fixtures: a real dutychat server on a loopback port, staff and shifts in its database."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from chat_server.accounts import Role, StaffAccount
from chat_server.app import create_app
from chat_server.chat.service import ChatService
from chat_server.clock import MovableClock
from chat_server.keys import records_key, roster_key, service_key, sessions_key, shifts_key, staff_key
from chat_server.privacy import AccessLogger, configure_logging
from chat_server.settings import Settings, load_settings
from tests.clients import StaffMember, Visitor, login
from tests.processes import free_port

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def make_settings(data_dir: Path, **sections: dict[str, Any]) -> Settings:
    """Test settings: defaults, no environment, a fixed secret, a private data dir."""
    base: dict[str, Any] = {
        "server": {"data_dir": str(data_dir), "public_url": "http://127.0.0.1:8080"},
        "auth": {"secret_key": "test-secret-" + "x" * 40},
        "logging": {"level": "DEBUG"},
        # Tests send quickly; the rate limit has its own test.
        "limits": {"events_per_second": 1000.0, "event_burst": 1000},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return load_settings(overrides=base, use_env=False)


@dataclass
class Live:
    """A running server and what tests need to drive it."""

    server: TestServer
    clock: MovableClock
    settings: Settings
    log: io.StringIO
    clients: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def app(self):  # type: ignore[no-untyped-def]
        return self.server.app

    @property
    def service(self) -> ChatService:
        return self.app[service_key]

    async def add_staff(
        self, username: str, *, alias: str | None = None, role: Role = Role.STAFF, max_chats: int = 3,
        shift: bool = True, languages: tuple[str, ...] = ("fi", "en"),
    ) -> StaffAccount:
        account = await self.app[staff_key].add(
            username, PASSWORD, display_name=f"Real Name {username}", alias=alias or username.title(),
            role=role, languages=languages, max_chats=max_chats, now=self.clock.now(),
        )
        if shift:
            await self.add_shift(account.id, self.clock.now() - timedelta(hours=1), self.clock.now() + timedelta(hours=4))
        return account

    async def add_shift(self, staff_id: int, start: datetime, end: datetime) -> None:
        await self.app[shifts_key].add(staff_id, start, end)
        self.app[roster_key].invalidate()

    async def visitor(self, origin: str | None = None, **options: Any) -> Visitor:
        client = Visitor(self.url, origin, **options)
        await client.connect()
        self.clients.append(client)
        return client

    async def staff(self, username: str, check_in: bool = True) -> StaffMember:
        cookie = await login(self.url, username, PASSWORD)
        client = StaffMember(self.url, cookie)
        await client.connect()
        self.clients.append(client)
        if check_in:
            await client.check_in()
        return client

    async def summary(self) -> dict[str, Any]:
        today = self.clock.now().astimezone(self.settings.organisation.zone).date()
        return await self.app[records_key].summary(
            today - timedelta(days=1), today + timedelta(days=1), self.settings.organisation.zone
        )

    async def session_rows(self) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from chat_server.db import ChatSessionRow, SessionTopic

        async with self.app[sessions_key]() as session:
            rows = (await session.scalars(select(ChatSessionRow))).all()
            topics = (await session.scalars(select(SessionTopic))).all()
        by_session: dict[str, list[str]] = {}
        for t in topics:
            by_session.setdefault(t.session_id, []).append(t.topic_code)
        return [
            {c.name: getattr(r, c.name) for c in ChatSessionRow.__table__.columns}
            | {"topics": sorted(by_session.get(r.id, []))}
            for r in rows
        ]


async def start_live(tmp_path: Path, **sections: dict[str, Any]) -> Live:
    """Start dutychat in this process on a free loopback port (its public URL)."""
    port = free_port()
    server_section = {"public_url": f"http://127.0.0.1:{port}", **sections.pop("server", {})}
    settings = make_settings(tmp_path / "data", server=server_section, **sections)
    log = io.StringIO()
    configure_logging(settings.logging, stream=log)
    clock = MovableClock()
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1", port=port)
    await server.start_server(access_log=logging.getLogger("dutychat.access"), access_log_class=AccessLogger)
    return Live(server, clock, settings, log)


async def stop_live(live: Live) -> None:
    for client in live.clients:
        await client.disconnect()
    await live.server.close()
    logging.getLogger().handlers.clear()


@pytest.fixture(params=["sqlite", "postgresql"])
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    """A live server on SQLite, and again on PostgreSQL: every live test runs on both."""
    async with contextlib.AsyncExitStack() as stack:
        sections: dict[str, Any] = {}
        if request.param == "postgresql":
            sections["database"] = {"url": await stack.enter_async_context(pg_database())}
        server = await start_live(tmp_path, **sections)
        try:
            yield server
        finally:
            await stop_live(server)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


async def settle(seconds: float = 0.1) -> None:
    await asyncio.sleep(seconds)


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- Redis: the real server on 127.0.0.1:6379 when it answers, else a throwaway one ---

REDIS_SERVER_BIN = Path("/usr/bin/redis-server")
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RedisServer:
    """A throwaway redis-server process on a free loopback port."""

    proc: "subprocess.Popen[bytes]"
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def start_redis_server(directory: Path, *args: str) -> RedisServer:
    """Start redis-server with its working directory (any dump file) in `directory`."""
    if not REDIS_SERVER_BIN.exists():
        pytest.fail(f"{REDIS_SERVER_BIN} is missing: install Debian's redis-server to run the Redis tests")
    port = free_port()
    proc = subprocess.Popen(
        [str(REDIS_SERVER_BIN), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = RedisServer(proc, port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"redis-server {' '.join(args)} exited with {proc.returncode}")
        if _redis_answers(server.url):
            return server
        time.sleep(0.05)
    server.stop()
    pytest.fail("redis-server did not answer PING within 10 seconds")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis URL for tests: the local server if it answers, else a throwaway non-persisting one."""
    if _redis_answers(LOCAL_REDIS_URL):
        yield LOCAL_REDIS_URL
        return
    server = start_redis_server(tmp_path_factory.mktemp("redis"), "--save", "", "--appendonly", "no")
    try:
        yield server.url
    finally:
        server.stop()


def redis_keys(url: str, prefix: str) -> dict[str, int]:
    """Every key under a prefix with its TTL in seconds (-1: none)."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {key: client.ttl(key) for key in client.scan_iter(match=f"{prefix}*", count=1000)}
    finally:
        client.close()


def delete_redis_keys(url: str, prefix: str) -> None:
    """Delete every key under a prefix, and nothing else."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix for one test; its keys are deleted afterwards."""
    prefix = f"dutychat-test:{secrets.token_hex(8)}:"
    yield prefix
    delete_redis_keys(redis_url, prefix)


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """Create a throwaway PostgreSQL database on this machine's server; drop it afterwards."""
    import asyncpg

    name = "dutychat_test_" + secrets.token_hex(4)
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed for this test: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database on this machine's server."""
    async with pg_database() as url:
        yield url


# --- HTTP helpers for the roster API tests -----------------------------------

_NO_BODY = object()


@dataclass
class Reply:
    """A read and released HTTP response."""

    status: int
    body: Any
    text: str
    content_type: str

    @property
    def code(self) -> str | None:
        """The documented error code, if the body is an error."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


class Http:
    """An aiohttp session against a live server, optionally logged in; every response is released."""

    def __init__(self, live: Live) -> None:
        import aiohttp

        self.live = live
        # The default jar refuses cookies for IP addresses such as 127.0.0.1.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> "Http":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def login(self, username: str) -> "Http":
        reply = await self.call("POST", "/api/auth/login", {"username": username, "password": PASSWORD})
        assert reply.status == 200, reply.text
        return self

    async def call(self, method: str, path: str, body: Any = _NO_BODY, **kw: Any) -> Reply:
        import json

        url = path if path.startswith("http") else self.live.url + path
        if body is not _NO_BODY:
            kw["json"] = body
        async with self.session.request(method, url, **kw) as response:
            text = await response.text()
            data = json.loads(text) if response.content_type == "application/json" else None
            return Reply(response.status, data, text, response.content_type)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)


def record_event(client: Any, event: str) -> None:
    """Make a socket.io test client record an event it does not record by default."""
    client.sio.on(event, client._recorder(event), namespace=client.namespace)
