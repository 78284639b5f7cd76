"""The database is away when chats end: the rows are kept and written once it is back, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg

from tests.support.live import settle, start_live, stop_live
from tests.support.postgres import pg_database
from tests.support.processes import free_port


class Cable:
    """A TCP relay to PostgreSQL that the test can unplug and plug back in on the same port."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def plug(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def unplug(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, upstream_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}


async def count_rows(url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "select s.outcome, t.topic_code from chat_sessions s join session_topics t on t.session_id = s.id"
        )
        return [(r["outcome"], r["topic_code"]) for r in rows]
    finally:
        await conn.close()


async def test_rows_owed_while_the_database_is_away_are_written_once(tmp_path: Path) -> None:
    async with pg_database() as direct_url:
        cable = Cable(free_port(), ("127.0.0.1", 5432))
        await cable.plug()
        via_cable = direct_url.replace("127.0.0.1:5432", f"127.0.0.1:{cable.port}")
        live = await start_live(tmp_path, database={"url": via_cable})
        try:
            await live.add_staff("aino")
            staff = await live.staff("aino")
            visitor = await live.visitor()
            await visitor.start()
            await visitor.send("hello", "v1")

            await cable.unplug()
            ended = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.mental"]})
            assert ended == {"ok": True, "outcome": "answered"}  # the staff member is not held up
            assert (await visitor.wait_for("chat:ended"))["reason"] == "staff_ended"
            owed = await live.service.store.owed_rows()
            assert [(r.outcome.value, r.topics) for r in owed] == [("answered", ("health.mental",))]
            await live.service.sweep()  # still away: kept, nothing lost
            assert len(await live.service.store.owed_rows()) == 1
            assert await count_rows(direct_url) == []

            await cable.plug()
            for _ in range(3):
                await live.service.sweep()
                await settle(0.05)
            assert await count_rows(direct_url) == [("answered", "health.mental")]
            assert await live.service.store.owed_rows() == []
        finally:
            await stop_live(live)
            await cable.unplug()
