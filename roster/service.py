"""Roster rules: sign-up and assignment rights, the release notice, calendar scopes, date ranges.

Every change goes through here, and every change that can move, add or remove
a shift refreshes this worker's roster cache (other workers reload it within
`RosterCache`'s maximum age), so routing sees it at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Unpack
from zoneinfo import ZoneInfo

from chat_server.accounts import StaffAccount
from chat_server.staff_rules import manages
from roster.ical import CalendarFeeds
from roster.repository import Conflict, NotFound, Resync, RosterCache, RosterError, SlotChanges, SlotRepository
from roster.schedule import DutySlot, Shift, SlotException

# Longest range GET /api/roster and /api/roster/mine answer, in local days.
MAX_RANGE_DAYS = 92


class Forbidden(RosterError):
    """The member's role may not make this change."""


class ReleaseTooLate(RosterError):
    """A staff member may not release their own shift this close to its start."""


@dataclass(frozen=True, slots=True)
class LocalRange:
    """Local dates first..last (inclusive) and the UTC instants [start, end) they cover."""

    first: date
    last: date
    start: datetime
    end: datetime


class RosterService:
    """The roster's rules over its repository and this worker's cache."""

    def __init__(
        self, slots: SlotRepository, cache: RosterCache, calendars: CalendarFeeds, *,
        timezone: str, release_notice: timedelta,
    ) -> None:
        self.slots = slots
        self._cache = cache
        self._calendars = calendars
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)
        self._release_notice = release_notice

    def today(self, now: datetime) -> date:
        return now.astimezone(self._zone).date()

    def local_range(self, first: date | None, last: date | None, now: datetime) -> LocalRange:
        """The asked local dates (default: this week, Monday to Sunday) and their UTC bounds."""
        today = self.today(now)
        first = first if first is not None else today - timedelta(days=today.weekday())
        last = last if last is not None else first + timedelta(days=6)
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            raise RosterError(f"to must be from..from+{MAX_RANGE_DAYS - 1} days.")
        start = datetime.combine(first, time(0), self._zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), self._zone).astimezone(UTC)
        return LocalRange(first, last, start, end)

    def local_period(self, day: date, start: time, end: time) -> tuple[datetime, datetime]:
        """A local date and wall times (end <= start: the next day) as UTC instants, in the organisation's zone."""
        starts_at = datetime.combine(day, start, self._zone).astimezone(UTC)
        end_day = day + timedelta(days=1) if end <= start else day
        return starts_at, datetime.combine(end_day, end, self._zone).astimezone(UTC)

    # ------------------------------------------------------------ slots and dates

    async def create_weekly(
        self, weekday: int, start: time, end: time, now: datetime, *, valid_from: date | None,
        valid_until: date | None, needed: int, languages: tuple[str, ...], note: str,
    ) -> DutySlot:
        """Create a weekly slot in the organisation's zone, valid from today unless told otherwise."""
        with _invalid():
            return await self.slots.create_weekly(
                weekday, start, end, self.timezone, valid_from if valid_from is not None else self.today(now),
                valid_until=valid_until, needed=needed, languages=languages, note=note,
            )

    async def create_once(
        self, on_date: date, start: time, end: time, *, needed: int, languages: tuple[str, ...], note: str,
    ) -> DutySlot:
        with _invalid():
            return await self.slots.create_once(
                on_date, start, end, self.timezone, needed=needed, languages=languages, note=note
            )

    async def change_slot(self, slot_id: int, now: datetime, **changes: Unpack[SlotChanges]) -> tuple[DutySlot, Resync]:
        """Change a slot; assigned shifts that have not started follow it."""
        with _invalid():
            changed = await self.slots.update_slot(slot_id, now, **changes)
        self._cache.invalidate()
        return changed

    async def retire_slot(self, slot_id: int, now: datetime) -> Resync:
        resync = await self.slots.retire_slot(slot_id, now)
        self._cache.invalidate()
        return resync

    async def set_date(
        self, slot_id: int, day: date, now: datetime, *, cancelled: bool, start: time | None, end: time | None,
        note: str,
    ) -> tuple[SlotException, Resync]:
        """Cancel one date of a slot, or give it other times."""
        with _invalid():
            changed = await self.slots.set_exception(
                slot_id, day, now, cancelled=cancelled, start=start, end=end, note=note
            )
        self._cache.invalidate()
        return changed

    async def clear_date(self, slot_id: int, day: date, now: datetime) -> None:
        await self.slots.remove_exception(slot_id, day, now)
        self._cache.invalidate()

    # ------------------------------------------------------------ who staffs what

    async def assign(
        self, member: StaffAccount, slot_id: int, day: date, staff_id: int | None, note: str, now: datetime,
    ) -> Shift:
        """Managers assign anyone (also beyond `needed`, also afterwards); staff sign themselves up
        for an open place of a duty that has not ended."""
        staff_id = member.id if staff_id is None else staff_id
        self_sign_up = not manages(member)
        if self_sign_up and staff_id != member.id:
            raise Forbidden("Only managers assign other staff members.")
        if self_sign_up and (await self.slots.occurrence(slot_id, day)).ends_at <= now:
            raise Conflict("This duty has already ended.")
        with _invalid():
            shift = await self.slots.assign(slot_id, day, staff_id, note=note, only_open_place=self_sign_up)
        self._cache.invalidate()
        return shift

    async def release(self, member: StaffAccount, slot_id: int, day: date, staff_id: int, now: datetime) -> Shift:
        """Managers release anyone's shift at any time; staff their own, outside the notice period."""
        if not manages(member):
            if staff_id != member.id:
                raise Forbidden("Staff members release only their own shifts.")
            occurrence = await self.slots.occurrence(slot_id, day)
            if occurrence.starts_at - now < self._release_notice:
                raise ReleaseTooLate("This shift starts too soon to release; ask a manager.")
        shift = await self.slots.unassign(slot_id, day, staff_id)
        if shift is None:
            raise NotFound("That staff member has no shift on this occurrence.")
        self._cache.invalidate()
        return shift

    # ------------------------------------------------------------ calendar feeds

    async def create_calendar(self, member: StaffAccount, scope: str, now: datetime) -> str:
        """A new secret feed token of a scope for the member (`all`: managers only)."""
        if scope == "all" and not manages(member):
            raise Forbidden("Only managers subscribe to the full roster.")
        return await self._calendars.create(member.id, scope, now)

    async def revoke_calendar(self, member: StaffAccount, scope: str) -> None:
        await self._calendars.revoke(member.id, scope)


@contextmanager
def _invalid() -> Iterator[None]:
    """Turn the schedule's ValueError (an impossible slot, date or time) into a RosterError."""
    try:
        yield
    except ValueError as exc:
        raise RosterError(str(exc)) from None
