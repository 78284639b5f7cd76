"""iCalendar feeds of the roster (built with the icalendar library) and their secret URLs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from icalendar import Calendar, Event
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.accounts import StaffAccount, account_of
from chat_server.db import Staff
from roster.models import CalendarFeedRow
from roster.schedule import Shift

SCOPES = ("own", "all")


class CalendarFeeds:
    """Secret, revocable feed tokens; only a keyed hash is stored."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], secret: bytes) -> None:
        self._sessions = sessions
        self._secret = secret

    def _hash(self, token: str) -> str:
        return hmac.new(self._secret, b"ical:" + token.encode(), hashlib.sha256).hexdigest()

    async def create(self, staff_id: int, scope: str, now: datetime) -> str:
        """Make a new token for (staff, scope), replacing any earlier one."""
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        token = secrets.token_urlsafe(24)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(CalendarFeedRow).where(CalendarFeedRow.staff_id == staff_id, CalendarFeedRow.scope == scope)
            )
            session.add(
                CalendarFeedRow(
                    token_hash=self._hash(token), staff_id=staff_id, scope=scope,
                    created_at=now.astimezone(UTC).replace(tzinfo=None),
                )
            )
        return token

    async def revoke(self, staff_id: int, scope: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(CalendarFeedRow).where(CalendarFeedRow.staff_id == staff_id, CalendarFeedRow.scope == scope)
            )

    async def lookup(self, token: str) -> tuple[StaffAccount, str] | None:
        """Return the enabled owner and scope of a token; a manager feed needs a manager still."""
        if not token or len(token) > 128:
            return None
        async with self._sessions() as session:
            row = await session.get(CalendarFeedRow, self._hash(token))
            if row is None:
                return None
            staff = await session.get(Staff, row.staff_id)
            if staff is None or staff.disabled:
                return None
            account = account_of(staff)
        if row.scope == "all" and not account.role.sees_reports:
            return None
        return account, row.scope


def build_calendar(
    shifts: list[Shift],
    people: Mapping[int, StaffAccount],
    *,
    scope: str,
    owner: StaffAccount,
    now: datetime,
    host: str,
) -> bytes:
    """Return an iCalendar document with one event per shift."""
    calendar = Calendar()
    calendar.add("prodid", "-//dutychat//roster//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "dutychat: all duty shifts" if scope == "all" else f"dutychat: {owner.alias}")
    for shift in shifts:
        event = Event()
        # Stable per shift, so calendar apps update instead of duplicating.
        event.add("uid", f"shift-{shift.shift_id}@{host}")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", shift.starts_at.astimezone(UTC))
        event.add("dtend", shift.ends_at.astimezone(UTC))
        person = people.get(shift.staff_id)
        if scope == "all":
            name = person.display_name if person else f"staff {shift.staff_id}"
            event.add("summary", f"Chat duty: {name}")
        else:
            event.add("summary", "Chat duty")
        if shift.note:
            event.add("description", shift.note)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
