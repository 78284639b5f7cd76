"""Roster queries returning dataclasses, and the cache that routing reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from roster.models import ShiftRow
from roster.schedule import Shift

# Routing needs shifts around now; opening hours need the coming weeks.
_WINDOW_BEFORE = timedelta(days=1)
_WINDOW_AFTER = timedelta(days=60)


def to_db(instant: datetime) -> datetime:
    """Aware datetime → naive UTC as stored."""
    return instant.astimezone(UTC).replace(tzinfo=None)


def from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _shift(row: ShiftRow) -> Shift:
    return Shift(row.id, row.staff_id, from_db(row.starts_at), from_db(row.ends_at), row.note)


class ShiftRepository:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def add(self, staff_id: int, starts_at: datetime, ends_at: datetime, note: str = "") -> Shift:
        if ends_at <= starts_at:
            raise ValueError("a shift must end after it starts")
        async with self._sessions.begin() as session:
            row = ShiftRow(staff_id=staff_id, starts_at=to_db(starts_at), ends_at=to_db(ends_at), note=note)
            session.add(row)
            await session.flush()
            return _shift(row)

    async def between(self, start: datetime, end: datetime) -> list[Shift]:
        """Return shifts overlapping [start, end)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ShiftRow)
                .where(ShiftRow.ends_at > to_db(start), ShiftRow.starts_at < to_db(end))
                .order_by(ShiftRow.starts_at)
            )
            return [_shift(r) for r in rows]

    async def of_staff(self, staff_id: int, start: datetime, end: datetime) -> list[Shift]:
        return [s for s in await self.between(start, end) if s.staff_id == staff_id]

    async def delete(self, shift_id: int) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ShiftRow).where(ShiftRow.id == shift_id))
            return bool(result.rowcount)


class RosterCache:
    """Shifts around now, held in memory so that routing costs no query.

    Reloaded when invalidated (every roster change made through this process
    calls invalidate) and at least every `max_age`, which also covers changes
    made by another worker or the command line.
    """

    def __init__(self, repository: ShiftRepository, max_age: timedelta = timedelta(seconds=30)) -> None:
        self._repository = repository
        self._max_age = max_age
        self._shifts: list[Shift] = []
        self._loaded_at: datetime | None = None
        self._window: tuple[datetime, datetime] | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = None

    async def shifts(self, now: datetime) -> list[Shift]:
        if self._fresh(now):
            return self._shifts
        async with self._lock:
            if not self._fresh(now):
                start, end = now - _WINDOW_BEFORE, now + _WINDOW_AFTER
                self._shifts = await self._repository.between(start, end)
                self._window = (start, end)
                self._loaded_at = now
        return self._shifts

    def _fresh(self, now: datetime) -> bool:
        if self._loaded_at is None or self._window is None:
            return False
        # A moved test clock can jump out of the loaded window.
        in_window = self._window[0] + _WINDOW_BEFORE / 2 <= now <= self._window[1] - _WINDOW_AFTER / 2
        return in_window and abs(now - self._loaded_at) < self._max_age
