"""Pure duty logic over concrete shifts: who is on duty, when chat opens next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Shift:
    """A staff member's duty shift; times are aware UTC."""

    shift_id: int
    staff_id: int
    starts_at: datetime
    ends_at: datetime
    note: str = ""

    def covers(self, now: datetime, early: timedelta = timedelta(0)) -> bool:
        return self.starts_at - early <= now < self.ends_at


def shifts_covering(shifts: list[Shift], now: datetime, early: timedelta = timedelta(0)) -> list[Shift]:
    """Return the shifts that cover now (from `early` before their start)."""
    return [s for s in shifts if s.covers(now, early)]


def is_open(shifts: list[Shift], now: datetime) -> bool:
    """Chat is open when at least one shift covers now."""
    return any(s.covers(now) for s in shifts)


def shift_of(shifts: list[Shift], staff_id: int, now: datetime, early: timedelta = timedelta(0)) -> Shift | None:
    """Return the staff member's shift covering now, the one ending last if several do."""
    mine = [s for s in shifts if s.staff_id == staff_id and s.covers(now, early)]
    return max(mine, key=lambda s: s.ends_at, default=None)


def next_opening(shifts: list[Shift], now: datetime) -> datetime | None:
    """Return the start of the first shift after now, or None if none is planned.

    Callers ask only while chat is closed, where that start is the next opening.
    """
    return min((s.starts_at for s in shifts if s.starts_at > now), default=None)
