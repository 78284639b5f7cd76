"""Peer group sessions on the roster: group slots, their occurrences and their moderators.

A group slot recurs like a duty slot (weekly, or once on a local date, wall
times in its zone) and is expanded by the same pure `roster.schedule.expand`;
it is kept in a table of its own so that chat routing, opening hours and the
duty reports never count a group session as one-to-one chat duty. Moderators
sign up for one occurrence: a moderator shift (`group_moderators`), in naive
UTC like every shift. Titles and rules are per language; nothing here names
a visitor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.models_base import Base
from roster.repository import Conflict, NotFound
from roster.schedule import DutySlot, Occurrence, SlotKind, expand, occurrence_of

MAX_CAPACITY = 500
MAX_TITLE_LENGTH = 120
MAX_RULES_LENGTH = 4000


class GroupSlotRow(Base):
    """A peer group slot: weekly on a weekday, or once on a local date; wall times in `timezone`."""

    __tablename__ = "group_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    on_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    start_local: Mapped[time] = mapped_column(Time)
    end_local: Mapped[time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int] = mapped_column(Integer)
    moderators_needed: Mapped[int] = mapped_column(Integer, default=1)
    # Comma-separated ISO 639-1 codes: the languages the group is held in.
    languages: Mapped[str] = mapped_column(String(128), default="")
    # JSON objects language -> text, written by managers (public text, not visitors' words).
    titles: Mapped[str] = mapped_column(Text, default="{}")
    rules: Mapped[str] = mapped_column(Text, default="{}")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("kind IN ('weekly', 'once')", name="ck_group_slots_kind"),
        CheckConstraint("capacity >= 2", name="ck_group_slots_capacity"),
        CheckConstraint("moderators_needed >= 1", name="ck_group_slots_moderators_needed"),
        Index("ix_group_slots_retired", "retired"),
    )


class GroupModeratorRow(Base):
    """A moderator shift: one staff member moderating one occurrence of a group slot (naive UTC)."""

    __tablename__ = "group_moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_slot_id: Mapped[int] = mapped_column(ForeignKey("group_slots.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("uq_group_moderators_occurrence_staff", "group_slot_id", "occurrence_date", "staff_id", unique=True),
        Index("ix_group_moderators_ends_at", "ends_at"),
    )


@dataclass(frozen=True, slots=True)
class GroupSlot:
    """A group slot: its timing (a DutySlot whose `needed` is the moderators needed) and what it offers."""

    timing: DutySlot
    capacity: int
    titles: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)

    @property
    def slot_id(self) -> int:
        return self.timing.slot_id

    def __post_init__(self) -> None:
        if not 2 <= self.capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be between 2 and {MAX_CAPACITY}")
        for language, title in self.titles.items():
            if language not in self.timing.languages and self.timing.languages:
                raise ValueError(f"a title in {language}, which the group is not held in")
            if not title.strip() or len(title) > MAX_TITLE_LENGTH:
                raise ValueError(f"a title is 1 to {MAX_TITLE_LENGTH} characters")
        for text in self.rules.values():
            if len(text) > MAX_RULES_LENGTH:
                raise ValueError(f"the rules are at most {MAX_RULES_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class GroupOccurrence:
    """One planned group session: a slot occurrence, its moderators' staff ids, what it offers."""

    slot: GroupSlot
    occurrence: Occurrence
    moderators: tuple[int, ...] = ()

    @property
    def room_id(self) -> str:
        return room_id(self.slot.slot_id, self.occurrence.local_date)

    @property
    def starts_at(self) -> datetime:
        return self.occurrence.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.occurrence.ends_at

    def covers(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


def room_id(slot_id: int, day: date) -> str:
    """The id of a group session: its slot and local date (stable across workers)."""
    return f"{slot_id}-{day.isoformat()}"


def group_occurrences(
    slots: list[GroupSlot], moderators: dict[tuple[int, date], tuple[int, ...]], start: datetime, end: datetime
) -> list[GroupOccurrence]:
    """Return the group sessions overlapping [start, end), ordered by start (pure)."""
    by_id = {slot.slot_id: slot for slot in slots}
    return [
        GroupOccurrence(by_id[occ.slot_id], occ, moderators.get(occ.key, ()))
        for occ in expand([s.timing for s in slots], [], start, end, include_cancelled=False)
    ]


def running_at(occurrences: list[GroupOccurrence], now: datetime) -> list[GroupOccurrence]:
    return [o for o in occurrences if o.covers(now)]


# --- the repository ----------------------------------------------------------


def _to_db(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def _languages(value: str) -> tuple[str, ...]:
    return tuple(code for code in value.split(",") if code)


def _group_slot(row: GroupSlotRow) -> GroupSlot:
    kind = SlotKind(row.kind)
    weekly = kind is SlotKind.WEEKLY
    timing = DutySlot(
        slot_id=row.id, kind=kind, start=row.start_local, end=row.end_local, zone=row.timezone,
        needed=row.moderators_needed, languages=_languages(row.languages), weekday=row.weekday, on_date=row.on_date,
        valid_from=row.valid_from if weekly else None, valid_until=row.valid_until if weekly else None,
        retired=row.retired,
    )
    return GroupSlot(timing, row.capacity, json.loads(row.titles), json.loads(row.rules))


def _write(row: GroupSlotRow, slot: GroupSlot) -> None:
    timing = slot.timing
    valid_from = timing.valid_from if timing.kind is SlotKind.WEEKLY else timing.on_date
    if valid_from is None:
        raise ValueError("a weekly group slot needs valid_from")
    row.kind, row.weekday, row.on_date = timing.kind.value, timing.weekday, timing.on_date
    row.start_local, row.end_local, row.timezone = timing.start, timing.end, timing.zone
    row.capacity, row.moderators_needed = slot.capacity, timing.needed
    row.languages = ",".join(timing.languages)
    row.titles = json.dumps(slot.titles, ensure_ascii=False, sort_keys=True)
    row.rules = json.dumps(slot.rules, ensure_ascii=False, sort_keys=True)
    row.valid_from, row.valid_until, row.retired = valid_from, timing.valid_until, timing.retired


# The roster's own refusals (the HTTP edge maps them by exact type): no such group slot or
# session that date; a change that clashes with what is there (already signed up, retired).
GroupSlotNotFound = NotFound
GroupSlotConflict = Conflict


class GroupSlotRepository:
    """Group slots and their moderator shifts; returns dataclasses."""

    # Moderators sign up for sessions up to this far ahead; the cache reads this window.
    WINDOW_AFTER = timedelta(days=60)
    WINDOW_BEFORE = timedelta(days=1)

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, slot: GroupSlot) -> GroupSlot:
        async with self._sessions.begin() as session:
            row = GroupSlotRow()
            _write(row, slot)
            session.add(row)
            await session.flush()
            return _group_slot(row)

    async def replace(self, slot: GroupSlot) -> GroupSlot:
        """Store new values of an existing slot (titles, rules, capacity, times)."""
        async with self._sessions.begin() as session:
            row = await self._row(session, slot.slot_id)
            if row.retired:
                raise GroupSlotConflict("the group slot is retired")
            _write(row, slot)
            return _group_slot(row)

    async def get(self, slot_id: int) -> GroupSlot:
        async with self._sessions() as session:
            return _group_slot(await self._row(session, slot_id))

    async def list_slots(self, include_retired: bool = False) -> list[GroupSlot]:
        query = select(GroupSlotRow).order_by(GroupSlotRow.id)
        if not include_retired:
            query = query.where(GroupSlotRow.retired.is_(False))
        async with self._sessions() as session:
            return [_group_slot(r) for r in await session.scalars(query)]

    async def retire(self, slot_id: int) -> None:
        async with self._sessions.begin() as session:
            (await self._row(session, slot_id)).retired = True

    async def sign_up(self, slot_id: int, day: date, staff_id: int) -> GroupOccurrence:
        """Add a moderator shift for one occurrence; GroupSlotConflict if already signed up."""
        async with self._sessions.begin() as session:
            slot = _group_slot(await self._row(session, slot_id))
            occurrence = self._occurrence(slot, day)
            session.add(GroupModeratorRow(
                group_slot_id=slot_id, occurrence_date=day, staff_id=staff_id,
                starts_at=_to_db(occurrence.starts_at), ends_at=_to_db(occurrence.ends_at),
            ))
            try:
                await session.flush()
            except IntegrityError as exc:
                raise GroupSlotConflict("already signed up to moderate this session") from exc
        return (await self.occurrences(occurrence.starts_at, occurrence.ends_at, only=slot_id))[0]

    async def release(self, slot_id: int, day: date, staff_id: int) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(GroupModeratorRow).where(
                GroupModeratorRow.group_slot_id == slot_id, GroupModeratorRow.occurrence_date == day,
                GroupModeratorRow.staff_id == staff_id,
            ))
            if not getattr(result, "rowcount", 0):
                raise GroupSlotNotFound("not signed up to moderate this session")

    async def occurrences(self, start: datetime, end: datetime, only: int | None = None) -> list[GroupOccurrence]:
        """The group sessions overlapping [start, end) with their moderators."""
        slots = [s for s in await self.list_slots() if only is None or s.slot_id == only]
        async with self._sessions() as session:
            rows = await session.scalars(select(GroupModeratorRow).where(
                GroupModeratorRow.ends_at > _to_db(start - timedelta(days=2)),
                GroupModeratorRow.starts_at < _to_db(end + timedelta(days=2)),
            ).order_by(GroupModeratorRow.id))
            moderators: dict[tuple[int, date], tuple[int, ...]] = {}
            for row in rows:
                key = (row.group_slot_id, row.occurrence_date)
                moderators[key] = (*moderators.get(key, ()), row.staff_id)
        return group_occurrences(slots, moderators, start, end)

    @staticmethod
    def _occurrence(slot: GroupSlot, day: date) -> Occurrence:
        occurrence = occurrence_of(slot.timing, [], day)
        if occurrence is None:
            raise GroupSlotNotFound(f"group slot {slot.slot_id} has no session on {day.isoformat()}")
        return occurrence

    @staticmethod
    async def _row(session: AsyncSession, slot_id: int) -> GroupSlotRow:
        row = await session.get(GroupSlotRow, slot_id)
        if row is None:
            raise GroupSlotNotFound(f"no group slot {slot_id}")
        return row


class GroupSchedule:
    """The coming group sessions, cached briefly: every socket join and status request reads it."""

    TTL = timedelta(seconds=5)

    def __init__(self, repository: GroupSlotRepository) -> None:
        self.repository = repository
        self._cached: tuple[datetime, list[GroupOccurrence]] | None = None

    def invalidate(self) -> None:
        self._cached = None

    async def around(self, now: datetime) -> list[GroupOccurrence]:
        """Sessions from a day ago to the window's end (a movable clock in either direction resets it)."""
        if self._cached is not None:
            at, found = self._cached
            if timedelta(0) <= now - at < self.TTL:
                return found
        found = await self.repository.occurrences(
            now - GroupSlotRepository.WINDOW_BEFORE, now + GroupSlotRepository.WINDOW_AFTER
        )
        self._cached = (now, found)
        return found

    async def running(self, now: datetime) -> list[GroupOccurrence]:
        return running_at(await self.around(now), now)

    async def find(self, room: str, now: datetime) -> GroupOccurrence | None:
        return next((o for o in await self.around(now) if o.room_id == room), None)

    async def upcoming(self, now: datetime, until: datetime) -> list[GroupOccurrence]:
        return [o for o in await self.around(now) if o.ends_at > now and o.starts_at < until]
