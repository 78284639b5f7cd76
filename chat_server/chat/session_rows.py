"""Session rows: build the counts-only row of a chat, write it once, owe it while the database is away."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from chat_server.chat.models import Chat, Outcome, SessionRecord
from chat_server.chat.records import round_down
from chat_server.clock import Clock
from chat_server.store.base import ChatStore

log = logging.getLogger(__name__)


class RowWriter(Protocol):
    async def write(self, record: SessionRecord) -> bool:
        """Write a session row once; a second write of the same id is a no-op."""


def session_record(
    chat: Chat, topics: tuple[str, ...], now: datetime, resolution_minutes: int, *, left_for_language: bool = False,
) -> SessionRecord:
    """Build the row of a finished chat (`now` stands in for an end time the chat lacks).

    Languages come from the chat's state now: `requested_language` is the one first asked for
    (kept by the store at the first switch), `language` the one it ended in.
    """
    ended_at = chat.ended_at or now
    answered_at = chat.first_assigned_at
    wait = (answered_at or ended_at) - chat.created_at
    duration = ended_at - answered_at if answered_at else timedelta(0)
    return SessionRecord(
        session_id=chat.session_id,
        started_at=round_down(chat.created_at, resolution_minutes),
        wait_seconds=max(0, int(wait.total_seconds())),
        duration_seconds=max(0, int(duration.total_seconds())),
        # A chat assigned at least once is answered, even if it was ended from a stale
        # waiting snapshot while another worker assigned it.
        outcome=Outcome.ANSWERED if chat.outcome is Outcome.ABANDONED and chat.was_answered
        else chat.outcome or Outcome.ABANDONED,
        language=chat.language,
        visitor_messages=chat.visitor_messages,
        staff_messages=chat.staff_messages,
        shift_id=chat.shift_id,
        topics=topics,
        requested_language=chat.requested_language or chat.language,
        left_for_language=left_for_language and not chat.was_answered,
        unstaffed=chat.unstaffed,
        flags=chat.flags,
        from_group=chat.from_group,
        seconds=chat.seconds,
    )


def closed_record(language: str, now: datetime, resolution_minutes: int) -> SessionRecord:
    """Build the row of a visitor who arrived while nobody was on duty (counted, not queued)."""
    return SessionRecord(
        session_id=secrets.token_hex(16),
        started_at=round_down(now, resolution_minutes),
        wait_seconds=0,
        duration_seconds=0,
        outcome=Outcome.CLOSED,
        language=language,
        visitor_messages=0,
        staff_messages=0,
        shift_id=None,
    )


class SessionRows:
    """Write rows; a row the database refuses is owed in the chat store and written later."""

    def __init__(self, *, records: RowWriter, store: ChatStore, clock: Clock, resolution_minutes: int) -> None:
        self.records = records
        self.store = store
        self.clock = clock
        self.resolution_minutes = resolution_minutes
        # Rows neither the database nor the chat store took: retried by the sweep.
        self.unwritten: list[SessionRecord] = []

    def of_chat(
        self, chat: Chat, topics: tuple[str, ...] = (), *, left_for_language: bool = False
    ) -> SessionRecord:
        return session_record(
            chat, topics, self.clock.now(), self.resolution_minutes, left_for_language=left_for_language
        )

    def closed(self, language: str) -> SessionRecord:
        return closed_record(language, self.clock.now(), self.resolution_minutes)

    async def write(self, record: SessionRecord) -> None:
        try:
            await self.records.write(record)
        except Exception:
            # Keep the counts in the chat store, where any worker retries them:
            # the row holds no content to leak, and a dying worker loses nothing.
            log.exception("session row not written yet; will retry", extra={"outcome": record.outcome.value})
            try:
                await self.store.owe_row(record)
            except Exception:
                log.exception("could not keep the owed row in the chat store; keeping it here")
                self.unwritten.append(record)

    async def retry(self) -> None:
        """Write the rows owed here and in the chat store (each sweep, and at shutdown)."""
        pending, self.unwritten = self.unwritten, []
        for record in pending:
            await self.write(record)
        for record in await self.store.owed_rows():
            try:
                await self.records.write(record)  # a second write of the same row is a no-op
            except Exception:
                return  # the database is still away; try again at the next sweep
            await self.store.settle_row(record.session_id)
