"""Writing counts-only session rows and counting them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.chat.models import SessionRecord
from chat_server.clock import Clock
from chat_server.db import ChatSessionRow, HelpAlarmRow, SessionFlag, SessionTopic
from chat_server.reports import rollup
from chat_server.reports.repository import ReportRepository, add_to_rollups
from chat_server.reports.rollup import Rollup


def round_down(instant: datetime, minutes: int) -> datetime:
    """Round an aware instant down to a whole number of minutes since midnight UTC."""
    instant = instant.astimezone(UTC)
    midnight = instant.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(minutes=minutes)
    return midnight + ((instant - midnight) // step) * step


class SessionRepository:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, resolution_minutes: int = 15
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        # Alarm times are rounded like a session's start (chat.session_time_resolution_minutes).
        self._resolution = resolution_minutes

    async def write(self, record: SessionRecord) -> bool:
        """Write a session row once; a second write of the same id is a no-op."""
        try:
            async with self._sessions.begin() as session:
                session.add(
                    ChatSessionRow(
                        id=record.session_id,
                        started_at=record.started_at.astimezone(UTC).replace(tzinfo=None),
                        wait_seconds=record.wait_seconds,
                        duration_seconds=record.duration_seconds,
                        outcome=record.outcome.value,
                        language=record.language,
                        visitor_messages=record.visitor_messages,
                        staff_messages=record.staff_messages,
                        shift_id=record.shift_id,
                        requested_language=record.requested,
                        answered_language=record.answered_language,
                        switched_language=record.switched_language,
                        left_for_language=record.left_for_language,
                        waited_unstaffed=record.unstaffed,
                        from_group=record.from_group,
                        had_second_responder="responder" in record.seconds,
                        had_listener="listener" in record.seconds,
                    )
                )
                await session.flush()
                session.add_all(SessionTopic(session_id=record.session_id, topic_code=t) for t in record.topics)
                session.add_all(SessionFlag(session_id=record.session_id, category=f) for f in record.flags)
                part = Rollup()
                part.add_session(
                    record.started_at.astimezone(UTC).replace(tzinfo=None), record.outcome.value, record.language,
                    record.wait_seconds, record.duration_seconds, record.topics,
                    requested=record.requested, left_for_language=record.left_for_language, unstaffed=record.unstaffed,
                    empty=rollup.no_conversation(record.outcome.value, record.visitor_messages, bool(record.topics)),
                    flags=record.flags, from_group=record.from_group, seconds=record.seconds,
                )
                # Same transaction: the report's running totals never miss or double a row.
                await add_to_rollups(session, part)
        except IntegrityError:
            async with self._sessions() as session:
                if await session.get(ChatSessionRow, record.session_id) is not None:
                    return False
            raise
        return True

    async def count_alarm(self, alarm_id: str, raised_at: datetime) -> None:
        """Count a "Help now" alarm: its time rounded like a session's start, nobody named, no chat."""
        async with self._sessions.begin() as session:
            session.add(HelpAlarmRow(id=alarm_id, raised_at=round_down(raised_at, self._resolution).astimezone(UTC)
                                     .replace(tzinfo=None), answered=False))

    async def alarm_answered(self, alarm_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(HelpAlarmRow).where(HelpAlarmRow.id == alarm_id).values(answered=True))

    async def summary(self, start: date, end: date, zone: ZoneInfo) -> dict[str, object]:
        """Count sessions by outcome and topic for local dates start..end inclusive (from the report roll-ups)."""
        figures = await ReportRepository(self._sessions).figures(start, end, zone, self._clock.now())
        return {"total": figures["sessions"], "by_outcome": figures["by_outcome"], "by_topic": figures["by_topic"]}
