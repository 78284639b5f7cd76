"""Roster repository against real databases (SQLite and PostgreSQL): slots, exceptions,
assignment to slot occurrences, and the shifts that routing reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import delete, insert, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from chat_server.db import alembic_config, create_engine, migrate, sessionmaker
from roster.models import DutySlotRow
from roster.repository import Conflict, NotFound, RosterCache, ShiftRepository, SlotRepository
from roster.schedule import SlotKind

HEL = "Europe/Helsinki"
ZONE = ZoneInfo(HEL)
TUE, SUN = 1, 6
START = date(2026, 11, 1)
# A fixed "now" well before the occurrences the tests assign.
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


@dataclass
class Db:
    engine: AsyncEngine
    sessions: async_sessionmaker
    slots: SlotRepository
    shifts: ShiftRepository
    staff: list[int]


async def _staff(sessions: async_sessionmaker, count: int) -> list[int]:
    # The columns of the first schema only: a migration test calls this on a database of revision 0002.
    async with sessions.begin() as session:
        return [
            (await session.execute(text(
                "INSERT INTO staff (username, display_name, alias, password_hash, role, languages, max_chats,"
                " disabled, created_at) VALUES (:u, :d, :a, 'x', 'staff', 'fi,en', 3, false, :c) RETURNING id"
            ), {"u": f"u{n}", "d": f"User {n}", "a": f"A{n}", "c": datetime(2026, 1, 1)})).scalar_one()
            for n in range(count)
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL on each engine (sync: it may set up the async pg_url fixture)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'roster.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Db]:
    """A migrated database with three staff members."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        sessions = sessionmaker(engine)
        yield Db(engine, sessions, SlotRepository(sessions), ShiftRepository(sessions), await _staff(sessions, 3))
    finally:
        await engine.dispose()


# --- slots --------------------------------------------------------------------


async def test_create_list_get_and_retire_slots(db: Db) -> None:
    weekly = await db.slots.create_weekly(
        TUE, time(12), time(15), HEL, START, needed=2, languages=("fi", "en"), note="afternoon"
    )
    once = await db.slots.create_once(date(2026, 12, 24), time(18), time(23), HEL, languages=("fi",))
    assert weekly.kind is SlotKind.WEEKLY and weekly.weekday == TUE and weekly.valid_from == START
    assert (weekly.start, weekly.end, weekly.zone, weekly.needed) == (time(12), time(15), HEL, 2)
    assert weekly.languages == ("fi", "en") and weekly.note == "afternoon" and weekly.valid_until is None
    assert once.kind is SlotKind.ONCE and once.on_date == date(2026, 12, 24) and once.weekday is None
    assert await db.slots.list_slots() == [weekly, once]
    assert await db.slots.get(weekly.slot_id) == weekly
    await db.slots.retire_slot(once.slot_id, NOW)
    assert await db.slots.list_slots() == [weekly]
    assert [s.retired for s in await db.slots.list_slots(include_retired=True)] == [False, True]
    with pytest.raises(NotFound):
        await db.slots.get(9999)


async def test_invalid_slots_are_refused_and_change_nothing(db: Db) -> None:
    with pytest.raises(ValueError):
        await db.slots.create_weekly(TUE, time(12), time(15), HEL, START, needed=0)
    with pytest.raises(ValueError):
        await db.slots.create_weekly(9, time(12), time(15), HEL, START)
    with pytest.raises(ValueError):
        await db.slots.create_once(date(2026, 12, 24), time(18), time(23), "Nowhere/Town")
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    with pytest.raises(ValueError):
        await db.slots.update_slot(slot.slot_id, NOW, on_date=date(2026, 12, 1))  # weekly has no date
    with pytest.raises(ValueError, match="cannot change retired"):
        await db.slots.update_slot(slot.slot_id, NOW, retired=True)  # type: ignore[call-arg]
    assert await db.slots.list_slots() == [slot]


async def test_database_checks_back_the_model(db: Db) -> None:
    """Rows written around the repository still cannot break the slot invariants."""
    base = {"start_local": time(12), "end_local": time(15), "timezone": HEL, "languages": "", "valid_from": START,
            "retired": False, "note": ""}
    for bad in ({"kind": "weekly", "weekday": 1, "needed": 0}, {"kind": "weekly", "weekday": None, "needed": 1},
                {"kind": "daily", "weekday": 1, "needed": 1}):
        with pytest.raises(IntegrityError):
            async with db.sessions.begin() as session:
                await session.execute(insert(DutySlotRow).values(**base, **bad))


# --- assignment -----------------------------------------------------------------


async def test_assign_copies_the_occurrence_in_utc(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START, needed=2)
    a, b, _ = db.staff
    shift = await db.slots.assign(slot.slot_id, date(2026, 12, 1), a, note="first")
    assert (shift.starts_at, shift.ends_at) == (utc(2026, 12, 1, 10), utc(2026, 12, 1, 13))
    assert (shift.slot_id, shift.occurrence_date, shift.staff_id, shift.note) == (
        slot.slot_id, date(2026, 12, 1), a, "first"
    )
    await db.slots.assign(slot.slot_id, date(2026, 12, 1), b)
    # Routing reads these through the plain time-range query and the cache.
    assert [s.staff_id for s in await db.shifts.between(local(2026, 12, 1, 14), local(2026, 12, 1, 15))] == [a, b]
    cache = RosterCache(db.shifts)
    assert len(await cache.shifts(local(2026, 12, 1, 13))) == 2


async def test_assign_across_dst_uses_the_real_instants(db: Db) -> None:
    spring = await db.slots.create_weekly(SUN, time(2), time(5), HEL, date(2026, 10, 1))
    shift = await db.slots.assign(spring.slot_id, date(2027, 3, 28), db.staff[0])
    assert (shift.starts_at, shift.ends_at) == (utc(2027, 3, 28, 0), utc(2027, 3, 28, 2))
    autumn = await db.slots.assign(spring.slot_id, date(2026, 10, 25), db.staff[0])
    assert (autumn.starts_at, autumn.ends_at) == (utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))


async def test_assign_refusals(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START, valid_until=date(2026, 12, 15))
    a = db.staff[0]
    await db.slots.assign(slot.slot_id, date(2026, 12, 1), a)
    with pytest.raises(Conflict, match="already assigned"):
        await db.slots.assign(slot.slot_id, date(2026, 12, 1), a)
    await db.slots.set_exception(slot.slot_id, date(2026, 12, 8), NOW, cancelled=True, note="holiday")
    with pytest.raises(Conflict, match="cancelled"):
        await db.slots.assign(slot.slot_id, date(2026, 12, 8), a)
    for day in (date(2026, 12, 2), date(2026, 10, 27), date(2026, 12, 22)):  # wrong weekday, before, after
        with pytest.raises(NotFound, match="no occurrence"):
            await db.slots.assign(slot.slot_id, day, a)
    with pytest.raises(NotFound, match="no slot"):
        await db.slots.assign(9999, date(2026, 12, 1), a)
    with pytest.raises(NotFound, match="no staff"):
        await db.slots.assign(slot.slot_id, date(2026, 12, 15), 9999)
    await db.slots.retire_slot(slot.slot_id, NOW)
    with pytest.raises(NotFound):
        await db.slots.assign(slot.slot_id, date(2026, 12, 15), a)
    assert len(await db.shifts.between(utc(2026, 1, 1), utc(2028, 1, 1))) == 0  # retiring removed the future one


async def test_concurrent_double_assignment_has_one_winner(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    results = await asyncio.gather(
        *(db.slots.assign(slot.slot_id, date(2026, 12, 1), db.staff[0]) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))


async def test_concurrent_sign_ups_never_overfill_a_duty(db: Db) -> None:
    """Three members race for the last open place (self sign-up): exactly one gets it, on both engines."""
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START, needed=1)
    for _round in range(5):
        results = await asyncio.gather(
            *(db.slots.assign(slot.slot_id, date(2026, 12, 1), member, only_open_place=True) for member in db.staff),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) == 1, results
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException)), results
        assert len(await db.shifts.between(utc(2026, 1, 1), utc(2028, 1, 1))) == 1
        await db.slots.unassign(slot.slot_id, date(2026, 12, 1), winners[0].staff_id)


async def test_unassign(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    shift = await db.slots.assign(slot.slot_id, date(2026, 12, 1), db.staff[0])
    assert await db.slots.unassign(slot.slot_id, date(2026, 12, 1), db.staff[0]) == shift
    assert await db.slots.unassign(slot.slot_id, date(2026, 12, 1), db.staff[0]) is None
    assert await db.shifts.between(utc(2026, 1, 1), utc(2028, 1, 1)) == []
    # The place is free again.
    await db.slots.assign(slot.slot_id, date(2026, 12, 1), db.staff[0])


# --- exceptions and changes move the assigned shifts ------------------------------


async def test_exceptions_move_and_remove_future_shifts(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    a, b, _ = db.staff
    day = date(2026, 12, 8)
    first = await db.slots.assign(slot.slot_id, day, a)
    exc, resync = await db.slots.set_exception(slot.slot_id, day, NOW, start=time(10), note="meeting after")
    assert (exc.start, exc.end, exc.note) == (time(10), None, "meeting after")
    [moved] = resync.moved
    assert (moved.shift_id, moved.starts_at, moved.ends_at) == (
        first.shift_id, utc(2026, 12, 8, 8), utc(2026, 12, 8, 13)
    )
    assert await db.slots.list_exceptions([slot.slot_id]) == [exc]
    # Restoring the date moves the shift back.
    resync = await db.slots.remove_exception(slot.slot_id, day, NOW)
    assert [(s.starts_at, s.ends_at) for s in resync.moved] == [(utc(2026, 12, 8, 10), utc(2026, 12, 8, 13))]
    with pytest.raises(NotFound):
        await db.slots.remove_exception(slot.slot_id, day, NOW)
    # Cancelling removes it; a second exception on the date replaces the first.
    await db.slots.set_exception(slot.slot_id, day, NOW, end=time(16))
    _, resync = await db.slots.set_exception(slot.slot_id, day, NOW, cancelled=True, note="holiday")
    assert [s.shift_id for s in resync.removed] == [first.shift_id]
    [only] = await db.slots.list_exceptions(first=day, last=day)
    assert only.cancelled and only.note == "holiday"
    assert await db.shifts.of_staff(a, utc(2026, 12, 1), utc(2026, 12, 31)) == []
    occs = await db.slots.occurrences(local(2026, 12, 7), local(2026, 12, 14))
    assert [(o.local_date, o.cancelled) for o in occs] == [(day, True)]
    assert await db.slots.occurrences(local(2026, 12, 7), local(2026, 12, 14), include_cancelled=False) == []
    # An exception for a date the slot does not have is refused.
    with pytest.raises(NotFound):
        await db.slots.set_exception(slot.slot_id, date(2026, 12, 9), NOW, cancelled=True)
    with pytest.raises(ValueError):
        await db.slots.set_exception(slot.slot_id, date(2026, 12, 15), NOW)
    assert b  # the other member was never touched


async def test_slot_changes_leave_started_shifts_alone(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    a = db.staff[0]
    running = await db.slots.assign(slot.slot_id, date(2026, 12, 1), a)
    future = await db.slots.assign(slot.slot_id, date(2026, 12, 8), a)
    now = local(2026, 12, 1, 13)  # during the first occurrence
    updated, resync = await db.slots.update_slot(slot.slot_id, now, start=time(11), needed=2, languages=("sv",))
    assert (updated.start, updated.needed, updated.languages) == (time(11), 2, ("sv",))
    assert [(s.shift_id, s.starts_at) for s in resync.moved] == [(future.shift_id, utc(2026, 12, 8, 9))]
    assert resync.removed == ()
    assert (await db.shifts.of_staff(a, utc(2026, 12, 1), utc(2026, 12, 2)))[0] == running
    resync = await db.slots.retire_slot(slot.slot_id, now)
    assert [s.shift_id for s in resync.removed] == [future.shift_id]
    assert await db.shifts.of_staff(a, utc(2026, 11, 1), utc(2027, 1, 1)) == [running]
    with pytest.raises(Conflict):
        await db.slots.update_slot(slot.slot_id, now, needed=3)


# --- reading ---------------------------------------------------------------------


async def test_shifts_of_staff_and_with_their_occurrences(db: Db) -> None:
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    a, b, _ = db.staff
    s1 = await db.slots.assign(slot.slot_id, date(2026, 12, 1), a)
    s2 = await db.slots.assign(slot.slot_id, date(2026, 12, 8), a)
    s3 = await db.slots.assign(slot.slot_id, date(2026, 12, 8), b)
    plain = await db.shifts.add(a, local(2026, 12, 9, 9), local(2026, 12, 9, 10), "extra")
    assert await db.shifts.of_staff(a, local(2026, 12, 1), local(2026, 12, 31)) == [s1, s2, plain]
    assert await db.shifts.of_staff(a, local(2026, 12, 2), local(2026, 12, 9)) == [s2]
    found = await db.slots.shifts_with_occurrences(local(2026, 12, 1), local(2026, 12, 31))
    assert [f.shift for f in found] == [s1, s2, s3, plain]
    assert found[0].occurrence is not None and found[0].occurrence.key == (slot.slot_id, date(2026, 12, 1))
    assert found[0].occurrence.starts_at == s1.starts_at
    assert found[3].occurrence is None
    mine = await db.slots.shifts_with_occurrences(local(2026, 12, 1), local(2026, 12, 31), staff_id=b)
    assert [f.shift for f in mine] == [s3]
    # A retired slot's past shifts keep their occurrence (history, reporting).
    await db.slots.retire_slot(slot.slot_id, local(2026, 12, 10))
    found = await db.slots.shifts_with_occurrences(local(2026, 12, 1), local(2026, 12, 31))
    assert all(f.occurrence is not None for f in found[:3])


async def test_gaps(db: Db) -> None:
    pair = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START, needed=2)
    once = await db.slots.create_once(date(2026, 12, 3), time(18), time(20), HEL)
    await db.slots.assign(pair.slot_id, date(2026, 12, 1), db.staff[0])
    await db.slots.assign(once.slot_id, date(2026, 12, 3), db.staff[1])
    await db.slots.set_exception(pair.slot_id, date(2026, 12, 8), NOW, cancelled=True)
    gaps = await db.slots.gaps(local(2026, 11, 30), local(2026, 12, 14))
    assert [(g.occurrence.key, g.assigned, g.missing) for g in gaps] == [((pair.slot_id, date(2026, 12, 1)), 1, 1)]


async def test_a_slot_with_shifts_cannot_be_deleted(db: Db) -> None:
    """Slots are retired; the foreign key keeps shifts (and their chat counts) attached."""
    slot = await db.slots.create_weekly(TUE, time(12), time(15), HEL, START)
    await db.slots.assign(slot.slot_id, date(2026, 12, 1), db.staff[0])
    with pytest.raises(IntegrityError):
        async with db.sessions.begin() as session:
            await session.execute(delete(DutySlotRow).where(DutySlotRow.id == slot.slot_id))
    assert await db.slots.get(slot.slot_id) == slot


# --- migration 0002 keeps existing data -----------------------------------------------


def _alembic(connection: Connection, url: str, action: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    getattr(command, action)(cfg, revision)


async def test_migration_0002_keeps_chat_sessions_linked_to_shifts(db_url: str) -> None:
    """On SQLite a table rebuild of `shifts` would null chat_sessions.shift_id; 0002 must not."""
    engine = create_engine(db_url)
    rendered = engine.url.render_as_string(hide_password=False)
    try:
        await migrate(engine, "0001")
        sessions = sessionmaker(engine)
        [staff_id] = await _staff(sessions, 1)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO shifts (id, staff_id, starts_at, ends_at, note) VALUES (41, :s, :a, :b, '')"
            ), {"s": staff_id, "a": datetime(2026, 12, 1, 10), "b": datetime(2026, 12, 1, 13)})
            await conn.execute(text(
                "INSERT INTO chat_sessions (id, started_at, wait_seconds, duration_seconds, outcome, language,"
                " visitor_messages, staff_messages, shift_id) VALUES ('c1', :a, 5, 60, 'answered', 'fi', 3, 4, 41)"
            ), {"a": datetime(2026, 12, 1, 11)})

        async def linked() -> list[tuple[str, int | None]]:
            async with engine.connect() as conn:
                return [tuple(r) for r in await conn.execute(text("SELECT id, shift_id FROM chat_sessions"))]  # type: ignore[misc]

        await migrate(engine)
        assert await linked() == [("c1", 41)]
        [shift] = await ShiftRepository(sessions).between(utc(2026, 12, 1), utc(2026, 12, 2))
        assert (shift.shift_id, shift.slot_id, shift.occurrence_date) == (41, None, None)
        async with engine.begin() as conn:
            await conn.run_sync(_alembic, rendered, "downgrade", "0001")
        assert await linked() == [("c1", 41)]
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: [col["name"] for col in inspect(c).get_columns("shifts")])
        assert "slot_id" not in columns and "occurrence_date" not in columns
        await migrate(engine)
        assert await linked() == [("c1", 41)]
    finally:
        await engine.dispose()
