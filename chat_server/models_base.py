"""The declarative base every package's tables share (one metadata, one Alembic history)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every dutychat table. Datetimes are naive UTC."""
