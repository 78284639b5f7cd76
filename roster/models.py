"""Roster tables (SQLAlchemy 2 mapped classes).

Slots and their exceptions hold local wall-clock times and local dates in the
slot's IANA zone; concrete shifts hold naive UTC like every other instant in
the database, copied from the slot occurrence when staff are assigned, so that
routing stays a plain time-range query on `shifts`.
"""

from __future__ import annotations

from datetime import date, datetime, time

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.models_base import Base


class DutySlotRow(Base):
    """A duty slot: weekly on a weekday, or once on a local date; wall times in `timezone`."""

    __tablename__ = "duty_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    # 0 = Monday; set for weekly slots only.
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The local date of a one-off slot.
    on_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Local wall times; end <= start means the slot ends on the next local date.
    start_local: Mapped[time] = mapped_column(Time)
    end_local: Mapped[time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    needed: Mapped[int] = mapped_column(Integer)
    # Comma-separated ISO 639-1 codes.
    languages: Mapped[str] = mapped_column(String(128), default="")
    # Local dates, both inclusive; a one-off slot has valid_from = on_date.
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("kind IN ('weekly', 'once')", name="ck_duty_slots_kind"),
        CheckConstraint("needed >= 1", name="ck_duty_slots_needed"),
        # IS NOT NULL spelled out: a CHECK that evaluates to NULL passes.
        CheckConstraint(
            "(kind = 'weekly' AND weekday IS NOT NULL AND weekday BETWEEN 0 AND 6 AND on_date IS NULL)"
            " OR (kind = 'once' AND on_date IS NOT NULL AND weekday IS NULL)",
            name="ck_duty_slots_kind_fields",
        ),
        Index("ix_duty_slots_retired", "retired"),
    )


class SlotExceptionRow(Base):
    """One local date of a slot: cancelled, or with other wall times (NULL keeps the slot's)."""

    __tablename__ = "slot_exceptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("duty_slots.id", ondelete="CASCADE"))
    # The local date the occurrence would start on.
    on_date: Mapped[date] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    start_local: Mapped[time | None] = mapped_column(Time, nullable=True)
    end_local: Mapped[time | None] = mapped_column(Time, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("slot_id", "on_date", name="uq_slot_exceptions_slot_id_on_date"),)


class ShiftRow(Base):
    """A staff member's duty shift, in naive UTC, optionally staffing one slot occurrence."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    # No ON DELETE action: slots are retired, not deleted, and a slot that has
    # shifts (which chat sessions are counted against) cannot be deleted.
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("duty_slots.id"), nullable=True)
    occurrence_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Duty held, as counts and times only (no log of movements): the first
    # check-in on this shift, the minutes checked in so far, and while checked
    # in the instant the current stretch began (cleared at check-out).
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    checked_in_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checked_in_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("ix_shifts_ends_at_starts_at", "ends_at", "starts_at"),
        Index("ix_shifts_staff_id", "staff_id"),
        # A unique index rather than a constraint: SQLite can add an index
        # without rebuilding the table (see migration 0002).
        Index("uq_shifts_slot_occurrence_staff", "slot_id", "occurrence_date", "staff_id", unique=True),
    )


class CalendarFeedRow(Base):
    """A secret calendar feed URL of a staff member: their own shifts, or (managers) all."""

    __tablename__ = "calendar_feeds"

    # Keyed hash of the URL token; the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("staff_id", "scope", name="uq_calendar_feeds_staff_scope"),)


class OnCallRow(Base):
    """A period in which a member is the manager on call (naive UTC); not a chat shift."""

    __tablename__ = "on_call_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_on_call_periods_order"),
        Index("ix_on_call_periods_ends_at_starts_at", "ends_at", "starts_at"),
    )
