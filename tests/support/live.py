"""A real dutychat server in this process on a loopback port, and its staff and shifts."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from chat_server.accounts import Role, StaffAccount
from chat_server.app import create_app
from chat_server.chat.service import ChatService
from chat_server.clock import MovableClock
from chat_server.keys import records_key, roster_key, service_key, sessions_key, shifts_key, staff_key
from chat_server.privacy import AccessLogger, configure_logging
from chat_server.settings import Settings, load_settings
from roster.schedule import Shift
from tests.support.clients import StaffMember, Visitor, login
from tests.support.processes import free_port

PASSWORD = "correct horse battery"


def make_settings(data_dir: Path, **sections: dict[str, Any]) -> Settings:
    """Test settings: defaults, no environment, a fixed secret, a private data dir."""
    base: dict[str, Any] = {
        "server": {"data_dir": str(data_dir), "public_url": "http://127.0.0.1:8080"},
        "logging": {"level": "DEBUG"},
        # Tests send quickly; the rate limit has its own test.
        "limits": {"events_per_second": 1000.0, "event_burst": 1000},
        # Managers sign in with a password alone here; the second factor has its own tests
        # (tests/test_accounts_http.py), which turn the requirement back on.
        "auth": {"secret_key": "test-secret-" + "x" * 40, "totp_required_roles": []},
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
    def app(self) -> web.Application:
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
            now = self.clock.now()
            await self.add_shift(account.id, now - timedelta(hours=1), now + timedelta(hours=4))
        return account

    async def add_shift(self, staff_id: int, start: datetime, end: datetime) -> Shift:
        shift = await self.app[shifts_key].add(staff_id, start, end)
        self.app[roster_key].invalidate()
        return shift

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


async def settle(seconds: float = 0.1) -> None:
    await asyncio.sleep(seconds)
