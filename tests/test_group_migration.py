"""Migration 0014 (peer group sessions): its tables come and go with it, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from chat_server.db import alembic_config, create_engine, migrate

GROUP_TABLES = {"group_slots", "group_moderators", "group_sessions"}


async def group_tables_go_down_and_up(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine, "0013")
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert not tables & GROUP_TABLES
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO group_slots (id, kind, weekday, start_local, end_local, timezone, capacity,"
                " moderators_needed, languages, titles, rules, valid_from, retired) VALUES (1, 'weekly', 1,"
                " '18:00:00', '19:30:00', 'Europe/Helsinki', 30, 1, 'fi', '{}', '{}', '2026-01-01', false)"
            ))
            await conn.execute(text(
                "INSERT INTO group_sessions (id, group_slot_id, occurrence_date, planned_start, planned_end,"
                " started_at, ended_at, language, end_reason, peak_participants, total_participants, messages,"
                " removed_messages, removed_participants, muted_participants, reports, moderators_present)"
                " VALUES ('1-2026-01-06', 1, '2026-01-06', '2026-01-06 16:00:00', '2026-01-06 17:30:00',"
                " '2026-01-06 16:00:00', '2026-01-06 17:30:00', 'fi', 'over', 5, 7, 40, 1, 0, 1, 2, 1)"
            ))
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert GROUP_TABLES <= tables

        def down_and_up(conn):  # type: ignore[no-untyped-def]
            from alembic import command

            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013")
            assert not set(inspect(conn).get_table_names()) & GROUP_TABLES
            command.upgrade(cfg, "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
            assert (await conn.execute(text("SELECT COUNT(*) FROM group_sessions"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_group_migration_down_and_up_on_sqlite(tmp_path: Path) -> None:
    await group_tables_go_down_and_up(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


async def test_group_migration_down_and_up_on_postgresql(pg_url: str) -> None:
    await group_tables_go_down_and_up(pg_url)


async def invitations_column_goes_down_and_up(url: str) -> None:
    engine = create_engine(url)

    def columns(conn):  # type: ignore[no-untyped-def]
        return {c["name"] for c in inspect(conn).get_columns("group_sessions")}

    try:
        await migrate(engine, "0014")
        async with engine.connect() as conn:
            assert "invitations" not in await conn.run_sync(columns)
        await migrate(engine)
        async with engine.begin() as conn:
            assert "invitations" in await conn.run_sync(columns)

        def down_and_up(conn):  # type: ignore[no-untyped-def]
            from alembic import command

            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0014")
            assert "invitations" not in columns(conn)
            command.upgrade(cfg, "head")
            assert "invitations" in columns(conn)

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
    finally:
        await engine.dispose()


async def test_invitations_migration_down_and_up_on_sqlite(tmp_path: Path) -> None:
    await invitations_column_goes_down_and_up(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


async def test_invitations_migration_down_and_up_on_postgresql(pg_url: str) -> None:
    await invitations_column_goes_down_and_up(pg_url)
