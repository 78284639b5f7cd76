"""Canned responses: reply templates per language that managers write and staff insert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import CannedResponse

MAX_TITLE_LENGTH = 80


@dataclass(frozen=True, slots=True)
class Canned:
    id: int
    language: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


def _canned(row: CannedResponse) -> Canned:
    return Canned(
        row.id, row.language, row.title, row.body,
        row.created_at.replace(tzinfo=UTC), row.updated_at.replace(tzinfo=UTC),
    )


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None, microsecond=0)


class CannedResponses:
    """Reads and writes the canned_responses table."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list(self, language: str | None = None) -> list[Canned]:
        query = select(CannedResponse).order_by(CannedResponse.language, CannedResponse.title, CannedResponse.id)
        if language is not None:
            query = query.where(CannedResponse.language == language)
        async with self._sessions() as session:
            return [_canned(row) for row in await session.scalars(query)]

    async def add(self, language: str, title: str, body: str, now: datetime) -> Canned:
        row = CannedResponse(language=language, title=title, body=body, created_at=_naive(now), updated_at=_naive(now))
        async with self._sessions.begin() as session:
            session.add(row)
        return _canned(row)

    async def change(self, canned_id: int, language: str, title: str, body: str, now: datetime) -> Canned | None:
        async with self._sessions.begin() as session:
            row = await session.get(CannedResponse, canned_id)
            if row is None:
                return None
            row.language, row.title, row.body, row.updated_at = language, title, body, _naive(now)
        return _canned(row)

    async def delete(self, canned_id: int) -> bool:
        async with self._sessions.begin() as session:
            row = await session.get(CannedResponse, canned_id)
            if row is None:
                return False
            await session.delete(row)
        return True
