"""Injected time: the system clock, and a movable clock for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MovableClock:
    """System time plus an offset that tests may move forward or back."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move(self, delta: timedelta) -> None:
        self.offset += delta

    def set(self, instant: datetime) -> None:
        self.offset = instant - datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (unit tests)."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant

    def move(self, delta: timedelta) -> None:
        self.instant += delta


def iso(instant: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 UTC with a Z suffix."""
    if instant is None:
        return None
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
