"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL;
the topic taxonomy is complete and its codes are never deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

import chat_server.activities.models  # noqa: F401  (every package's tables join the one metadata)
import roster.models  # noqa: F401
from chat_server.db import Topic, create_engine, migrate, sessionmaker
from chat_server.models_base import Base
from chat_server.settings import TOPICS_FILE, load_settings
from chat_server.topics import TaxonomyError, load_taxonomy, sync_topics


async def assert_schema_matches(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        await migrate(engine)  # a second run is a no-op

        def diff(conn):  # type: ignore[no-untyped-def]
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    await assert_schema_matches(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


async def test_migrations_match_models_on_postgresql(pg_url: str) -> None:
    await assert_schema_matches(pg_url)


def test_taxonomy_has_every_label() -> None:
    languages = load_settings(use_env=False).chat.languages
    taxonomy = load_taxonomy(TOPICS_FILE, languages)
    codes = [t.code for g in taxonomy.groups for t in g.topics]
    assert len(codes) == len(set(codes)) >= 20
    for group in taxonomy.groups:
        for item in (group, *group.topics):
            assert set(languages) <= set(item.labels), item.code


def test_taxonomy_refuses_missing_labels_and_duplicates(tmp_path: Path) -> None:
    bad = tmp_path / "topics.toml"
    bad.write_text('[[group]]\ncode = "a"\nlabel = { en = "A" }\n[[group.topic]]\ncode = "a.b"\nlabel = { en = "B" }\n')
    with pytest.raises(TaxonomyError, match="lacks labels"):
        load_taxonomy(bad, ("fi", "en"))
    bad.write_text(
        '[[group]]\ncode = "a"\nlabel = { en = "A" }\n'
        '[[group.topic]]\ncode = "a.b"\nlabel = { en = "B" }\n[[group.topic]]\ncode = "a.b"\nlabel = { en = "B" }\n'
    )
    with pytest.raises(TaxonomyError, match="twice"):
        load_taxonomy(bad, ("en",))


async def test_removed_topic_is_retired_not_deleted(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        await migrate(engine)
        sessions = sessionmaker(engine)
        full = tmp_path / "full.toml"
        full.write_text(
            '[[group]]\ncode = "a"\nlabel = { en = "A" }\n'
            '[[group.topic]]\ncode = "a.b"\nlabel = { en = "B" }\n[[group.topic]]\ncode = "a.c"\nlabel = { en = "C" }\n'
        )
        await sync_topics(sessions, load_taxonomy(full, ("en",)))
        smaller = tmp_path / "smaller.toml"
        smaller.write_text(
            '[[group]]\ncode = "a"\nlabel = { en = "A" }\n[[group.topic]]\ncode = "a.b"\nlabel = { en = "B" }\n'
        )
        taxonomy = load_taxonomy(smaller, ("en",))
        await sync_topics(sessions, taxonomy)
        async with sessions() as session:
            rows = {t.code: t.retired for t in await session.scalars(select(Topic))}
        assert rows == {"a.b": False, "a.c": True}
        assert taxonomy.active_codes == {"a.b"}
    finally:
        await engine.dispose()


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
async def test_workers_starting_together_sync_topics_once(engine_name: str, tmp_path: Path) -> None:
    """Several workers sync the topic taxonomy into a fresh database at the same moment."""
    import asyncio
    import contextlib

    from sqlalchemy import func, select

    from chat_server.db import Topic, create_engine, migrate, sessionmaker
    from chat_server.settings import TOPICS_FILE
    from chat_server.topics import load_taxonomy, sync_topics
    from tests.support.postgres import pg_database

    async with contextlib.AsyncExitStack() as stack:
        if engine_name == "postgresql":
            url = await stack.enter_async_context(pg_database())
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'topics.db'}"
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        await migrate(engine)
        taxonomy = load_taxonomy(TOPICS_FILE, ("fi", "sv", "en", "ru", "th", "es", "et"))
        engines = [create_engine(url) for _ in range(4)]
        for other in engines:
            stack.push_async_callback(other.dispose)
        await asyncio.gather(*(sync_topics(sessionmaker(e), taxonomy) for e in engines))
        async with sessionmaker(engine)() as session:
            stored = await session.scalar(select(func.count()).select_from(Topic))
        assert stored == sum(len(g.topics) for g in taxonomy.groups)


async def past_shifts_are_counted_by_the_migration(url: str) -> None:
    """0011 (duty check-ins): a past shift with an answered session is held, others not; down and up again."""
    from sqlalchemy import text

    from chat_server.db import alembic_config
    from chat_server.reports.rollup import NO_CONVERSATION

    engine = create_engine(url)
    try:
        await migrate(engine, "0006")
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO staff (id, username, display_name, alias, password_hash, role, languages, max_chats,"
                " disabled, created_at) VALUES (1, 'aino', 'Aino', 'Aino', 'x', 'staff', 'fi', 3, false,"
                " '2026-01-01 00:00:00')"
            ))
            for shift_id, day in ((1, 5), (2, 6), (3, 7)):
                await conn.execute(text(
                    "INSERT INTO shifts (id, staff_id, starts_at, ends_at, note) VALUES"
                    f" ({shift_id}, 1, '2026-01-0{day} 08:00:00', '2026-01-0{day} 12:00:00', '')"
                ))
            sessions = (  # id, shift, outcome, visitor messages: shift 1 answered twice (once empty), 2 none
                ("a" * 32, 1, "answered", 3, "09:10:00"), ("b" * 32, 1, "answered", 0, "08:30:00"),
                ("c" * 32, None, "closed", 0, "13:00:00"), ("d" * 32, 2, "abandoned", 1, "09:00:00"),
            )
            for sid, shift_id, outcome, visitor_messages, time in sessions:
                await conn.execute(text(
                    "INSERT INTO chat_sessions (id, started_at, wait_seconds, duration_seconds, outcome, language,"
                    " visitor_messages, staff_messages, shift_id) VALUES"
                    f" (:id, '2026-01-05 {time}', 10, 60, :outcome, 'fi', :vm, 1, :shift)"
                ), {"id": sid, "outcome": outcome, "vm": visitor_messages, "shift": shift_id})
            await conn.execute(text(
                "INSERT INTO topics (code, group_code, retired) VALUES ('health.mental', 'health', false)"
            ))
            await conn.execute(text(
                "INSERT INTO session_topics (session_id, topic_code) VALUES (:id, 'health.mental')"
            ), {"id": "a" * 32})
        await migrate(engine)
        async with engine.connect() as conn:
            shifts = (await conn.execute(text(
                "SELECT id, checked_in_at, checked_in_minutes, checked_in_since FROM shifts ORDER BY id"
            ))).all()
            flags = (await conn.execute(text(
                "SELECT grain, SUM(sessions) FROM report_counts WHERE figure = :f AND item = :i GROUP BY grain"
            ), {"f": NO_CONVERSATION[0], "i": NO_CONVERSATION[1]})).all()
        first = shifts[0][1]
        assert str(first).startswith("2026-01-05 08:30:00")
        assert [(s[0], s[1] is not None, s[2], s[3]) for s in shifts] == [
            (1, True, 0, None), (2, True, 0, None), (3, False, 0, None)]
        # Every grain of the roll-up counts the one empty answered chat.
        assert flags and all(int(n) == 1 for _, n in flags)

        def down_and_up(conn):  # type: ignore[no-untyped-def]
            from alembic import command

            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010")
            command.upgrade(cfg, "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
            assert (await conn.execute(text("SELECT COUNT(*) FROM chat_sessions WHERE shift_id IS NOT NULL"))
                    ).scalar() == 3
    finally:
        await engine.dispose()


async def test_migration_counts_past_shifts_on_sqlite(tmp_path: Path) -> None:
    await past_shifts_are_counted_by_the_migration(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


async def test_migration_counts_past_shifts_on_postgresql(pg_url: str) -> None:
    await past_shifts_are_counted_by_the_migration(pg_url)


async def activities_go_down_and_up(url: str) -> None:
    """0012 (activities): its tables come and go with the migration; nothing else moves."""
    from sqlalchemy import inspect, text

    from chat_server.db import alembic_config

    tables = {"activity_types", "localities", "activity_entries", "activity_counts", "activity_changes"}
    engine = create_engine(url)
    try:
        await migrate(engine, "0011")
        async with engine.begin() as conn:
            assert not tables & set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO staff (id, username, display_name, alias, password_hash, role, languages, max_chats,"
                " disabled, created_at) VALUES (1, 'aino', 'Aino', 'Aino', 'x', 'staff', 'fi', 3, false,"
                " '2026-01-01 00:00:00')"
            ))
            await conn.execute(text("INSERT INTO activity_types (code, retired) VALUES ('field_outreach', false)"))
            await conn.execute(text("INSERT INTO localities (code, retired) VALUES ('oulu', false)"))
            await conn.execute(text(
                "INSERT INTO activity_entries (id, day, type_code, locality_code, recorded_by, recorded_at,"
                " updated_at) VALUES (1, '2026-03-02', 'field_outreach', 'oulu', 1, '2026-03-02 12:00:00',"
                " '2026-03-02 12:00:00')"
            ))
            await conn.execute(text("INSERT INTO activity_counts (entry_id, measure, value) VALUES (1, 'times', 2)"))
            assert set(await conn.run_sync(lambda c: inspect(c).get_table_names())) >= tables

        def down_and_up(conn):  # type: ignore[no-untyped-def]
            from alembic import command

            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
            assert not tables & set(inspect(conn).get_table_names())
            command.upgrade(cfg, "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
            assert (await conn.execute(text("SELECT COUNT(*) FROM staff"))).scalar() == 1
            assert (await conn.execute(text("SELECT COUNT(*) FROM activity_entries"))).scalar() == 0
    finally:
        await engine.dispose()
    await assert_schema_matches(url)


async def test_activities_migration_down_and_up_on_sqlite(tmp_path: Path) -> None:
    await activities_go_down_and_up(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


async def test_activities_migration_down_and_up_on_postgresql(pg_url: str) -> None:
    await activities_go_down_and_up(pg_url)
