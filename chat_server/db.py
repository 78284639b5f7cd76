"""Database schema (SQLAlchemy 2 mapped classes), engine and migrations."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Base(DeclarativeBase):
    """Declarative base of every dutychat table. Datetimes are naive UTC."""


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    # The only name a visitor ever sees.
    alias: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # Comma-separated ISO 639-1 codes.
    languages: Mapped[str] = mapped_column(String(128), default="")
    max_chats: Mapped[int] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    # Keyed hash of the cookie token: a database dump gives no usable cookie.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Topic(Base):
    __tablename__ = "topics"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_code: Mapped[str] = mapped_column(String(32))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class ChatSessionRow(Base):
    """One row per chat, written once when it ends: counts, never content."""

    __tablename__ = "chat_sessions"

    # Random, made for the row; not derived from anything the visitor held.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    wait_seconds: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    visitor_messages: Mapped[int] = mapped_column(Integer)
    staff_messages: Mapped[int] = mapped_column(Integer)
    shift_id: Mapped[int | None] = mapped_column(
        ForeignKey("shifts.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (
        # Covers the report's reads of the partial days at the ends of a range.
        Index(
            "ix_chat_sessions_report", "started_at", "outcome", "language", "wait_seconds", "duration_seconds"
        ),
        Index("ix_chat_sessions_shift_id", "shift_id"),
    )


class SessionTopic(Base):
    __tablename__ = "session_topics"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    topic_code: Mapped[str] = mapped_column(ForeignKey("topics.code"), primary_key=True)

    __table_args__ = (Index("ix_session_topics_topic_code", "topic_code"),)


class CannedResponse(Base):
    """A reply template staff insert into the composer; written by managers, never by visitors."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_canned_responses_language", "language"),)
# --- report roll-ups ----------------------------------------------------------
#
# Exact running totals of chat_sessions and session_topics, added to in the
# same transaction as each session row (rows are written once and never
# changed), so that a report over a million sessions reads thousands of rows.
# Keys are UTC: the organisation's time zone is applied when reading, so the
# totals stay right if it changes. chat_server/reports/rollup.py explains them.


class ReportSlotRow(Base):
    """Sessions per stored start time (minutes since 1970-01-01 UTC), by outcome."""

    __tablename__ = "report_slots"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    unanswered: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)


class ReportHourRow(Base):
    """Sessions per UTC hour (hours since 1970-01-01), by outcome: report_slots 4 times smaller, for
    the time zones whose offsets are whole hours (most)."""

    __tablename__ = "report_hours"

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    unanswered: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)


class ReportCountRow(Base):
    """Sessions per UTC day, month or year ('d', 'm', 'y': periods since 1970) and language or topic."""

    __tablename__ = "report_counts"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    figure: Mapped[str] = mapped_column(String(8), primary_key=True)
    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)


class ReportValueRow(Base):
    """Answered sessions per UTC day, month or year and wait (seconds) or duration (whole minutes, in seconds)."""

    __tablename__ = "report_values"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    figure: Mapped[str] = mapped_column(String(8), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sessions: Mapped[int] = mapped_column(Integer)


class FeedbackCountRow(Base):
    """Anonymous chat ratings: a count per local day and rating, nothing that links to a chat."""

    __tablename__ = "feedback_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rating: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)


# Imported for its side effect: roster tables join the same metadata.
from roster import models as _roster_models  # noqa: E402,F401


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    """Create the async engine for a SQLAlchemy URL (the pool bounds apply to server databases)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply Alembic migrations up to revision on this engine."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, url, revision)


def migrate_sync(url: str) -> None:
    """Apply migrations from synchronous code (the CLI)."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
