"""Counts-only rows of the group sessions held, and the group figures of a period.

One row per session, written once when it ends: planned and real times
(rounded to `chat.session_time_resolution_minutes`), peak and total
participants, messages, removed messages, removed and muted participants,
reports and moderators present. Nothing names a participant or says what
was written.

`group_figures` is the function other reports call (the activities report of
issue #20 includes it in its yearly summary).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.chat.records import round_down
from chat_server.groups.room import Room
from chat_server.models_base import Base


class GroupSessionRow(Base):
    """One peer group session held: counts and rounded times only."""

    __tablename__ = "group_sessions"

    # The session's room id: "{group slot id}-{local date}".
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_slot_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_slots.id", ondelete="SET NULL"), nullable=True
    )
    occurrence_date: Mapped[date] = mapped_column(Date)
    planned_start: Mapped[datetime] = mapped_column(DateTime)
    planned_end: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime] = mapped_column(DateTime)
    language: Mapped[str] = mapped_column(String(16), default="")
    # ended: a moderator ended it; over: its planned time ran out.
    end_reason: Mapped[str] = mapped_column(String(16))
    peak_participants: Mapped[int] = mapped_column(Integer)
    total_participants: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    removed_messages: Mapped[int] = mapped_column(Integer)
    removed_participants: Mapped[int] = mapped_column(Integer)
    muted_participants: Mapped[int] = mapped_column(Integer)
    reports: Mapped[int] = mapped_column(Integer)
    moderators_present: Mapped[int] = mapped_column(Integer)
    # One-to-one chat invitations the moderators sent (migration 0015): a count, never whom.
    invitations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_group_sessions_started_at", "started_at"),)


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """What the peer group did over a period (local dates, both inclusive)."""

    sessions: int
    participants: int
    peak_participants: int
    messages: int
    removed_messages: int
    removed_participants: int
    muted_participants: int
    reports: int
    moderator_sessions: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def _from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


class GroupSessionRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], resolution_minutes: int) -> None:
        self._sessions = sessions
        self.resolution = resolution_minutes

    async def write(self, room: Room, ended_at: datetime, reason: str) -> bool:
        """Write the row of an ended room once; a second write of the same id is a no-op."""
        slot_id, _, day = room.room_id.partition("-")
        counts = room.counts
        row = GroupSessionRow(
            id=room.room_id, group_slot_id=int(slot_id), occurrence_date=date.fromisoformat(day),
            planned_start=_naive(_from_iso(room.planned_start)), planned_end=_naive(_from_iso(room.planned_end)),
            started_at=_naive(round_down(_from_iso(room.started_at), self.resolution)),
            ended_at=_naive(round_down(ended_at, self.resolution)),
            language=room.language, end_reason=reason,
            peak_participants=counts.peak_participants, total_participants=counts.total_participants,
            messages=counts.messages, removed_messages=counts.removed_messages,
            removed_participants=counts.removed_participants, muted_participants=counts.muted,
            reports=counts.reports, moderators_present=len(room.moderators), invitations=counts.invitations,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            async with self._sessions() as session:
                if await session.get(GroupSessionRow, room.room_id) is not None:
                    return False
            raise
        return True

    async def rows(self, start: date, end: date, zone: ZoneInfo) -> list[dict[str, object]]:
        """The session rows whose start falls on local dates start..end, oldest first."""
        first, last = _bounds(start, end, zone)
        async with self._sessions() as session:
            found = await session.scalars(
                select(GroupSessionRow)
                .where(GroupSessionRow.started_at >= first, GroupSessionRow.started_at < last)
                .order_by(GroupSessionRow.started_at, GroupSessionRow.id)
            )
            return [{c.name: getattr(r, c.name) for c in GroupSessionRow.__table__.columns} for r in found]


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = datetime.combine(start, time(0), tzinfo=zone)
    last = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    return _naive(first), _naive(last)


async def group_figures(
    sessions: async_sessionmaker[AsyncSession], start: date, end: date, zone: ZoneInfo
) -> GroupFigures:
    """The peer group's figures for local dates start..end inclusive (for any report to include)."""
    first, last = _bounds(start, end, zone)
    row = GroupSessionRow
    query = select(
        func.count(row.id), func.coalesce(func.sum(row.total_participants), 0),
        func.coalesce(func.max(row.peak_participants), 0), func.coalesce(func.sum(row.messages), 0),
        func.coalesce(func.sum(row.removed_messages), 0), func.coalesce(func.sum(row.removed_participants), 0),
        func.coalesce(func.sum(row.muted_participants), 0), func.coalesce(func.sum(row.reports), 0),
        func.coalesce(func.sum(row.moderators_present), 0),
    ).where(row.started_at >= first, row.started_at < last)
    async with sessions() as session:
        values = (await session.execute(query)).one()
    return GroupFigures(*(int(v) for v in values))


CSV_COLUMNS = (
    "id", "occurrence_date", "planned_start", "planned_end", "started_at", "ended_at", "language", "end_reason",
    "peak_participants", "total_participants", "messages", "removed_messages", "removed_participants",
    "muted_participants", "reports", "moderators_present", "invitations",
)


def figures_csv(start: date, end: date, figures: GroupFigures, rows: list[dict[str, object]]) -> str:
    """The period's totals, then one line per session held (counts and times only)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period", "figure", "value"])
    period = f"{start.isoformat()}..{end.isoformat()}"
    for name, value in figures.as_dict().items():
        writer.writerow([period, f"group.{name}", value])
    writer.writerow([])
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def csv_cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


SENTENCES = {
    "en": "The peer group met {sessions} times, {participants} participants in all.",
    "fi": "Vertaisryhmä kokoontui {sessions} kertaa, osallistujia yhteensä {participants}.",
}


def summary_sentence(figures: GroupFigures, lang: str) -> str:
    """The summary text's line about the group ("the peer group met N times, M participants in all")."""
    return SENTENCES.get(lang, SENTENCES["en"]).format(sessions=figures.sessions, participants=figures.participants)
