"""Pure arithmetic of the report: roll-up keys, range tiers, time zones, percentiles, coverage.

Roll-ups (tables in chat_server/db.py) hold exact counts keyed in UTC:

- `report_slots`: sessions per stored start time (a whole minute, rounded
  already when the row is written) and outcome. Any time zone's local hour,
  day, week, month and year is a function of that minute, so reading it with
  the zone's offsets gives exact local buckets, DST included.
  `report_hours` holds the same per UTC hour: exact, and smaller to read, for
  a zone whose offsets and changes over the range fall on whole hours.
- `report_counts` / `report_values`: sessions per UTC day, month and year by
  language (the one a chat ended in), topic, language first asked for
  (`asked`), language answered in (`answered`), change of language
  (`switched`, item "th>en") and visitors who left for lack of their language
  (`no_lang`, item the language asked for), and exact wait in seconds or
  duration to the nearest minute. A local date range is UTC [lower, upper);
  it is read as whole UTC years, then whole months, then whole days, then the
  raw rows of the (at most two) partial UTC days at its ends.
- `report_language_slots`: sessions per stored start time and language first
  asked for (answered, and left for lack of the language): the demand of each
  language desk by local weekday × hour, read like `report_slots`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from chat_server.chat.models import Outcome

EPOCH = datetime(1970, 1, 1)
EPOCH_ORDINAL = EPOCH.toordinal()
MINUTES_PER_DAY = 1440
HOURS_PER_WEEK = 168
# 1970-01-01 was a Thursday: local hour h is hour (h + 72) % 168 of a Monday-first week.
MONDAY_HOUR_OF_EPOCH = 72
OUTCOMES = tuple(o.value for o in Outcome)
DAY, MONTH, YEAR = "d", "m", "y"
LANGUAGE, TOPIC = "language", "topic"
# A chat flagged by staff (chat:flag), by category: FLAGGED × category.
FLAGGED = "flagged"
# Language desks (report_counts figures; String(8)).
REQUESTED, ANSWERED_IN, SWITCHED, NO_LANGUAGE = "asked", "answered", "switched", "no_lang"
LANGUAGE_MEASURES = ("sessions", "answered", "left_for_language")
# Counted flags of a session: FLAG × UNSTAFFED counts the visitors who waited while nobody was checked in.
FLAG, UNSTAFFED = "flag", "unstaffed"
# FLAG × FROM_GROUP counts the chats started from a peer group moderator's invitation.
FROM_GROUP = "from_group"
# FLAG × SECOND / LISTENER: chats a colleague was brought into (chat:invite) as a second responder / a listener.
SECOND, LISTENER = "second", "listener"
SECONDS_ITEMS = {"responder": SECOND, "listener": LISTENER}
WAIT, DURATION = "wait", "duration"
# An answered chat in which the visitor wrote nothing and that has no topic:
# counted in report_counts under this figure and item, never as a topic.
NO_CONVERSATION = ("flag", "no_conversation")  # figure is at most 8 characters


def no_conversation(outcome: str, visitor_messages: int, has_topics: bool) -> bool:
    return outcome == Outcome.ANSWERED.value and visitor_messages == 0 and not has_topics


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


def duration_key(seconds: int) -> int:
    """Durations are counted to the nearest whole minute (in seconds): a chat's length
    is reported in minutes, and whole minutes keep the roll-up small."""
    return (seconds + 30) // 60 * 60


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
    hours: dict[int, Counter[str]] = field(default_factory=dict)
    counts: Counter[tuple[str, int, str, str]] = field(default_factory=Counter)
    values: Counter[tuple[str, int, str, int]] = field(default_factory=Counter)
    language_slots: dict[tuple[int, str], Counter[str]] = field(default_factory=dict)

    def add_session(
        self, started_at: datetime, outcome: str, language: str, wait_seconds: int, duration_seconds: int,
        topics: Iterable[str] = (), *, requested: str | None = None, left_for_language: bool = False,
        unstaffed: bool = False, empty: bool = False, flags: Iterable[str] = (), from_group: bool = False,
        seconds: Iterable[str] = (),
    ) -> None:
        """Count one session row (started_at naive UTC, as stored; `requested` None: the same as `language`;
        `empty`: a "no conversation" chat)."""
        minute = minute_of(started_at)
        self.slots.setdefault(minute, Counter())[outcome] += 1
        self.hours.setdefault(minute // 60, Counter())[outcome] += 1
        requested = requested or language
        answered = outcome == Outcome.ANSWERED.value
        desk = self.language_slots.setdefault((minute, requested), Counter())
        desk["sessions"] += 1
        desk["answered"] += answered
        desk["left_for_language"] += left_for_language
        periods = _periods(day_of_minute(minute))
        for grain, period in periods:
            self.counts[(grain, period, LANGUAGE, language)] += 1
            for figure, item in language_items(outcome, language, requested, left_for_language):
                self.counts[(grain, period, figure, item)] += 1
            if unstaffed:
                self.counts[(grain, period, FLAG, UNSTAFFED)] += 1
            if from_group:
                self.counts[(grain, period, FLAG, FROM_GROUP)] += 1
            if empty:
                self.counts[(grain, period, *NO_CONVERSATION)] += 1
            for role in seconds:
                if role in SECONDS_ITEMS:
                    self.counts[(grain, period, FLAG, SECONDS_ITEMS[role])] += 1
            if outcome == Outcome.ANSWERED.value:
                self.values[(grain, period, WAIT, wait_seconds)] += 1
                self.values[(grain, period, DURATION, duration_key(duration_seconds))] += 1
        for topic in topics:
            for grain, period in periods:
                self.counts[(grain, period, TOPIC, topic)] += 1
        for category in flags:
            self.add_flag(started_at, category)

    def add_flag(self, started_at: datetime, category: str) -> None:
        for grain, period in _periods(day_of_minute(minute_of(started_at))):
            self.counts[(grain, period, FLAGGED, category)] += 1

    def add_topic(self, started_at: datetime, topic: str) -> None:
        for grain, period in _periods(day_of_minute(minute_of(started_at))):
            self.counts[(grain, period, TOPIC, topic)] += 1

    def slot_rows(self) -> list[dict[str, int]]:
        return [
            {"slot": slot, **{o: counts.get(o, 0) for o in OUTCOMES}} for slot, counts in sorted(self.slots.items())
        ]

    def hour_rows(self) -> list[dict[str, int]]:
        return [
            {"hour": hour, **{o: counts.get(o, 0) for o in OUTCOMES}} for hour, counts in sorted(self.hours.items())
        ]

    def count_rows(self) -> list[dict[str, object]]:
        return [
            {"grain": g, "period": p, "figure": f, "item": i, "sessions": n}
            for (g, p, f, i), n in sorted(self.counts.items())
        ]

    def language_slot_rows(self) -> list[dict[str, object]]:
        return [
            {"slot": slot, "language": language, **{m: counts.get(m, 0) for m in LANGUAGE_MEASURES}}
            for (slot, language), counts in sorted(self.language_slots.items())
        ]

    def value_rows(self) -> list[dict[str, object]]:
        return [
            {"grain": g, "period": p, "figure": f, "seconds": s, "sessions": n}
            for (g, p, f, s), n in sorted(self.values.items())
        ]


def language_items(outcome: str, language: str, requested: str, left_for_language: bool) -> list[tuple[str, str]]:
    """The language-desk figures one session counts in (report_counts figure, item)."""
    items = [(REQUESTED, requested)]
    if outcome == Outcome.ANSWERED.value:
        items.append((ANSWERED_IN, language))
    if requested != language:
        items.append((SWITCHED, f"{requested}>{language}"))
    if left_for_language:
        items.append((NO_LANGUAGE, requested))
    return items


def _periods(day: int) -> tuple[tuple[str, int], ...]:
    """The UTC day, month and year (since 1970) a UTC day number lies in."""
    month = month_of_day(day)
    return ((DAY, day), (MONTH, month), (YEAR, month // 12))


# --------------------------------------------------------------- range tiers


@dataclass(frozen=True, slots=True)
class Tiers:
    """A UTC minute range split into whole years, months and days, and raw minute ranges."""

    periods: tuple[tuple[str, int, int], ...]  # (grain, first, end) period numbers
    raw: tuple[tuple[int, int], ...]  # [lower, upper) minutes


def _inner(first: int, end: int, up: Callable[[int], int], down: Callable[[int], int]) -> tuple[int, int] | None:
    """The coarser periods lying wholly inside [first, end) of finer ones, if any."""
    a = up(first)
    if down(a) < first:
        a += 1
    b = up(end)  # the coarse period holding `end` is whole only if it starts there, and it ends after
    return (a, b) if a < b else None


def tiers(lower: int, upper: int) -> Tiers:
    """Split [lower, upper) minutes so that every roll-up row read lies wholly inside it, largest first."""
    d0 = -(-lower // MINUTES_PER_DAY)
    d1 = upper // MINUTES_PER_DAY
    if d0 >= d1:
        return Tiers((), ((lower, upper),) if lower < upper else ())
    raw = tuple(r for r in ((lower, d0 * MINUTES_PER_DAY), (d1 * MINUTES_PER_DAY, upper)) if r[0] < r[1])
    periods: list[tuple[str, int, int]] = []
    months = _inner(d0, d1, month_of_day, first_day_of_month)
    if months is None:
        return Tiers(((DAY, d0, d1),), raw)
    m0, m1 = months
    years = _inner(m0, m1, lambda m: m // 12, lambda y: y * 12)
    if years is None:
        periods.append((MONTH, m0, m1))
    else:
        y0, y1 = years
        periods += [(YEAR, y0, y1), (MONTH, m0, y0 * 12), (MONTH, y1 * 12, m1)]
    periods += [(DAY, d0, first_day_of_month(m0)), (DAY, first_day_of_month(m1), d1)]
    return Tiers(tuple(p for p in periods if p[1] < p[2]), raw)


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


def week_minutes(segs: Iterable[Segment]) -> list[int]:
    """Minutes of each local hour of the week (Monday 00 = 0) inside the segments.

    Whole local weeks count 60 minutes in every cell at once, so a range of
    years costs no more than a week.
    """
    out = [0] * HOURS_PER_WEEK
    for seg in segs:
        a, b = seg.start + seg.offset, seg.end + seg.offset
        weeks = (b - a) // (HOURS_PER_WEEK * 60) - 1
        if weeks > 0:
            for i in range(HOURS_PER_WEEK):
                out[i] += weeks * 60
            a += weeks * HOURS_PER_WEEK * 60
        hour = a // 60
        while hour * 60 < b:
            out[(MONDAY_HOUR_OF_EPOCH + hour) % HOURS_PER_WEEK] += min(b, hour * 60 + 60) - max(a, hour * 60)
            hour += 1
    return out


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
    """Cut merged, sorted intervals by the offset segments (both in time order)."""
    out: list[Segment] = []
    segs = list(segs)
    i = 0
    for a, b in intervals:
        while i < len(segs) and segs[i].end <= a:
            i += 1
        j = i
        while j < len(segs) and segs[j].start < b:
            lo, hi = max(a, segs[j].start), min(b, segs[j].end)
            if lo < hi:
                out.append(Segment(lo, hi, segs[j].offset))
            j += 1
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
