"""Report roll-up tables (SQLAlchemy 2 mapped classes).

Exact running totals of chat_sessions and session_topics, added to in the
same transaction as each session row (rows are written once and never
changed), so that a report over a million sessions reads thousands of rows.
Keys are UTC: the organisation's time zone is applied when reading, so the
totals stay right if it changes. chat_server/reports/rollup.py explains them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.models_base import Base


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


class ReportLanguageSlotRow(Base):
    """Sessions per stored start time (minutes since 1970-01-01 UTC) and language first asked for."""

    __tablename__ = "report_language_slots"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    left_for_language: Mapped[int] = mapped_column(Integer)


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
