"""Debrief requests after a flagged chat: who asked and when, done when; nothing about the chat."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import DebriefRow, Staff


@dataclass(frozen=True, slots=True)
class Debrief:
    debrief_id: str
    staff_id: int
    alias: str
    requested_at: datetime
    done_at: datetime | None = None


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


class DebriefRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def request(self, staff_id: int, now: datetime) -> Debrief:
        """Record a request (its id is random: linked to no chat and no session row)."""
        debrief_id = secrets.token_hex(16)
        async with self._sessions.begin() as session:
            session.add(DebriefRow(id=debrief_id, staff_id=staff_id, requested_at=_naive(now)))
            alias = await session.scalar(select(Staff.alias).where(Staff.id == staff_id))
        return Debrief(debrief_id, staff_id, alias or "", now.replace(microsecond=0))

    async def open_requests(self) -> list[Debrief]:
        """Requests not done yet, oldest first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(DebriefRow, Staff.alias).join(Staff, Staff.id == DebriefRow.staff_id)
                .where(DebriefRow.done_at.is_(None)).order_by(DebriefRow.requested_at, DebriefRow.id)
            )
            return [
                Debrief(r.id, r.staff_id, alias, r.requested_at.replace(tzinfo=UTC)) for r, alias in rows.all()
            ]

    async def mark_done(self, debrief_id: str, now: datetime) -> tuple[Debrief | None, bool]:
        """Mark a request done: (the request, True) the first time, (it, False) if done already, (None, False)."""
        async with self._sessions.begin() as session:
            changed = await session.execute(
                update(DebriefRow).where(DebriefRow.id == debrief_id, DebriefRow.done_at.is_(None))
                .values(done_at=_naive(now))
            )
            found = (await session.execute(
                select(DebriefRow, Staff.alias).join(Staff, Staff.id == DebriefRow.staff_id)
                .where(DebriefRow.id == debrief_id)
            )).first()
        if found is None:
            return None, False
        row, alias = found
        debrief = Debrief(row.id, row.staff_id, alias, row.requested_at.replace(tzinfo=UTC), _aware(row.done_at))
        return debrief, bool(changed.rowcount)  # type: ignore[attr-defined]  # an UPDATE's CursorResult
