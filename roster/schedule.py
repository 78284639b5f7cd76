"""Pure duty logic: recurring duty slots, their occurrences, shifts, gaps and opening hours.

No I/O and no clock reads: every instant is passed in. Instants are aware
datetimes (UTC unless said otherwise); slots are defined in local wall-clock
time of an IANA zone and converted with `zoneinfo`.

Daylight-saving conventions (applied by `local_instant`, used everywhere):

* A wall time that does not exist (inside the spring-forward gap) is read with
  `fold=0`, i.e. with the UTC offset in force *before* the change. The result
  is the wall time moved forward by the length of the gap: 03:30 on the night
  Europe/Helsinki goes 03:00 → 04:00 becomes 04:30 local (01:30 UTC).
* A wall time that happens twice (inside the fall-back overlap) is read with
  `fold=0`, the first of the two: 03:30 on the night Helsinki goes 04:00 → 03:00
  is 03:30 summer time (00:30 UTC).
* A slot keeps its wall-clock start and end across a change, so its real
  length is shorter (spring) or longer (autumn) by the size of the change.
* An end wall time at or before the start wall time means the slot ends on the
  next local date (22:00–02:00, 12:00–12:00 is 24 hours).
* If those rules leave an occurrence with no real duration (a short slot that
  lies wholly after a non-existent start, e.g. 03:30–04:15 on spring-forward
  night), the occurrence is dropped: there is no time to staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Shift:
    """A staff member's duty shift; times are aware UTC.

    `slot_id` and `occurrence_date` name the slot occurrence the shift staffs,
    or are None for a shift planned outside any slot.
    """

    shift_id: int
    staff_id: int
    starts_at: datetime
    ends_at: datetime
    note: str = ""
    slot_id: int | None = None
    occurrence_date: date | None = None

    def covers(self, now: datetime, early: timedelta = timedelta(0)) -> bool:
        return self.starts_at - early <= now < self.ends_at


@dataclass(frozen=True, slots=True)
class OnCall:
    """A period in which a member (usually a manager) is the manager on call; times are aware UTC.

    Not a chat shift: it gives no chats and opens nothing for visitors. The staff
    on chat duty see who is on call, and the on-call member is alerted with the
    managers and asked into colleague threads.
    """

    period_id: int
    staff_id: int
    alias: str
    starts_at: datetime
    ends_at: datetime
    note: str = ""

    def covers(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


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


def on_duty(shifts: Iterable[Shift], now: datetime) -> set[int]:
    """Return the ids of staff whose shift covers now (check-in is routing's concern)."""
    return {s.staff_id for s in shifts if s.covers(now)}


# --- duty slots -------------------------------------------------------------


class SlotKind(StrEnum):
    WEEKLY = "weekly"
    ONCE = "once"


def zone_of(name: str) -> ZoneInfo:
    """Return the zone for an IANA name; ValueError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of a wall time on a local date (fold=0, see module docstring)."""
    return datetime.combine(day, wall.replace(tzinfo=None, fold=0), tzinfo=zone).astimezone(UTC)


def local_span(day: date, start: time, end: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return UTC start and end of a wall-clock span beginning on `day`; end <= start ends next day."""
    end_day = day + ONE_DAY if end <= start else day
    return local_instant(day, start, zone), local_instant(end_day, end, zone)


def _check_wall(value: time, what: str) -> None:
    if value.tzinfo is not None:
        raise ValueError(f"{what} is a local wall time and takes no tzinfo")


def _check_languages(languages: tuple[str, ...]) -> None:
    for code in languages:
        if not code or "," in code or code != code.strip():
            raise ValueError(f"bad language code {code!r}")


@dataclass(frozen=True, slots=True)
class DutySlot:
    """A duty slot in local wall-clock time: weekly on `weekday` (0=Monday) or once on `on_date`.

    A weekly slot recurs on local dates from `valid_from` to `valid_until`
    (both inclusive, None = unbounded). `end <= start` means the slot ends on
    the next local date. Retired slots have no occurrences.
    """

    slot_id: int
    kind: SlotKind
    start: time
    end: time
    zone: str
    needed: int = 1
    languages: tuple[str, ...] = ()
    weekday: int | None = None
    on_date: date | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    retired: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        zone_of(self.zone)
        _check_wall(self.start, "start")
        _check_wall(self.end, "end")
        _check_languages(self.languages)
        if self.needed < 1:
            raise ValueError("a slot needs at least one staff member")
        if self.kind is SlotKind.WEEKLY:
            if self.weekday is None or not 0 <= self.weekday <= 6:
                raise ValueError("a weekly slot needs a weekday 0 (Monday) to 6 (Sunday)")
            if self.on_date is not None:
                raise ValueError("a weekly slot has no single date")
        elif self.kind is SlotKind.ONCE:
            if self.on_date is None:
                raise ValueError("a one-off slot needs a date")
            if self.weekday is not None:
                raise ValueError("a one-off slot has no weekday")
        else:  # pragma: no cover - the enum is closed
            raise ValueError(f"unknown slot kind {self.kind!r}")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")

    @classmethod
    def weekly(
        cls, slot_id: int, weekday: int, start: time, end: time, zone: str, *, needed: int = 1,
        languages: tuple[str, ...] = (), valid_from: date | None = None, valid_until: date | None = None,
        retired: bool = False, note: str = "",
    ) -> DutySlot:
        return cls(slot_id, SlotKind.WEEKLY, start, end, zone, needed, languages, weekday, None,
                   valid_from, valid_until, retired, note)

    @classmethod
    def once(
        cls, slot_id: int, on_date: date, start: time, end: time, zone: str, *, needed: int = 1,
        languages: tuple[str, ...] = (), retired: bool = False, note: str = "",
    ) -> DutySlot:
        return cls(slot_id, SlotKind.ONCE, start, end, zone, needed, languages, None, on_date,
                   None, None, retired, note)

    def occurs_on(self, day: date) -> bool:
        """Whether the slot has an occurrence starting on this local date (exceptions aside)."""
        if self.retired:
            return False
        if self.kind is SlotKind.ONCE:
            return day == self.on_date
        if day.weekday() != self.weekday:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


@dataclass(frozen=True, slots=True)
class SlotException:
    """One date of a slot cancelled (a holiday) or given other wall times (None keeps the slot's)."""

    slot_id: int
    on_date: date
    cancelled: bool = False
    start: time | None = None
    end: time | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.start is not None:
            _check_wall(self.start, "start")
        if self.end is not None:
            _check_wall(self.end, "end")
        if self.cancelled and (self.start is not None or self.end is not None):
            raise ValueError("a cancelled date has no changed times")
        if not self.cancelled and self.start is None and self.end is None:
            raise ValueError("an exception either cancels the date or changes its times")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a slot, on the local date it starts; times are aware UTC."""

    slot_id: int
    local_date: date
    starts_at: datetime
    ends_at: datetime
    needed: int
    languages: tuple[str, ...]
    cancelled: bool = False
    note: str = ""

    @property
    def key(self) -> tuple[int, date]:
        return (self.slot_id, self.local_date)


def occurrence_of(slot: DutySlot, exceptions: Iterable[SlotException], day: date) -> Occurrence | None:
    """Return the slot's occurrence starting on local date `day`, or None if there is none.

    A cancelled date gives an occurrence with `cancelled=True` at the slot's
    usual times; a changed date gives the changed times.
    """
    if not slot.occurs_on(day):
        return None
    change = next((e for e in exceptions if e.slot_id == slot.slot_id and e.on_date == day), None)
    start, end, note = slot.start, slot.end, ""
    if change is not None:
        note = change.note
        if not change.cancelled:
            start = change.start if change.start is not None else start
            end = change.end if change.end is not None else end
    starts_at, ends_at = local_span(day, start, end, zone_of(slot.zone))
    if ends_at <= starts_at:
        return None  # wholly inside a spring-forward gap after fold=0: nothing to staff
    cancelled = change is not None and change.cancelled
    return Occurrence(slot.slot_id, day, starts_at, ends_at, slot.needed, slot.languages, cancelled, note)


def expand(
    slots: Iterable[DutySlot], exceptions: Iterable[SlotException], start_utc: datetime, end_utc: datetime,
    *, include_cancelled: bool = True,
) -> list[Occurrence]:
    """Return the occurrences overlapping [start_utc, end_utc), ordered by start.

    Cancelled dates are included flagged `cancelled` (so a calendar can show
    the holiday) unless `include_cancelled` is False. DST handling: see the
    module docstring.
    """
    by_slot: dict[int, list[SlotException]] = {}
    for exc in exceptions:
        by_slot.setdefault(exc.slot_id, []).append(exc)
    found: list[Occurrence] = []
    for slot in slots:
        if slot.retired:
            continue
        zone = zone_of(slot.zone)
        # An occurrence lasts at most a day plus a DST hour, so it starts no
        # earlier than the local day before the range starts.
        day = start_utc.astimezone(zone).date() - ONE_DAY
        last = end_utc.astimezone(zone).date()
        while day <= last:
            occ = occurrence_of(slot, by_slot.get(slot.slot_id, ()), day)
            if occ is not None and occ.ends_at > start_utc and occ.starts_at < end_utc:
                if include_cancelled or not occ.cancelled:
                    found.append(occ)
            day += ONE_DAY
    found.sort(key=lambda o: (o.starts_at, o.slot_id))
    return found


# --- coverage and opening hours ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Gap:
    """An occurrence with fewer staff assigned than it needs."""

    occurrence: Occurrence
    assigned: int
    missing: int


def coverage_gaps(
    occurrences: Iterable[Occurrence], shifts: Iterable[Shift],
    start_utc: datetime | None = None, end_utc: datetime | None = None,
) -> list[Gap]:
    """Return the understaffed occurrences overlapping [start_utc, end_utc) (None = unbounded).

    A shift counts for the occurrence it names by slot and local date; each
    staff member counts once. Cancelled occurrences are never gaps.
    """
    counts = assigned_counts(shifts)
    gaps: list[Gap] = []
    for occ in occurrences:
        if occ.cancelled:
            continue
        if start_utc is not None and occ.ends_at <= start_utc:
            continue
        if end_utc is not None and occ.starts_at >= end_utc:
            continue
        assigned = counts.get(occ.key, 0)
        if assigned < occ.needed:
            gaps.append(Gap(occ, assigned, occ.needed - assigned))
    return gaps


@dataclass(frozen=True, slots=True)
class Period:
    """An open period; aware datetimes in the organisation's zone, end exclusive.

    Python subtracts two datetimes of the same zone as wall-clock times:
    convert to UTC before measuring a real duration.
    """

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class DayHours:
    """The open periods of one local day, in order."""

    day: date
    periods: tuple[Period, ...]


def merge_periods(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Merge overlapping or touching spans into disjoint ones, in order."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def opening_hours(shifts: Iterable[Shift], start_utc: datetime, days: int, zone: ZoneInfo) -> list[DayHours]:
    """Return, for `days` local days from the one containing start_utc, when chat is open.

    Open means at least one assigned shift covers the time: unstaffed slots do
    not count. Overlapping and touching shifts merge; a period crossing local
    midnight is split at it. Each day is whole (today includes its past hours).
    """
    merged = merge_periods((s.starts_at, s.ends_at) for s in shifts)
    first = start_utc.astimezone(zone).date()
    result: list[DayHours] = []
    for n in range(days):
        day = first + timedelta(days=n)
        # Local midnight, which on some zones' change nights is itself moved by fold=0.
        day_start, day_end = local_instant(day, time(0), zone), local_instant(day + ONE_DAY, time(0), zone)
        periods = tuple(
            Period(max(s, day_start).astimezone(zone), min(e, day_end).astimezone(zone))
            for s, e in merged
            if s < day_end and e > day_start
        )
        result.append(DayHours(day, periods))
    return result


def speaks(languages: tuple[str, ...], language: str) -> bool:
    """Whether a member with these languages answers chats in `language` (none listed: every one)."""
    return not languages or language in languages


def speaker_shifts(shifts: Iterable[Shift], languages: dict[int, tuple[str, ...]], language: str) -> list[Shift]:
    """The shifts of members who speak `language` (a slot's own `languages` are what it needs, not who came)."""
    return [s for s in shifts if speaks(languages.get(s.staff_id, ()), language)]


def language_hours(
    shifts: Iterable[Shift], languages: dict[int, tuple[str, ...]], language: str,
    start_utc: datetime, days: int, zone: ZoneInfo,
) -> list[DayHours]:
    """`opening_hours` for one language: only the shifts of members who speak it count."""
    return opening_hours(speaker_shifts(shifts, languages, language), start_utc, days, zone)


def language_desk(
    shifts: Iterable[Shift], languages: dict[int, tuple[str, ...]], language: str, now: datetime
) -> tuple[bool, datetime | None]:
    """Whether a speaker of `language` is rostered now, else the start of the next such shift (or None)."""
    mine = speaker_shifts(shifts, languages, language)
    if is_open(mine, now):
        return True, None
    return False, next_opening(mine, now)


@dataclass(frozen=True, slots=True)
class LanguageGap:
    """A stretch of an occurrence needing `language` (one of its slot's `languages`) with no speaker rostered."""

    language: str
    occurrence: Occurrence
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class LanguageCoverage:
    """When a language is covered over a range: the merged shifts of its speakers, and its gaps."""

    language: str
    periods: tuple[tuple[datetime, datetime], ...]
    gaps: tuple[LanguageGap, ...]

    @property
    def hours(self) -> float:
        return sum((b - a).total_seconds() for a, b in self.periods) / 3600


def uncovered(
    span: tuple[datetime, datetime], periods: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of `span` outside the merged, ordered `periods`."""
    start, end = span
    out: list[tuple[datetime, datetime]] = []
    for a, b in periods:
        if b <= start or a >= end:
            continue
        if a > start:
            out.append((start, a))
        start = max(start, b)
        if start >= end:
            break
    if start < end:
        out.append((start, end))
    return out


def language_coverage(
    occurrences: Iterable[Occurrence], shifts: Iterable[Shift], languages: dict[int, tuple[str, ...]],
    offered: Iterable[str], start_utc: datetime, end_utc: datetime,
) -> list[LanguageCoverage]:
    """Per language (those offered and those a slot needs), its speakers' duty and its gaps in [start_utc, end_utc).

    Any shift of a member who speaks the language covers it (a member with no languages
    listed speaks every one), whichever slot the shift staffs. A gap is a stretch of a
    not-cancelled occurrence whose slot lists the language with no speaker on duty;
    overlapping slots that both need it each show their own gap. All arithmetic is in UTC,
    so DST nights and local midnight need nothing special.
    """
    occurrences, shifts = list(occurrences), list(shifts)
    wanted = dict.fromkeys([*offered, *(x for o in occurrences for x in o.languages)])
    result = []
    for language in wanted:
        periods = tuple(merge_periods(
            (max(s.starts_at, start_utc), min(s.ends_at, end_utc)) for s in speaker_shifts(shifts, languages, language)
        ))
        gaps = tuple(
            LanguageGap(language, occ, a, b)
            for occ in occurrences
            if not occ.cancelled and language in occ.languages
            for a, b in uncovered((max(occ.starts_at, start_utc), min(occ.ends_at, end_utc)), periods)
        )
        result.append(LanguageCoverage(language, periods, gaps))
    return result


def assigned_counts(shifts: Iterable[Shift]) -> dict[tuple[int, date], int]:
    """Return how many distinct staff are assigned to each (slot_id, local date)."""
    staff: dict[tuple[int, date], set[int]] = {}
    for s in shifts:
        if s.slot_id is not None and s.occurrence_date is not None:
            staff.setdefault((s.slot_id, s.occurrence_date), set()).add(s.staff_id)
    return {key: len(ids) for key, ids in staff.items()}
