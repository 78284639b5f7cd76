"""Roster tables (SQLAlchemy 2 mapped classes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.db import Base


class ShiftRow(Base):
    """A staff member's duty shift, in naive UTC."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_shifts_ends_at_starts_at", "ends_at", "starts_at"),
        Index("ix_shifts_staff_id", "staff_id"),
    )
