"""Migration 0013 (staff support: the manager on call) down and up on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from chat_server.db import alembic_config, create_engine, migrate
from tests.test_schema import assert_schema_matches


async def on_call_down_and_up(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO staff (id, username, display_name, alias, password_hash, role, languages, max_chats,"
                " disabled, created_at) VALUES (1, 'maja', 'Maja', 'Maja', 'x', 'manager', 'fi', 3, false,"
                " '2026-01-01 00:00:00')"
            ))
            await conn.execute(text(
                "INSERT INTO on_call_periods (staff_id, starts_at, ends_at, note) VALUES"
                " (1, '2026-01-05 08:00:00', '2026-01-05 16:00:00', '')"
            ))

        def down(conn):  # type: ignore[no-untyped-def]
            from alembic import command

            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0012")
            return inspect(conn).get_table_names()

        async with engine.begin() as conn:
            tables = await conn.run_sync(down)
        assert "on_call_periods" not in tables and "staff" in tables
        await migrate(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT COUNT(*) FROM on_call_periods"))).scalar() == 0
            assert (await conn.execute(text("SELECT COUNT(*) FROM staff"))).scalar() == 1
    finally:
        await engine.dispose()
    await assert_schema_matches(url)


async def test_0013_down_and_up_on_sqlite(tmp_path: Path) -> None:
    await on_call_down_and_up(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


async def test_0013_down_and_up_on_postgresql(pg_url: str) -> None:
    await on_call_down_and_up(pg_url)
