"""Per-language coverage and gaps of the roster (pure, fixed instants): overlapping slots, midnight, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from roster.schedule import (
    DutySlot,
    LanguageCoverage,
    Shift,
    SlotException,
    expand,
    language_coverage,
    uncovered,
)

HEL = "Europe/Helsinki"
ZONE = ZoneInfo(HEL)
FRI, SAT = 4, 5
FINN, THAI, RUSS, ANY = 1, 2, 3, 4
SPOKEN = {FINN: ("fi", "en"), THAI: ("th", "en"), RUSS: ("ru",), ANY: ()}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


def weekly(slot_id: int, weekday: int, start: time, end: time, languages: tuple[str, ...]) -> DutySlot:
    return DutySlot.weekly(slot_id, weekday, start, end, HEL, languages=languages, valid_from=date(2026, 1, 1))


def shift(staff_id: int, start: datetime, end: datetime) -> Shift:
    return Shift(staff_id * 100, staff_id, start.astimezone(UTC), end.astimezone(UTC))


def by_language(coverage: list[LanguageCoverage], language: str) -> LanguageCoverage:
    return next(c for c in coverage if c.language == language)


def gaps_of(coverage: list[LanguageCoverage], language: str) -> list[tuple[int, str, str]]:
    """(slot, local start, local end) of each gap of a language."""
    return [(g.occurrence.slot_id, g.starts_at.astimezone(ZONE).strftime("%a %H:%M"),
             g.ends_at.astimezone(ZONE).strftime("%a %H:%M")) for g in by_language(coverage, language).gaps]


def test_overlapping_slots_each_show_their_own_gap() -> None:
    slots = [weekly(1, FRI, time(18), time(22), ("th",)), weekly(2, FRI, time(20), time(23), ("th", "fi"))]
    start, end = local(2026, 11, 30), local(2026, 12, 7)
    occs = expand(slots, [], start, end)
    shifts = [shift(THAI, local(2026, 12, 4, 19), local(2026, 12, 4, 21)),
              shift(FINN, local(2026, 12, 4, 18), local(2026, 12, 4, 23))]
    coverage = language_coverage(occs, shifts, SPOKEN, ("fi", "en", "th", "ru"), start, end)
    assert [c.language for c in coverage] == ["fi", "en", "th", "ru"]
    assert gaps_of(coverage, "th") == [(1, "Fri 18:00", "Fri 19:00"), (1, "Fri 21:00", "Fri 22:00"),
                                       (2, "Fri 21:00", "Fri 23:00")]
    assert gaps_of(coverage, "fi") == [] and gaps_of(coverage, "ru") == []  # no slot needs Russian
    assert by_language(coverage, "en").hours == 5.0  # both speak English: 18–23 merged
    assert by_language(coverage, "th").hours == 2.0 and by_language(coverage, "ru").hours == 0
    # A member with no languages listed speaks every one: the Thai gaps close.
    closed = language_coverage(occs, [*shifts, shift(ANY, local(2026, 12, 4, 17), local(2026, 12, 5))], SPOKEN,
                               (), start, end)
    assert gaps_of(closed, "th") == [] and [c.language for c in closed] == ["th", "fi"]


def test_a_slot_across_midnight_and_a_range_ending_at_midnight() -> None:
    slots = [weekly(1, SAT, time(22), time(2), ("ru",))]
    week = (local(2026, 11, 30), local(2026, 12, 7))
    occs = expand(slots, [], *week)
    shifts = [shift(RUSS, local(2026, 12, 5, 23), local(2026, 12, 6, 1))]
    assert gaps_of(language_coverage(occs, shifts, SPOKEN, (), *week), "ru") == [
        (1, "Sat 22:00", "Sat 23:00"), (1, "Sun 01:00", "Sun 02:00"),
    ]
    # Only up to Saturday's end: the gap after midnight and the shift's Sunday hour are outside.
    saturday = (local(2026, 11, 30), local(2026, 12, 6))
    coverage = language_coverage(occs, shifts, SPOKEN, (), *saturday)
    assert gaps_of(coverage, "ru") == [(1, "Sat 22:00", "Sat 23:00")]
    assert by_language(coverage, "ru").hours == 1.0


def test_dst_nights_count_real_hours() -> None:
    # Fall back, 25 Oct 2026 04:00 EEST → 03:00 EET: Sat 23:00 – Sun 05:00 lasts seven hours.
    slots = [weekly(1, SAT, time(23), time(5), ("th",))]
    span = (local(2026, 10, 19), local(2026, 10, 26))
    occs = expand(slots, [], *span)
    (occ,) = occs
    assert occ.ends_at - occ.starts_at == timedelta(hours=7)
    first_three = shift(THAI, occ.starts_at, occ.starts_at + timedelta(hours=3))
    coverage = language_coverage(occs, [first_three], SPOKEN, (), *span)
    (gap,) = by_language(coverage, "th").gaps
    assert gap.ends_at - gap.starts_at == timedelta(hours=4)
    assert by_language(coverage, "th").hours == 3.0
    # Spring forward, 29 Mar 2026 03:00 → 04:00: Sat 22:00 – Sun 06:00 lasts seven hours, all covered.
    spring = (local(2026, 3, 23), local(2026, 3, 30))
    occs = expand([weekly(1, SAT, time(22), time(6), ("th",))], [], *spring)
    whole = shift(THAI, occs[0].starts_at, occs[0].ends_at)
    coverage = language_coverage(occs, [whole], SPOKEN, (), *spring)
    assert by_language(coverage, "th").gaps == () and by_language(coverage, "th").hours == 7.0


def test_a_cancelled_date_needs_nobody() -> None:
    slots = [weekly(1, FRI, time(18), time(22), ("th",))]
    start, end = local(2026, 11, 30), local(2026, 12, 7)
    occs = expand(slots, [SlotException(1, date(2026, 12, 4), cancelled=True)], start, end)
    assert by_language(language_coverage(occs, [], SPOKEN, (), start, end), "th").gaps == ()


def test_uncovered_parts_of_a_span() -> None:
    t = [local(2026, 12, 4, h) for h in range(24)]
    assert uncovered((t[10], t[20]), [(t[8], t[11]), (t[12], t[13]), (t[19], t[22])]) == [
        (t[11], t[12]), (t[13], t[19])
    ]
    assert uncovered((t[10], t[12]), []) == [(t[10], t[12])]
    assert uncovered((t[10], t[12]), [(t[9], t[12])]) == []
