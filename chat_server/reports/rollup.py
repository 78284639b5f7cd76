"""Pure arithmetic of the report: roll-up keys, range tiers, time zones, percentiles, coverage.

Roll-ups (tables in chat_server/db.py) hold exact counts keyed in UTC:

- `report_slots`: sessions per stored start time (a whole minute, rounded
  already when the row is written) and outcome. Any time zone's local hour,
  day, week, month and year is a function of that minute, so reading it with
  the zone's offsets gives exact local buckets, DST included.
- `report_counts` / `report_values`: sessions per UTC day and per UTC month by
  language, topic, and exact wait or duration in seconds. A local date range
  is UTC [lower, upper); it is read as whole UTC months, then whole UTC days,
  then the raw rows of the (at most two) partial UTC days at its ends.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from chat_server.chat.models import Outcome

EPOCH = datetime(1970, 1, 1)
EPOCH_ORDINAL = EPOCH.toordinal()
MINUTES_PER_DAY = 1440
OUTCOMES = tuple(o.value for o in Outcome)
DAY, MONTH = "d", "m"
LANGUAGE, TOPIC = "language", "topic"
WAIT, DURATION = "wait", "duration"


# --------------------------------------------------------------- UTC numbering


def minute_of(naive_utc: datetime) -> int:
    """Whole minutes since 1970-01-01 UTC of a naive UTC datetime (seconds dropped)."""
    delta = naive_utc - EPOCH
    return delta.days * MINUTES_PER_DAY + delta.seconds // 60


def day_of_minute(minute: int) -> int:
    return minute // MINUTES_PER_DAY


def month_of_day(day: int) -> int:
    d = date.fromordinal(EPOCH_ORDINAL + day)
    return (d.year - 1970) * 12 + d.month - 1


def first_day_of_month(month: int) -> int:
    return date(1970 + month // 12, month % 12 + 1, 1).toordinal() - EPOCH_ORDINAL


def to_minute(instant: datetime) -> int:
    """Whole minutes since the epoch of an aware instant."""
    return minute_of(instant.astimezone(UTC).replace(tzinfo=None))


def local_bounds(start: date, end: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """UTC [lower, upper) of local dates start..end inclusive (each day from its first local instant)."""
    lower = datetime.combine(start, time(0), zone).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
    return lower, upper


# --------------------------------------------------------------- roll-up rows


@dataclass
class Rollup:
    """Roll-up rows accumulated from session rows (one write, a rebuild, or a bench batch)."""

    slots: dict[int, Counter[str]] = field(default_factory=dict)
    counts: Counter[tuple[str, int, str, str]] = field(default_factory=Counter)
    values: Counter[tuple[str, int, str, int]] = field(default_factory=Counter)

    def add_session(
        self, started_at: datetime, outcome: str, language: str, wait_seconds: int, duration_seconds: int,
        topics: Iterable[str] = (),
    ) -> None:
        """Count one session row (started_at naive UTC, as stored)."""
        minute = minute_of(started_at)
        self.slots.setdefault(minute, Counter())[outcome] += 1
        day = day_of_minute(minute)
        month = month_of_day(day)
        for grain, period in ((DAY, day), (MONTH, month)):
            self.counts[(grain, period, LANGUAGE, language)] += 1
            if outcome == Outcome.ANSWERED.value:
                self.values[(grain, period, WAIT, wait_seconds)] += 1
                self.values[(grain, period, DURATION, duration_seconds)] += 1
        for topic in topics:
            self.add_topic(started_at, topic)

    def add_topic(self, started_at: datetime, topic: str) -> None:
        day = day_of_minute(minute_of(started_at))
        self.counts[(DAY, day, TOPIC, topic)] += 1
        self.counts[(MONTH, month_of_day(day), TOPIC, topic)] += 1

    def slot_rows(self) -> list[dict[str, int]]:
        return [
            {"slot": slot, **{o: counts.get(o, 0) for o in OUTCOMES}} for slot, counts in sorted(self.slots.items())
        ]

    def count_rows(self) -> list[dict[str, object]]:
        return [
            {"grain": g, "period": p, "figure": f, "item": i, "sessions": n}
            for (g, p, f, i), n in sorted(self.counts.items())
        ]

    def value_rows(self) -> list[dict[str, object]]:
        return [
            {"grain": g, "period": p, "figure": f, "seconds": s, "sessions": n}
            for (g, p, f, s), n in sorted(self.values.items())
        ]


# --------------------------------------------------------------- range tiers


@dataclass(frozen=True, slots=True)
class Tiers:
    """A UTC minute range split into whole months, whole days and raw minute ranges."""

    months: tuple[int, int] | None  # [first, end) month numbers
    days: tuple[tuple[int, int], ...]  # [first, end) day numbers
    raw: tuple[tuple[int, int], ...]  # [lower, upper) minutes


def tiers(lower: int, upper: int) -> Tiers:
    """Split [lower, upper) minutes so that every roll-up row read lies wholly inside it."""
    d0 = -(-lower // MINUTES_PER_DAY)
    d1 = upper // MINUTES_PER_DAY
    if d0 >= d1:
        return Tiers(None, (), ((lower, upper),) if lower < upper else ())
    raw = tuple(r for r in ((lower, d0 * MINUTES_PER_DAY), (d1 * MINUTES_PER_DAY, upper)) if r[0] < r[1])
    m0 = month_of_day(d0)
    if first_day_of_month(m0) < d0:
        m0 += 1
    m1 = month_of_day(d1)  # the month holding d1 is not whole before d1 unless d1 starts it
    if m0 >= m1:
        return Tiers(None, ((d0, d1),), raw)
    days = tuple(r for r in ((d0, first_day_of_month(m0)), (first_day_of_month(m1), d1)) if r[0] < r[1])
    return Tiers((m0, m1), days, raw)


# --------------------------------------------------------------- time zones


@dataclass(frozen=True, slots=True)
class Segment:
    """[start, end) UTC minutes over which a zone's offset (minutes) stays the same."""

    start: int
    end: int
    offset: int


def _offset(zone: tzinfo, minute: int) -> int:
    instant = (EPOCH + timedelta(minutes=minute)).replace(tzinfo=UTC)
    delta = instant.astimezone(zone).utcoffset()
    assert delta is not None
    return int(delta.total_seconds() // 60)


@lru_cache(maxsize=64)
def segments(zone: tzinfo, lower: int, upper: int) -> tuple[Segment, ...]:
    """The zone's constant-offset pieces of [lower, upper), exact to the minute.

    The offset is sampled every 12 hours (no zone changes its offset twice
    that quickly) and each change is found by bisection.
    """
    if lower >= upper:
        return ()
    out: list[Segment] = []
    start, current = lower, _offset(zone, lower)
    probe = lower
    while probe < upper - 1:
        nxt = min(probe + 720, upper - 1)
        if _offset(zone, nxt) != current:
            lo, hi = probe, nxt  # offset(lo) is current, offset(hi) is not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            out.append(Segment(start, hi, current))
            start, current = hi, _offset(zone, hi)
        probe = nxt
    out.append(Segment(start, upper, current))
    return tuple(out)


def local_hours(segs: Iterable[Segment]) -> Iterator[tuple[int, int]]:
    """(local hour number, minutes of it inside the segments) for every local hour the segments touch."""
    for seg in segs:
        a, b = seg.start + seg.offset, seg.end + seg.offset
        hour = a // 60
        while hour * 60 < b:
            lo, hi = max(a, hour * 60), min(b, hour * 60 + 60)
            yield hour, hi - lo
            hour += 1


def local_date(hour: int) -> date:
    """The local date of a local hour number (hours since 1970-01-01 00:00 local)."""
    return date.fromordinal(EPOCH_ORDINAL + hour // 24)


def clip(intervals: Iterable[tuple[int, int]], lower: int, upper: int) -> list[tuple[int, int]]:
    """Merge [start, end) minute intervals and clip them to [lower, upper)."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted((max(a, lower), min(b, upper)) for a, b in intervals):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def split(intervals: list[tuple[int, int]], segs: Iterable[Segment]) -> list[Segment]:
    """Cut merged intervals by the offset segments."""
    out = []
    for a, b in intervals:
        for seg in segs:
            lo, hi = max(a, seg.start), min(b, seg.end)
            if lo < hi:
                out.append(Segment(lo, hi, seg.offset))
    return out


# --------------------------------------------------------------- percentiles


def median(histogram: Counter[int] | dict[int, int]) -> float | None:
    """Median of a value → count histogram; the mean of the two middle values when the count is even."""
    n = sum(histogram.values())
    if n == 0:
        return None
    if n % 2:
        return float(_rank(histogram, (n + 1) // 2))
    return (_rank(histogram, n // 2) + _rank(histogram, n // 2 + 1)) / 2


def percentile(histogram: Counter[int] | dict[int, int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p % of the counts at or below it."""
    n = sum(histogram.values())
    if n == 0:
        return None
    return _rank(histogram, max(1, math.ceil(p / 100 * n)))


def _rank(histogram: Counter[int] | dict[int, int], k: int) -> int:
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= k:
            return value
    raise ValueError("rank beyond the histogram")
