"""Activity entries, their counts, the edit history and the figures of a period."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.activities.catalogue import ActivityCatalogue
from chat_server.activities.models import ActivityChangeRow, ActivityCountRow, ActivityEntryRow


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    day: date
    type: str
    counts: dict[str, int]
    locality: str | None
    recorded_by: int | None
    recorded_at: datetime
    updated_at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    entry_id: int
    changed_by: int | None
    changed_at: datetime
    action: str
    measure: str | None
    old_value: int | None
    new_value: int | None


@dataclass(frozen=True, slots=True)
class EntryFields:
    """What an entry says; a correction replaces all of it."""

    day: date
    type: str
    counts: dict[str, int]
    locality: str | None
    note: str | None


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _entry(row: ActivityEntryRow, counts: dict[str, int]) -> Entry:
    return Entry(
        row.id, row.day, row.type_code, dict(sorted(counts.items())), row.locality_code, row.recorded_by,
        row.recorded_at.replace(tzinfo=UTC), row.updated_at.replace(tzinfo=UTC), row.note,
    )


class ActivityRepository:
    """Reads and writes activity_entries, activity_counts and activity_changes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _counts(self, session: AsyncSession, ids: list[int]) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = defaultdict(dict)
        if ids:
            rows = await session.execute(
                select(ActivityCountRow.entry_id, ActivityCountRow.measure, ActivityCountRow.value)
                .where(ActivityCountRow.entry_id.in_(ids))
            )
            for entry_id, measure, value in rows:
                out[entry_id][measure] = int(value)
        return out

    async def add(
        self, fields: EntryFields, staff_id: int, client_id: str | None, now: datetime
    ) -> tuple[Entry, bool]:
        """Record an entry; with a client id already used by this member, answer that entry (created: False)."""
        if client_id is not None:
            found = await self._by_client(staff_id, client_id)
            if found is not None:
                return found, False
        try:
            async with self._sessions.begin() as session:
                row = ActivityEntryRow(
                    day=fields.day, type_code=fields.type, locality_code=fields.locality, recorded_by=staff_id,
                    recorded_at=_naive(now), updated_at=_naive(now), client_id=client_id, note=fields.note,
                )
                session.add(row)
                await session.flush()
                session.add_all(ActivityCountRow(entry_id=row.id, measure=m, value=v) for m, v in fields.counts.items())
        except IntegrityError:
            # Two submits of one client id at once: the other one won.
            found = await self._by_client(staff_id, client_id) if client_id is not None else None
            if found is None:
                raise
            return found, False
        return _entry(row, fields.counts), True

    async def _by_client(self, staff_id: int, client_id: str) -> Entry | None:
        async with self._sessions() as session:
            row = await session.scalar(select(ActivityEntryRow).where(
                ActivityEntryRow.recorded_by == staff_id, ActivityEntryRow.client_id == client_id
            ))
            if row is None:
                return None
            return _entry(row, (await self._counts(session, [row.id]))[row.id])

    async def get(self, entry_id: int) -> Entry | None:
        async with self._sessions() as session:
            row = await session.get(ActivityEntryRow, entry_id)
            if row is None:
                return None
            return _entry(row, (await self._counts(session, [row.id]))[row.id])

    async def entries(self, start: date, end: date, recorded_by: int | None = None) -> list[Entry]:
        query = select(ActivityEntryRow).where(ActivityEntryRow.day >= start, ActivityEntryRow.day <= end)
        if recorded_by is not None:
            query = query.where(ActivityEntryRow.recorded_by == recorded_by)
        async with self._sessions() as session:
            rows = list(await session.scalars(query.order_by(ActivityEntryRow.day.desc(), ActivityEntryRow.id.desc())))
            counts = await self._counts(session, [r.id for r in rows])
            return [_entry(r, counts[r.id]) for r in rows]

    async def change(self, entry_id: int, fields: EntryFields, staff_id: int, now: datetime) -> Entry | None:
        """Correct an entry; every count that changed goes into the history."""
        async with self._sessions.begin() as session:
            row = await session.get(ActivityEntryRow, entry_id, with_for_update=True)
            if row is None:
                return None
            old = (await self._counts(session, [entry_id]))[entry_id]
            at = _naive(now)
            for measure in sorted(old.keys() | fields.counts.keys()):
                before, after = old.get(measure), fields.counts.get(measure)
                if before != after:
                    session.add(ActivityChangeRow(
                        entry_id=entry_id, changed_by=staff_id, changed_at=at, action="count", measure=measure,
                        old_value=before, new_value=after,
                    ))
            await session.execute(delete(ActivityCountRow).where(ActivityCountRow.entry_id == entry_id))
            session.add_all(ActivityCountRow(entry_id=entry_id, measure=m, value=v) for m, v in fields.counts.items())
            row.day, row.type_code, row.locality_code, row.note = fields.day, fields.type, fields.locality, fields.note
            row.updated_at = at
        return _entry(row, fields.counts)

    async def delete(self, entry_id: int, staff_id: int, now: datetime) -> bool:
        """Delete an entry; the history keeps that it was deleted, by whom."""
        async with self._sessions.begin() as session:
            row = await session.get(ActivityEntryRow, entry_id, with_for_update=True)
            if row is None:
                return False
            session.add(ActivityChangeRow(
                entry_id=entry_id, changed_by=staff_id, changed_at=_naive(now), action="deleted",
            ))
            await session.delete(row)
        return True

    async def history(self, entry_id: int) -> list[Change]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ActivityChangeRow).where(ActivityChangeRow.entry_id == entry_id).order_by(ActivityChangeRow.id)
            )
            return [
                Change(r.id, r.entry_id, r.changed_by, r.changed_at.replace(tzinfo=UTC), r.action, r.measure,
                       r.old_value, r.new_value)
                for r in rows
            ]

    async def figures(self, start: date, end: date, catalogue: ActivityCatalogue) -> dict[str, Any]:
        """Every type's entries and summed counts, and the localities reached, over local dates [start, end]."""
        in_range = (ActivityEntryRow.day >= start, ActivityEntryRow.day <= end)
        async with self._sessions() as session:
            entries = {row[0]: int(row[1]) for row in await session.execute(
                select(ActivityEntryRow.type_code, func.count()).where(*in_range).group_by(ActivityEntryRow.type_code)
            )}
            sums = (await session.execute(
                select(ActivityEntryRow.type_code, ActivityCountRow.measure, func.sum(ActivityCountRow.value))
                .join(ActivityCountRow, ActivityCountRow.entry_id == ActivityEntryRow.id)
                .where(*in_range).group_by(ActivityEntryRow.type_code, ActivityCountRow.measure)
            )).all()
            places = (await session.execute(
                select(ActivityEntryRow.type_code, ActivityEntryRow.locality_code)
                .where(*in_range, ActivityEntryRow.locality_code.is_not(None)).distinct()
            )).all()
        return shape_figures(catalogue, entries, sums, places)


def shape_figures(
    catalogue: ActivityCatalogue, entries: dict[str, int], sums: Any, places: Any
) -> dict[str, Any]:
    """The `activities` part of a period's figures: every configured type (retired ones only when counted)."""
    counted: dict[str, dict[str, int]] = defaultdict(dict)
    for type_code, measure, total in sums:
        counted[type_code][measure] = int(total)
    localities: dict[str, set[str]] = defaultdict(set)
    for type_code, locality in places:
        localities[type_code].add(locality)
    by_type = {}
    for t in catalogue.types:
        if t.retired and t.code not in entries:
            continue
        by_type[t.code] = {
            "entries": int(entries.get(t.code, 0)),
            "counts": {m: counted[t.code].get(m, 0) for m in t.counts},
            "localities": len(localities[t.code]) if t.locality != "none" else None,
        }
    reached = sorted(set().union(*localities.values())) if localities else []
    visit_types = {t.code for t in catalogue.types if t.visit}
    visited = sorted({loc for code, locs in localities.items() if code in visit_types for loc in locs})
    return {
        "entries": sum(int(n) for n in entries.values()),
        "by_type": by_type,
        "localities_reached": len(reached),
        "localities_visited": len(visited),
        "localities": reached,
        "visited": visited,
    }
