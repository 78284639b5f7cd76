"""Activity tables (SQLAlchemy 2 mapped classes): codes, entries, their counts and the edit history.

Counts and codes only: an entry names a type, a date, an optional locality of
the managed list and who recorded it; the optional note (off unless the
organisation enables it) is the one free text and never leaves the entry.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.models_base import Base


class ActivityTypeRow(Base):
    """A code of config/activities.toml; retired, never deleted."""

    __tablename__ = "activity_types"

    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class LocalityRow(Base):
    """A code of config/localities.toml; retired, never deleted."""

    __tablename__ = "localities"

    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class ActivityEntryRow(Base):
    """One recorded activity: a local date, a type, its counts, an optional locality."""

    __tablename__ = "activity_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    type_code: Mapped[str] = mapped_column(ForeignKey("activity_types.code"))
    locality_code: Mapped[str | None] = mapped_column(ForeignKey("localities.code"), nullable=True)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    # The recording client's idempotency key: a retried submit finds its entry instead of adding one.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_activity_entries_day", "day"),
        UniqueConstraint("recorded_by", "client_id", name="uq_activity_entries_client"),
    )


class ActivityCountRow(Base):
    """One count of an entry (measure code and value)."""

    __tablename__ = "activity_counts"

    entry_id: Mapped[int] = mapped_column(ForeignKey("activity_entries.id", ondelete="CASCADE"), primary_key=True)
    measure: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class ActivityChangeRow(Base):
    """A change of one count by a manager, ids and numbers only; kept after the entry is deleted."""

    __tablename__ = "activity_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: the history outlives a deleted entry.
    entry_id: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    # "count" (a count changed; old or new null when the measure was added or dropped), "deleted".
    action: Mapped[str] = mapped_column(String(16))
    measure: Mapped[str | None] = mapped_column(String(48), nullable=True)
    old_value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    new_value: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("ix_activity_changes_entry_id", "entry_id"),)
