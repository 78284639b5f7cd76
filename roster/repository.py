"""Roster queries returning dataclasses, and the cache that routing reads."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import CursorResult, Result, delete, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import Staff
from roster.models import DutySlotRow, OnCallRow, ShiftRow, SlotExceptionRow
from roster.schedule import (
    DutySlot,
    Gap,
    Occurrence,
    OnCall,
    Shift,
    SlotException,
    SlotKind,
    coverage_gaps,
    expand,
    occurrence_of,
)

# Routing needs shifts around now; opening hours need the coming weeks.
_WINDOW_BEFORE = timedelta(days=1)
_WINDOW_AFTER = timedelta(days=60)
# Local dates of any zone lie within this of the UTC date, with room for an
# occurrence that starts the local day before and spans midnight.
_DATE_SLACK = timedelta(days=2)


def rowcount(result: Result[Any]) -> int:
    """Rows a DELETE, UPDATE or INSERT touched (their results are cursor results)."""
    return cast(CursorResult[Any], result).rowcount


def to_db(instant: datetime) -> datetime:
    """Aware datetime → naive UTC as stored."""
    return instant.astimezone(UTC).replace(tzinfo=None)


def from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _shift(row: ShiftRow) -> Shift:
    return Shift(
        row.id, row.staff_id, from_db(row.starts_at), from_db(row.ends_at), row.note, row.slot_id, row.occurrence_date
    )


class ShiftRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, staff_id: int, starts_at: datetime, ends_at: datetime, note: str = "") -> Shift:
        if ends_at <= starts_at:
            raise ValueError("a shift must end after it starts")
        async with self._sessions.begin() as session:
            row = ShiftRow(staff_id=staff_id, starts_at=to_db(starts_at), ends_at=to_db(ends_at), note=note)
            session.add(row)
            await session.flush()
            return _shift(row)

    async def record_check_in(self, shift: Shift, now: datetime) -> None:
        """Note a check-in on a shift: its first check-in, and the start of this stretch.

        Stretches the member left open on other shifts (a check-out lost with the
        live state) are closed first, at those shifts' ends.
        """
        at = to_db(now)
        async with self._sessions.begin() as session:
            await self._close_stretches(session, shift.staff_id, at, but=shift.shift_id)
            row = await session.get(ShiftRow, shift.shift_id, with_for_update=True)
            if row is None:
                return  # deleted meanwhile
            row.checked_in_at = row.checked_in_at or at
            row.checked_in_since = row.checked_in_since or at

    async def record_check_out(self, staff_id: int, now: datetime) -> None:
        """Close a member's checked-in stretches: add their minutes (up to each shift's end)."""
        async with self._sessions.begin() as session:
            await self._close_stretches(session, staff_id, to_db(now))

    @staticmethod
    async def _close_stretches(session: AsyncSession, staff_id: int, at: datetime, but: int | None = None) -> None:
        query = select(ShiftRow).where(ShiftRow.staff_id == staff_id, ShiftRow.checked_in_since.is_not(None))
        if but is not None:
            query = query.where(ShiftRow.id != but)
        for row in await session.scalars(query.with_for_update()):
            since = cast(datetime, row.checked_in_since)
            seconds = (min(at, row.ends_at) - since).total_seconds()
            row.checked_in_minutes += max(0, round(seconds / 60))  # to the nearest minute
            row.checked_in_since = None

    async def between(self, start: datetime, end: datetime) -> list[Shift]:
        """Return shifts overlapping [start, end)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ShiftRow)
                .where(ShiftRow.ends_at > to_db(start), ShiftRow.starts_at < to_db(end))
                .order_by(ShiftRow.starts_at, ShiftRow.id)
            )
            return [_shift(r) for r in rows]

    async def of_staff(self, staff_id: int, start: datetime, end: datetime) -> list[Shift]:
        """Return the staff member's shifts overlapping [start, end)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ShiftRow)
                .where(
                    ShiftRow.staff_id == staff_id, ShiftRow.ends_at > to_db(start), ShiftRow.starts_at < to_db(end)
                )
                .order_by(ShiftRow.starts_at, ShiftRow.id)
            )
            return [_shift(r) for r in rows]

    async def delete(self, shift_id: int) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ShiftRow).where(ShiftRow.id == shift_id))
            return bool(rowcount(result))


# --- duty slots -------------------------------------------------------------


class RosterError(Exception):
    """A roster change refused, with a stable code for the HTTP edge."""

    code = "roster_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(RosterError):
    code = "not_found"


class Conflict(RosterError):
    code = "conflict"


class SlotChanges(TypedDict, total=False):
    """Fields of a slot that update_slot may change (kind and retired are not among them)."""

    start: time
    end: time
    zone: str
    needed: int
    languages: tuple[str, ...]
    weekday: int
    on_date: date
    valid_from: date
    valid_until: date | None
    note: str


@dataclass(frozen=True, slots=True)
class Resync:
    """Shifts not yet started that a slot change moved to new times or removed."""

    moved: tuple[Shift, ...] = ()
    removed: tuple[Shift, ...] = ()


@dataclass(frozen=True, slots=True)
class AssignedShift:
    """A shift and the slot occurrence it staffs (None for a shift outside any slot)."""

    shift: Shift
    occurrence: Occurrence | None


def _languages(value: str) -> tuple[str, ...]:
    return tuple(code for code in value.split(",") if code)


def _slot(row: DutySlotRow) -> DutySlot:
    kind = SlotKind(row.kind)
    weekly = kind is SlotKind.WEEKLY
    return DutySlot(
        slot_id=row.id, kind=kind, start=row.start_local, end=row.end_local, zone=row.timezone, needed=row.needed,
        languages=_languages(row.languages), weekday=row.weekday, on_date=row.on_date,
        # A one-off slot stores valid_from = on_date for the NOT NULL column; the dataclass leaves it unset.
        valid_from=row.valid_from if weekly else None, valid_until=row.valid_until if weekly else None,
        retired=row.retired, note=row.note,
    )


def _write_slot(row: DutySlotRow, slot: DutySlot) -> None:
    if slot.kind is SlotKind.WEEKLY and slot.valid_from is None:
        raise ValueError("a weekly slot needs valid_from")
    row.kind = slot.kind.value
    row.weekday = slot.weekday
    row.on_date = slot.on_date
    row.start_local = slot.start
    row.end_local = slot.end
    row.timezone = slot.zone
    row.needed = slot.needed
    row.languages = ",".join(slot.languages)
    # A one-off slot stores its date as valid_from (the column is NOT NULL).
    valid_from = slot.valid_from if slot.kind is SlotKind.WEEKLY else slot.on_date
    if valid_from is None:
        raise ValueError("a one-off slot needs on_date")
    row.valid_from = valid_from
    row.valid_until = slot.valid_until
    row.retired = slot.retired
    row.note = slot.note


def _exception(row: SlotExceptionRow) -> SlotException:
    return SlotException(row.slot_id, row.on_date, row.cancelled, row.start_local, row.end_local, row.note)


class SlotRepository:
    """Duty slots, their exceptions, and assigning staff to slot occurrences.

    Raises ValueError for invalid values, NotFound and Conflict (RosterError)
    for refused changes; a refused change changes nothing. Changes that move
    or cancel occurrences also move or remove the concrete shifts assigned to
    them that have not started yet (a running shift is left alone) and report
    them in a Resync. Callers invalidate the RosterCache after any change.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # slots

    async def create_weekly(
        self, weekday: int, start: time, end: time, zone: str, valid_from: date, *, needed: int = 1,
        languages: tuple[str, ...] = (), valid_until: date | None = None, note: str = "",
    ) -> DutySlot:
        """Create a slot recurring weekly from valid_from (local dates, inclusive)."""
        slot = DutySlot.weekly(0, weekday, start, end, zone, needed=needed, languages=languages,
                               valid_from=valid_from, valid_until=valid_until, note=note)
        return await self._insert(slot)

    async def create_once(
        self, on_date: date, start: time, end: time, zone: str, *, needed: int = 1,
        languages: tuple[str, ...] = (), note: str = "",
    ) -> DutySlot:
        """Create a one-off slot on a local date."""
        return await self._insert(
            DutySlot.once(0, on_date, start, end, zone, needed=needed, languages=languages, note=note)
        )

    async def _insert(self, slot: DutySlot) -> DutySlot:
        async with self._sessions.begin() as session:
            row = DutySlotRow()
            _write_slot(row, slot)
            session.add(row)
            await session.flush()
            return _slot(row)

    async def get(self, slot_id: int) -> DutySlot:
        async with self._sessions() as session:
            return _slot(await self._slot_row(session, slot_id))

    async def list_slots(self, include_retired: bool = False) -> list[DutySlot]:
        query = select(DutySlotRow).order_by(DutySlotRow.id)
        if not include_retired:
            query = query.where(DutySlotRow.retired.is_(False))
        async with self._sessions() as session:
            return [_slot(r) for r in await session.scalars(query)]

    async def update_slot(self, slot_id: int, now: datetime, **changes: Unpack[SlotChanges]) -> tuple[DutySlot, Resync]:
        """Change a slot; its assigned shifts that have not started follow the new times."""
        unknown = set(changes) - set(SlotChanges.__annotations__)
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))} of a slot")
        async with self._sessions.begin() as session:
            row = await self._slot_row(session, slot_id)
            current = _slot(row)
            if current.retired:
                raise Conflict(f"slot {slot_id} is retired")
            updated = dataclasses.replace(current, **changes)  # validates in __post_init__
            _write_slot(row, updated)
            resync = await self._resync(session, updated, now)
            return _slot(row), resync

    async def retire_slot(self, slot_id: int, now: datetime) -> Resync:
        """Retire a slot: no more occurrences; its shifts that have not started are removed."""
        async with self._sessions.begin() as session:
            row = await self._slot_row(session, slot_id)
            row.retired = True
            return await self._resync(session, _slot(row), now)

    # exceptions

    async def set_exception(
        self, slot_id: int, on_date: date, now: datetime, *, cancelled: bool = False,
        start: time | None = None, end: time | None = None, note: str = "",
    ) -> tuple[SlotException, Resync]:
        """Cancel one local date of a slot, or give it other times; replaces any earlier exception."""
        exc = SlotException(slot_id, on_date, cancelled, start, end, note)
        async with self._sessions.begin() as session:
            slot = _slot(await self._slot_row(session, slot_id))
            if not slot.occurs_on(on_date):
                raise NotFound(f"slot {slot_id} has no occurrence on {on_date.isoformat()}")
            if occurrence_of(slot, [exc], on_date) is None:
                raise ValueError("the changed times leave no time on that date")
            row = await session.scalar(
                select(SlotExceptionRow).where(SlotExceptionRow.slot_id == slot_id, SlotExceptionRow.on_date == on_date)
            )
            if row is None:
                row = SlotExceptionRow(slot_id=slot_id, on_date=on_date)
                session.add(row)
            row.cancelled, row.start_local, row.end_local, row.note = cancelled, start, end, note
            await session.flush()
            return exc, await self._resync(session, slot, now)

    async def remove_exception(self, slot_id: int, on_date: date, now: datetime) -> Resync:
        """Restore a date to the slot's usual times."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(SlotExceptionRow).where(SlotExceptionRow.slot_id == slot_id, SlotExceptionRow.on_date == on_date)
            )
            if not rowcount(result):
                raise NotFound(f"slot {slot_id} has no exception on {on_date.isoformat()}")
            return await self._resync(session, _slot(await self._slot_row(session, slot_id)), now)

    async def list_exceptions(
        self, slot_ids: Iterable[int] | None = None, first: date | None = None, last: date | None = None,
    ) -> list[SlotException]:
        """Return exceptions, optionally of some slots and between local dates (inclusive)."""
        async with self._sessions() as session:
            return await self._exceptions(session, slot_ids, first, last)

    # occurrences and assignment

    async def occurrences(self, start: datetime, end: datetime, include_cancelled: bool = True) -> list[Occurrence]:
        """Return the occurrences of active slots overlapping [start, end)."""
        async with self._sessions() as session:
            slots = [_slot(r) for r in await session.scalars(select(DutySlotRow).where(DutySlotRow.retired.is_(False)))]
            exceptions = await self._exceptions(
                session, None, (start - _DATE_SLACK).date(), (end + _DATE_SLACK).date()
            )
        return expand(slots, exceptions, start, end, include_cancelled=include_cancelled)

    async def occurrence(self, slot_id: int, day: date) -> Occurrence:
        """Return the slot's occurrence on a local date (NotFound if it has none)."""
        async with self._sessions() as session:
            return await self._occurrence(session, slot_id, day)

    async def assign(
        self, slot_id: int, occurrence_date: date, staff_id: int, note: str = "", *, only_open_place: bool = False,
    ) -> Shift:
        """Assign a staff member to an occurrence: a shift with the occurrence's UTC times.

        Refuses (NotFound) an unknown slot, staff member or occurrence, and
        (Conflict) a cancelled occurrence, a second assignment of the same
        person, or, with only_open_place (self sign-up), a full occurrence.
        """
        try:
            async with self._sessions.begin() as session:
                if only_open_place:
                    # Lock the slot row so two sign-ups cannot both take the last place.
                    await session.execute(
                        select(DutySlotRow.id).where(DutySlotRow.id == slot_id).with_for_update()
                    )
                occ = await self._occurrence(session, slot_id, occurrence_date)
                if occ.cancelled:
                    raise Conflict(f"slot {slot_id} is cancelled on {occurrence_date.isoformat()}")
                if await session.get(Staff, staff_id) is None:
                    raise NotFound(f"no staff member {staff_id}")
                if await self._assigned_row(session, slot_id, occurrence_date, staff_id) is not None:
                    raise Conflict("already assigned to this occurrence")
                values = {
                    "staff_id": staff_id, "starts_at": to_db(occ.starts_at), "ends_at": to_db(occ.ends_at),
                    "note": note, "slot_id": slot_id, "occurrence_date": occurrence_date,
                }
                if only_open_place:
                    # Count and insert in one statement: on SQLite the slot lock above does
                    # nothing, and a count read before the insert could be stale.
                    taken = (
                        select(func.count()).select_from(ShiftRow)
                        .where(ShiftRow.slot_id == slot_id, ShiftRow.occurrence_date == occurrence_date)
                        .scalar_subquery()
                    )
                    columns = [ShiftRow.__table__.c[name] for name in values]
                    chosen = select(*(literal(v, type_=c.type) for v, c in zip(values.values(), columns, strict=True)))
                    added = await session.execute(
                        insert(ShiftRow).from_select(list(values), chosen.where(taken < occ.needed))
                    )
                    if rowcount(added) != 1:
                        raise Conflict("this duty has no open place")
                    row = await self._assigned_row(session, slot_id, occurrence_date, staff_id)
                    assert row is not None
                    return _shift(row)
                row = ShiftRow(**values)
                session.add(row)
                await session.flush()
                return _shift(row)
        except IntegrityError as exc:
            # Another worker assigned the same person first (the unique index decided).
            raise Conflict("already assigned to this occurrence") from exc

    async def unassign(self, slot_id: int, occurrence_date: date, staff_id: int) -> Shift | None:
        """Remove a staff member's shift for an occurrence; return it, or None if there was none."""
        async with self._sessions.begin() as session:
            row = await self._assigned_row(session, slot_id, occurrence_date, staff_id)
            if row is None:
                return None
            shift = _shift(row)
            await session.delete(row)
            return shift

    async def shifts_with_occurrences(
        self, start: datetime, end: datetime, staff_id: int | None = None,
    ) -> list[AssignedShift]:
        """Return shifts overlapping [start, end) (of one staff member if given) with their occurrence.

        The occurrence is computed from the slot's current definition, also
        for a retired slot, so past shifts keep theirs.
        """
        query = select(ShiftRow).where(ShiftRow.ends_at > to_db(start), ShiftRow.starts_at < to_db(end))
        if staff_id is not None:
            query = query.where(ShiftRow.staff_id == staff_id)
        async with self._sessions() as session:
            shifts = [_shift(r) for r in await session.scalars(query.order_by(ShiftRow.starts_at, ShiftRow.id))]
            slot_ids = {s.slot_id for s in shifts if s.slot_id is not None}
            slots = {
                r.id: dataclasses.replace(_slot(r), retired=False)
                for r in await session.scalars(select(DutySlotRow).where(DutySlotRow.id.in_(slot_ids)))
            } if slot_ids else {}
            dates = [s.occurrence_date for s in shifts if s.occurrence_date is not None]
            exceptions = await self._exceptions(session, slot_ids, min(dates), max(dates)) if dates else []
        result = []
        for s in shifts:
            slot = slots.get(s.slot_id) if s.slot_id is not None else None
            occ = occurrence_of(slot, exceptions, s.occurrence_date) if slot and s.occurrence_date else None
            result.append(AssignedShift(s, occ))
        return result

    async def gaps(self, start: datetime, end: datetime) -> list[Gap]:
        """Return the occurrences overlapping [start, end) with fewer staff than needed."""
        occurrences = await self.occurrences(start, end, include_cancelled=False)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ShiftRow).where(
                    ShiftRow.slot_id.is_not(None),
                    ShiftRow.occurrence_date >= (start - _DATE_SLACK).date(),
                    ShiftRow.occurrence_date <= (end + _DATE_SLACK).date(),
                )
            )
            shifts = [_shift(r) for r in rows]
        return coverage_gaps(occurrences, shifts, start, end)

    # helpers

    async def _slot_row(self, session: AsyncSession, slot_id: int) -> DutySlotRow:
        row = await session.get(DutySlotRow, slot_id)
        if row is None:
            raise NotFound(f"no slot {slot_id}")
        return row

    async def _exceptions(
        self, session: AsyncSession, slot_ids: Iterable[int] | None, first: date | None, last: date | None,
    ) -> list[SlotException]:
        query = select(SlotExceptionRow).order_by(SlotExceptionRow.slot_id, SlotExceptionRow.on_date)
        if slot_ids is not None:
            query = query.where(SlotExceptionRow.slot_id.in_(list(slot_ids)))
        if first is not None:
            query = query.where(SlotExceptionRow.on_date >= first)
        if last is not None:
            query = query.where(SlotExceptionRow.on_date <= last)
        return [_exception(r) for r in await session.scalars(query)]

    async def _occurrence(self, session: AsyncSession, slot_id: int, day: date) -> Occurrence:
        slot = _slot(await self._slot_row(session, slot_id))
        occ = occurrence_of(slot, await self._exceptions(session, [slot_id], day, day), day)
        if occ is None:
            raise NotFound(f"slot {slot_id} has no occurrence on {day.isoformat()}")
        return occ

    async def _assigned_row(
        self, session: AsyncSession, slot_id: int, day: date, staff_id: int,
    ) -> ShiftRow | None:
        return await session.scalar(
            select(ShiftRow).where(
                ShiftRow.slot_id == slot_id, ShiftRow.occurrence_date == day, ShiftRow.staff_id == staff_id
            )
        )

    async def _resync(self, session: AsyncSession, slot: DutySlot, now: datetime) -> Resync:
        """Make the slot's shifts that start after now match its occurrences; remove orphans."""
        await session.flush()
        rows = list(await session.scalars(
            select(ShiftRow).where(ShiftRow.slot_id == slot.slot_id, ShiftRow.starts_at > to_db(now))
        ))
        exceptions = await self._exceptions(session, [slot.slot_id], None, None) if rows else []
        moved: list[Shift] = []
        removed: list[Shift] = []
        for row in rows:
            occ = occurrence_of(slot, exceptions, row.occurrence_date) if row.occurrence_date else None
            if occ is None or occ.cancelled:
                removed.append(_shift(row))
                await session.delete(row)
            elif (to_db(occ.starts_at), to_db(occ.ends_at)) != (row.starts_at, row.ends_at):
                row.starts_at, row.ends_at = to_db(occ.starts_at), to_db(occ.ends_at)
                moved.append(_shift(row))
        await session.flush()
        return Resync(tuple(moved), tuple(removed))


class OnCallRepository:
    """Periods of the manager on call (not chat shifts)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, staff_id: int, starts_at: datetime, ends_at: datetime, note: str = "") -> OnCall:
        async with self._sessions() as session, session.begin():
            alias = await session.scalar(select(Staff.alias).where(Staff.id == staff_id))
            if alias is None:
                raise NotFound("no such staff member")
            row = OnCallRow(staff_id=staff_id, starts_at=to_db(starts_at), ends_at=to_db(ends_at), note=note)
            session.add(row)
            await session.flush()
            return OnCall(row.id, staff_id, alias, starts_at, ends_at, note)

    async def delete(self, period_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            return rowcount(await session.execute(delete(OnCallRow).where(OnCallRow.id == period_id))) > 0

    async def between(self, start: datetime, end: datetime) -> list[OnCall]:
        """The periods that overlap [start, end), earliest first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(OnCallRow, Staff.alias)
                .join(Staff, Staff.id == OnCallRow.staff_id)
                .where(OnCallRow.ends_at > to_db(start), OnCallRow.starts_at < to_db(end))
                .order_by(OnCallRow.starts_at, OnCallRow.id)
            )
            return [
                OnCall(r.id, r.staff_id, alias, from_db(r.starts_at), from_db(r.ends_at), r.note)
                for r, alias in rows.all()
            ]


class RosterCache:
    """Shifts around now, held in memory so that routing costs no query.

    Reloaded when invalidated (every roster change made through this process
    calls invalidate) and at least every `max_age`, which also covers changes
    made by another worker or the command line.
    """

    def __init__(
        self, repository: ShiftRepository, max_age: timedelta = timedelta(seconds=30),
        on_call: OnCallRepository | None = None,
    ) -> None:
        self._repository = repository
        self._on_call_repository = on_call
        self._on_call: list[OnCall] = []
        self._max_age = max_age
        self._shifts: list[Shift] = []
        self._loaded_at: datetime | None = None
        self._window: tuple[datetime, datetime] | None = None
        self._lock = asyncio.Lock()
        # Bumped by invalidate; a load that began before a bump is stale when it ends.
        self._generation = 0
        self._loaded_generation = -1

    def invalidate(self) -> None:
        self._generation += 1

    async def record_check_in(self, shift: Shift, now: datetime) -> None:
        await self._repository.record_check_in(shift, now)

    async def record_check_out(self, staff_id: int, now: datetime) -> None:
        await self._repository.record_check_out(staff_id, now)

    async def shifts(self, now: datetime) -> list[Shift]:
        if self._fresh(now):
            return self._shifts
        async with self._lock:
            if not self._fresh(now):
                generation = self._generation
                start, end = now - _WINDOW_BEFORE, now + _WINDOW_AFTER
                self._shifts = await self._repository.between(start, end)
                if self._on_call_repository is not None:
                    self._on_call = await self._on_call_repository.between(start, end)
                self._window = (start, end)
                self._loaded_at = now
                self._loaded_generation = generation
        return self._shifts

    async def on_call(self, now: datetime) -> list[OnCall]:
        """The periods of the manager on call that cover now (loaded with the shifts)."""
        await self.shifts(now)
        return [p for p in self._on_call if p.covers(now)]

    def _fresh(self, now: datetime) -> bool:
        if self._loaded_at is None or self._window is None or self._loaded_generation != self._generation:
            return False
        # A moved test clock can jump out of the loaded window.
        in_window = self._window[0] + _WINDOW_BEFORE / 2 <= now <= self._window[1] - _WINDOW_AFTER / 2
        return in_window and abs(now - self._loaded_at) < self._max_age
