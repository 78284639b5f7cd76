"""Core tables (staff, logins, topics, chat sessions, canned responses), engine and migrations.

The roster and report tables live with their packages (roster.models, chat_server.reports.models).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    false,
    inspect,
    text,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.models_base import Base

__all__ = [
    "AuthSession", "Base", "CannedResponse", "ChatSessionRow", "RecoveryCode", "SessionTopic", "Staff", "Topic",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


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
    # A password a manager issued: it must be changed at the first sign-in and stops working at expiry.
    password_temporary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # TOTP second factor: the base32 secret once confirmed, the one being enrolled, and the
    # last time step used (a code is accepted once).
    # Sealed with the service's key (chat_server/sealing.py), never stored as they are.
    totp_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RecoveryCode(Base):
    """A one-time recovery code of a TOTP second factor, by its SHA-256 (the codes are random)."""

    __tablename__ = "staff_recovery_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)


class StaffAlertPrefs(Base):
    """How a member's console alerts them, kept per account (no row: the defaults, all on)."""

    __tablename__ = "staff_alert_prefs"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    sound: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    desktop: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The browser's notification permission was asked once (at a check-in).
    permission_asked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    # Keyed hash of the cookie token: a database dump gives no usable cookie.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the owner's session list calls it (random, not derived from the token).
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    # signed_in, or the sign-in step still to do (chat_server.accounts.SessionState).
    state: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
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
    # Language desks (counts only): the language first asked for, the one an answered chat was
    # answered in (None: not answered), whether the two differ, and whether the visitor left
    # because nobody on duty spoke their language. `language` is the one the chat ended in.
    requested_language: Mapped[str] = mapped_column(String(8), server_default="")
    answered_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    switched_language: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    left_for_language: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The visitor waited while nobody was checked in (the staff and managers were alerted).
    waited_unstaffed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The chat started from a peer group moderator's invitation (participant:invite); nothing links it to the group.
    from_group: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # A colleague was brought into the chat as a second responder, or as a listener in training (counts only).
    had_second_responder: Mapped[bool] = mapped_column(Boolean, server_default=false())
    had_listener: Mapped[bool] = mapped_column(Boolean, server_default=false())

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


class SessionFlag(Base):
    """A flag category staff raised on a chat (chat:flag): a code, never any text."""

    __tablename__ = "session_flags"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_session_flags_category", "category"),)


class HelpAlarmRow(Base):
    """A "Help now" alarm, counted: when it was raised and answered (rounded), nothing about who or which chat."""

    __tablename__ = "help_alarms"

    # Random, made for the row; the live alarm's id is another.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_help_alarms_raised_at", "raised_at"),)


class DebriefRow(Base):
    """A member's request for a debrief after a flagged chat: who and when, done when; no chat, no session."""

    __tablename__ = "debrief_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (Index("ix_debrief_requests_requested_at", "requested_at"),)


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


class SafetyTextRow(Base):
    """The organisation's safety text of one language (help lines, emergency number); written by managers."""

    __tablename__ = "safety_texts"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
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


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# The Alembic config attribute that carries the service's secret key to a migration.
SECRET_ATTRIBUTE = "dutychat_secret"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# The migration that seals stored second-factor secrets with the service's key.
SEALING_REVISION = "0009"


def _upgrade(connection: Connection, url: str, revision: str, secret: bytes | None) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    # A migration that seals stored secrets needs the service's key (SECRET_ATTRIBUTE).
    cfg.attributes[SECRET_ATTRIBUTE] = secret
    if secret is None:
        _refuse_sealing_without_key(cfg, connection, revision)
    from alembic.script import ScriptDirectory

    from chat_server.reports.repository import (
        ROLLUPS_AT_HEAD_ATTRIBUTE,
        ROLLUPS_PENDING_ATTRIBUTE,
        rebuild_rollups,
    )

    heads = ScriptDirectory.from_config(cfg).get_heads()
    cfg.attributes[ROLLUPS_AT_HEAD_ATTRIBUTE] = revision == "head" or [revision] == heads
    command.upgrade(cfg, revision)
    if cfg.attributes.pop(ROLLUPS_PENDING_ATTRIBUTE, False):
        rebuild_rollups(connection)  # once, on the final schema, for every migration that asked


def _refuse_sealing_without_key(cfg: Config, connection: Connection, revision: str) -> None:
    """Refuse before the first step, not at the sealing one: SQLite's DDL of the steps before is not rolled back."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = MigrationContext.configure(connection).get_current_revision()
    pending = {step.revision for step in ScriptDirectory.from_config(cfg).iterate_revisions(revision, current)}
    if SEALING_REVISION not in pending or not inspect(connection).has_table("staff"):
        return
    if "totp_secret" not in {c["name"] for c in inspect(connection).get_columns("staff")}:
        return  # before 0006: no second factor can be stored yet
    stored = connection.execute(text(
        "SELECT 1 FROM staff WHERE totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL LIMIT 1"
    )).first()
    if stored is not None:
        raise RuntimeError(
            "second factors are stored: run this migration with `dutychat migrate`, "
            "which knows the service secret key they are sealed with"
        )


async def migrate(engine: AsyncEngine, revision: str = "head", secret: bytes | None = None) -> None:
    """Apply Alembic migrations up to revision on this engine (secret: the service's `auth.secret_key`)."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, url, revision, secret)


def migrate_sync(url: str) -> None:
    """Apply migrations from synchronous code (the CLI)."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
