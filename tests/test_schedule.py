"""Pure schedule logic: slot expansion across DST and midnight, exceptions, gaps, opening hours.

Every instant is fixed; nothing reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from roster.schedule import (
    DutySlot,
    Occurrence,
    Period,
    Shift,
    SlotException,
    coverage_gaps,
    expand,
    is_open,
    language_desk,
    language_hours,
    next_opening,
    on_duty,
    opening_hours,
    shift_of,
)

HEL = "Europe/Helsinki"
ZONE = ZoneInfo(HEL)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
EPOCH = date(2026, 1, 1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


def weekly(slot_id: int, weekday: int, start: time, end: time, **kw: object) -> DutySlot:
    kw.setdefault("valid_from", EPOCH)
    return DutySlot.weekly(slot_id, weekday, start, end, HEL, **kw)  # type: ignore[arg-type]


def spans(occurrences: list[Occurrence]) -> list[tuple[int, date, datetime, datetime]]:
    return [(o.slot_id, o.local_date, o.starts_at, o.ends_at) for o in occurrences]


def hours(occ: Occurrence) -> float:
    return (occ.ends_at - occ.starts_at) / timedelta(hours=1)


# --- expansion ---------------------------------------------------------------


def test_weekly_expansion_across_a_week() -> None:
    slots = [
        weekly(1, TUE, time(12), time(15), needed=2, languages=("fi", "en")),
        weekly(2, THU, time(18), time(20)),
    ]
    # Monday 2026-11-30 to Monday 2026-12-07, local; Helsinki is UTC+2 in winter.
    found = expand(slots, [], local(2026, 11, 30), local(2026, 12, 7))
    assert spans(found) == [
        (1, date(2026, 12, 1), utc(2026, 12, 1, 10), utc(2026, 12, 1, 13)),
        (2, date(2026, 12, 3), utc(2026, 12, 3, 16), utc(2026, 12, 3, 18)),
    ]
    assert found[0].needed == 2 and found[0].languages == ("fi", "en") and not found[0].cancelled
    assert all(o.starts_at.tzinfo is UTC for o in found)
    # Two weeks give two of each, in order.
    assert [o.slot_id for o in expand(slots, [], local(2026, 11, 30), local(2026, 12, 14))] == [1, 2, 1, 2]


def test_range_keeps_overlapping_occurrences_only() -> None:
    slots = [weekly(1, TUE, time(12), time(15))]
    # Starting mid-occurrence still returns it; one that ended at the start does not.
    assert len(expand(slots, [], local(2026, 12, 1, 14), local(2026, 12, 1, 16))) == 1
    assert expand(slots, [], local(2026, 12, 1, 15), local(2026, 12, 1, 16)) == []
    assert expand(slots, [], local(2026, 12, 1, 9), local(2026, 12, 1, 12)) == []


def test_spring_forward_nonexistent_start_moves_forward_by_the_gap() -> None:
    # Europe/Helsinki 2027-03-28 (Sunday): 03:00 EET jumps to 04:00 EEST; 03:30 does not exist.
    slots = [weekly(1, SUN, time(3, 30), time(6))]
    [occ] = expand(slots, [], utc(2027, 3, 27), utc(2027, 3, 29))
    # fold=0 reads 03:30 with the offset before the change (+02:00): 01:30 UTC, 04:30 on the wall.
    assert occ.starts_at == utc(2027, 3, 28, 1, 30)
    assert occ.starts_at.astimezone(ZONE).time() == time(4, 30)
    assert occ.ends_at == utc(2027, 3, 28, 3)  # 06:00 EEST
    assert hours(occ) == 1.5
    # A week later 03:30 exists again (EEST, +03:00).
    [later] = expand(slots, [], utc(2027, 4, 3), utc(2027, 4, 5))
    assert later.starts_at == utc(2027, 4, 4, 0, 30)


def test_spring_forward_slot_with_no_real_time_left_is_dropped() -> None:
    # 03:30 reads as 04:30 EEST, the end 04:30 EEST is the same instant: nothing to staff.
    slots = [weekly(1, SUN, time(3, 30), time(4, 30))]
    assert expand(slots, [], utc(2027, 3, 27), utc(2027, 3, 29)) == []
    assert len(expand(slots, [], utc(2027, 4, 3), utc(2027, 4, 5))) == 1


def test_spring_forward_slot_spanning_the_change_is_an_hour_shorter() -> None:
    [occ] = expand([weekly(1, SUN, time(2), time(5))], [], utc(2027, 3, 27), utc(2027, 3, 29))
    assert (occ.starts_at, occ.ends_at) == (utc(2027, 3, 28, 0), utc(2027, 3, 28, 2))
    assert hours(occ) == 2
    assert occ.starts_at.astimezone(ZONE).time() == time(2)
    assert occ.ends_at.astimezone(ZONE).time() == time(5)


def test_fall_back_ambiguous_start_is_the_first_occurrence() -> None:
    # 2026-10-25 (Sunday): 04:00 EEST falls back to 03:00 EET; 03:30 happens twice.
    [occ] = expand([weekly(1, SUN, time(3, 30), time(6))], [], utc(2026, 10, 24), utc(2026, 10, 26))
    assert occ.starts_at == utc(2026, 10, 25, 0, 30)  # 03:30 EEST, the first one
    assert occ.starts_at.astimezone(ZONE).utcoffset() == timedelta(hours=3)
    assert occ.ends_at == utc(2026, 10, 25, 4)  # 06:00 EET
    assert hours(occ) == 3.5


def test_fall_back_slot_spanning_the_change_is_an_hour_longer() -> None:
    [occ] = expand([weekly(1, SUN, time(2), time(5))], [], utc(2026, 10, 24), utc(2026, 10, 26))
    assert (occ.starts_at, occ.ends_at) == (utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))
    assert hours(occ) == 4


def test_slot_spanning_midnight_ends_the_next_local_date() -> None:
    slots = [weekly(1, FRI, time(22), time(2))]
    # Asking only for Saturday still finds Friday's occurrence running into it.
    [occ] = expand(slots, [], local(2026, 12, 5), local(2026, 12, 6))
    assert occ.local_date == date(2026, 12, 4)
    assert (occ.starts_at, occ.ends_at) == (utc(2026, 12, 4, 20), utc(2026, 12, 5, 0))
    assert occ.ends_at.astimezone(ZONE) == local(2026, 12, 5, 2)
    # Midnight as the end is the next day's midnight.
    [to_midnight] = expand([weekly(2, FRI, time(20), time(0))], [], local(2026, 12, 4), local(2026, 12, 6))
    assert hours(to_midnight) == 4
    # Equal start and end is a whole day.
    [whole] = expand([weekly(3, FRI, time(12), time(12))], [], local(2026, 12, 4), local(2026, 12, 6))
    assert hours(whole) == 24


def test_slot_spanning_midnight_and_the_change() -> None:
    # Saturday 22:00 to Sunday 05:00 across spring-forward: 6 real hours, not 7.
    [occ] = expand([weekly(1, SAT, time(22), time(5))], [], utc(2027, 3, 27), utc(2027, 3, 29))
    assert occ.local_date == date(2027, 3, 27)
    assert (occ.starts_at, occ.ends_at) == (utc(2027, 3, 27, 20), utc(2027, 3, 28, 2))


def test_cancelled_date() -> None:
    slots = [weekly(1, TUE, time(12), time(15))]
    holiday = SlotException(1, date(2026, 12, 8), cancelled=True, note="Independence Day week")
    found = expand(slots, [holiday], local(2026, 11, 30), local(2026, 12, 14))
    assert [(o.local_date, o.cancelled) for o in found] == [(date(2026, 12, 1), False), (date(2026, 12, 8), True)]
    assert found[1].note == "Independence Day week"
    # Usual times kept on the cancelled occurrence, for showing it.
    assert found[1].starts_at == utc(2026, 12, 8, 10)
    kept = expand(slots, [holiday], local(2026, 11, 30), local(2026, 12, 14), include_cancelled=False)
    assert [o.local_date for o in kept] == [date(2026, 12, 1)]


def test_changed_time_for_one_date() -> None:
    slots = [weekly(1, TUE, time(12), time(15)), weekly(2, TUE, time(18), time(20))]
    changes = [
        SlotException(1, date(2026, 12, 8), start=time(10), end=time(13), note="training after"),
        SlotException(2, date(2026, 12, 8), end=time(1)),  # only the end, now past midnight
    ]
    found = expand(slots, changes, local(2026, 11, 30), local(2026, 12, 14))
    assert spans(found) == [
        (1, date(2026, 12, 1), utc(2026, 12, 1, 10), utc(2026, 12, 1, 13)),
        (2, date(2026, 12, 1), utc(2026, 12, 1, 16), utc(2026, 12, 1, 18)),
        (1, date(2026, 12, 8), utc(2026, 12, 8, 8), utc(2026, 12, 8, 11)),
        (2, date(2026, 12, 8), utc(2026, 12, 8, 16), utc(2026, 12, 8, 23)),
    ]
    assert found[2].note == "training after"


def test_one_off_slot() -> None:
    slots = [DutySlot.once(7, date(2026, 12, 24), time(18), time(23), HEL, needed=3, languages=("fi",))]
    [occ] = expand(slots, [], local(2026, 12, 1), local(2027, 1, 1))
    assert (occ.slot_id, occ.local_date, occ.starts_at, occ.ends_at) == (
        7, date(2026, 12, 24), utc(2026, 12, 24, 16), utc(2026, 12, 24, 21)
    )
    assert occ.needed == 3
    assert expand(slots, [], local(2026, 12, 25), local(2027, 1, 1)) == []


def test_valid_from_and_valid_until_are_inclusive() -> None:
    slot = weekly(1, TUE, time(12), time(15), valid_from=date(2026, 12, 8), valid_until=date(2026, 12, 22))
    found = expand([slot], [], local(2026, 11, 1), local(2027, 2, 1))
    assert [o.local_date for o in found] == [date(2026, 12, 8), date(2026, 12, 15), date(2026, 12, 22)]


def test_retired_slots_have_no_occurrences() -> None:
    slots = [weekly(1, TUE, time(12), time(15), retired=True), weekly(2, TUE, time(16), time(17))]
    assert [o.slot_id for o in expand(slots, [], local(2026, 11, 30), local(2026, 12, 7))] == [2]


def test_slot_and_exception_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        weekly(1, TUE, time(12), time(15), needed=0)
    with pytest.raises(ValueError, match="weekday"):
        weekly(1, 7, time(12), time(15))
    with pytest.raises(ValueError, match="time zone"):
        DutySlot.weekly(1, TUE, time(12), time(15), "Mars/Olympus")
    with pytest.raises(ValueError, match="wall time"):
        weekly(1, TUE, time(12, tzinfo=UTC), time(15))
    with pytest.raises(ValueError, match="before valid_from"):
        weekly(1, TUE, time(12), time(15), valid_from=date(2027, 1, 1), valid_until=date(2026, 1, 1))
    with pytest.raises(ValueError, match="language"):
        weekly(1, TUE, time(12), time(15), languages=("fi,en",))
    with pytest.raises(ValueError, match="cancelled date has no changed times"):
        SlotException(1, date(2026, 12, 1), cancelled=True, start=time(9))
    with pytest.raises(ValueError, match="either cancels"):
        SlotException(1, date(2026, 12, 1))


# --- coverage gaps -----------------------------------------------------------


def assigned(shift_id: int, staff_id: int, occ: Occurrence) -> Shift:
    return Shift(shift_id, staff_id, occ.starts_at, occ.ends_at, "", occ.slot_id, occ.local_date)


def test_coverage_gaps() -> None:
    slots = [weekly(1, TUE, time(12), time(15), needed=2), weekly(2, THU, time(18), time(20))]
    holiday = SlotException(2, date(2026, 12, 10), cancelled=True)
    occs = expand(slots, [holiday], local(2026, 11, 30), local(2026, 12, 14))
    tue1, thu1, tue2, thu2 = occs
    assert thu2.cancelled
    shifts = [
        assigned(1, 10, tue1),
        assigned(2, 10, tue1),  # the same person twice counts once
        assigned(3, 10, tue2),
        assigned(4, 11, tue2),
        assigned(5, 12, thu1),
        Shift(6, 13, tue1.starts_at, tue1.ends_at),  # outside any slot: staffs no occurrence
    ]
    gaps = coverage_gaps(occs, shifts)
    assert [(g.occurrence.key, g.assigned, g.missing) for g in gaps] == [((1, date(2026, 12, 1)), 1, 1)]
    # Nobody assigned: the whole need is missing; a cancelled occurrence is never a gap.
    gaps = coverage_gaps(occs, [])
    assert [(g.occurrence.key, g.missing) for g in gaps] == [
        ((1, date(2026, 12, 1)), 2), ((2, date(2026, 12, 3)), 1), ((1, date(2026, 12, 8)), 2)
    ]
    # Limited to a range.
    gaps = coverage_gaps(occs, [], local(2026, 12, 7), local(2026, 12, 14))
    assert [g.occurrence.key for g in gaps] == [(1, date(2026, 12, 8))]


# --- shifts: on duty, opening hours, next opening ----------------------------


def shift(shift_id: int, staff_id: int, start: datetime, end: datetime) -> Shift:
    return Shift(shift_id, staff_id, start, end)


def test_on_duty() -> None:
    shifts = [
        shift(1, 10, local(2026, 12, 1, 12), local(2026, 12, 1, 15)),
        shift(2, 11, local(2026, 12, 1, 14), local(2026, 12, 1, 18)),
        shift(3, 10, local(2026, 12, 1, 14), local(2026, 12, 1, 16)),
    ]
    assert on_duty(shifts, local(2026, 12, 1, 11, 59)) == set()
    assert on_duty(shifts, local(2026, 12, 1, 12)) == {10}
    assert on_duty(shifts, local(2026, 12, 1, 14, 30)) == {10, 11}
    assert on_duty(shifts, local(2026, 12, 1, 16)) == {11}
    assert on_duty(shifts, local(2026, 12, 1, 18)) == set()


def test_opening_hours_merge_overlapping_shifts_and_split_at_local_midnight() -> None:
    shifts = [
        shift(1, 10, local(2026, 12, 1, 12), local(2026, 12, 1, 15)),
        shift(2, 11, local(2026, 12, 1, 14), local(2026, 12, 1, 17)),  # overlaps 1
        shift(3, 12, local(2026, 12, 1, 17), local(2026, 12, 1, 18)),  # touches 2
        shift(4, 10, local(2026, 12, 1, 22), local(2026, 12, 2, 2)),  # crosses midnight
        shift(5, 11, local(2026, 12, 3, 9), local(2026, 12, 3, 10)),
    ]
    days = opening_hours(shifts, local(2026, 12, 1, 13), 3, ZONE)
    assert [d.day for d in days] == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
    assert days[0].periods == (
        Period(local(2026, 12, 1, 12), local(2026, 12, 1, 18)),
        Period(local(2026, 12, 1, 22), local(2026, 12, 2, 0)),
    )
    assert days[1].periods == (Period(local(2026, 12, 2, 0), local(2026, 12, 2, 2)),)
    assert days[2].periods == (Period(local(2026, 12, 3, 9), local(2026, 12, 3, 10)),)
    # Periods are given in the organisation's zone, for display.
    assert days[0].periods[0].start.tzinfo is ZONE
    # A day with no shift is closed even if it has slots: only assigned shifts open the chat.
    assert opening_hours(shifts, local(2026, 12, 4), 1, ZONE)[0].periods == ()


def test_opening_hours_on_a_23_hour_day() -> None:
    whole_weekend = [shift(1, 10, local(2027, 3, 27, 20), local(2027, 3, 29, 4))]
    [day] = opening_hours(whole_weekend, utc(2027, 3, 28, 12), 1, ZONE)
    [period] = day.periods
    assert (period.start, period.end) == (local(2027, 3, 28), local(2027, 3, 29))
    # Subtracting same-zone datetimes gives wall-clock time in Python; real time needs UTC.
    assert period.end.astimezone(UTC) - period.start.astimezone(UTC) == timedelta(hours=23)


def test_next_opening_and_is_open() -> None:
    shifts = [
        shift(1, 10, local(2026, 12, 1, 12), local(2026, 12, 1, 15)),
        shift(2, 11, local(2026, 12, 2, 9), local(2026, 12, 2, 12)),
    ]
    assert next_opening(shifts, local(2026, 12, 1, 10)) == local(2026, 12, 1, 12)
    assert next_opening(shifts, local(2026, 12, 1, 16)) == local(2026, 12, 2, 9)
    # After the last shift there is no next opening.
    assert next_opening(shifts, local(2026, 12, 2, 12)) is None
    assert is_open(shifts, local(2026, 12, 1, 12)) and not is_open(shifts, local(2026, 12, 1, 15))
    assert shift_of(shifts, 11, local(2026, 12, 2, 8, 50), timedelta(minutes=15)).shift_id == 2  # type: ignore[union-attr]


# --- per language ------------------------------------------------------------------

SPEAKS = {10: ("fi", "en"), 11: ("th", "en"), 12: ()}


def test_language_hours_count_only_the_shifts_of_speakers() -> None:
    shifts = [
        shift(1, 10, local(2026, 12, 2, 9), local(2026, 12, 2, 13)),  # Finnish, Wednesday morning
        shift(2, 11, local(2026, 12, 2, 12), local(2026, 12, 2, 16)),  # Thai, overlapping it
        shift(3, 11, local(2026, 12, 2, 15), local(2026, 12, 2, 17)),  # Thai again, overlapping shift 2
        shift(4, 11, local(2026, 12, 3, 22), local(2026, 12, 4, 2)),  # Thai across local midnight
    ]
    now = local(2026, 12, 2, 8)
    thai = language_hours(shifts, SPEAKS, "th", now, 3, ZONE)
    assert thai[0].periods == (Period(local(2026, 12, 2, 12), local(2026, 12, 2, 17)),)
    assert thai[1].periods == (Period(local(2026, 12, 3, 22), local(2026, 12, 4, 0)),)
    assert thai[2].periods == (Period(local(2026, 12, 4, 0), local(2026, 12, 4, 2)),)
    finnish = language_hours(shifts, SPEAKS, "fi", now, 1, ZONE)
    assert finnish[0].periods == (Period(local(2026, 12, 2, 9), local(2026, 12, 2, 13)),)
    # English: both speak it, so their shifts merge.
    assert language_hours(shifts, SPEAKS, "en", now, 1, ZONE)[0].periods == (
        Period(local(2026, 12, 2, 9), local(2026, 12, 2, 17)),
    )
    # Nobody speaks Russian; a member with no languages listed would.
    assert all(d.periods == () for d in language_hours(shifts, SPEAKS, "ru", now, 3, ZONE))
    anyone = [shift(5, 12, local(2026, 12, 2, 18), local(2026, 12, 2, 20))]
    assert language_hours(anyone, SPEAKS, "ru", now, 1, ZONE)[0].periods == (
        Period(local(2026, 12, 2, 18), local(2026, 12, 2, 20)),
    )


def test_language_desk_now_and_next_with_a_fixed_clock() -> None:
    shifts = [
        shift(1, 10, local(2026, 12, 2, 9), local(2026, 12, 2, 13)),
        shift(2, 11, local(2026, 12, 2, 12), local(2026, 12, 2, 16)),
    ]
    # At 10 the Finnish desk is open and the Thai one opens at 12.
    assert language_desk(shifts, SPEAKS, "fi", local(2026, 12, 2, 10)) == (True, None)
    assert language_desk(shifts, SPEAKS, "th", local(2026, 12, 2, 10)) == (False, local(2026, 12, 2, 12))
    assert language_desk(shifts, SPEAKS, "th", local(2026, 12, 2, 12)) == (True, None)
    # After the last Thai shift there is no next opening; the end is exclusive.
    assert language_desk(shifts, SPEAKS, "th", local(2026, 12, 2, 16)) == (False, None)
    assert language_desk(shifts, SPEAKS, "ru", local(2026, 12, 2, 10)) == (False, None)


def test_language_hours_across_the_dst_changes() -> None:
    # Helsinki: 2027-03-28 has 23 hours, 2026-10-25 has 25.
    spring = [shift(1, 11, local(2027, 3, 27, 22), local(2027, 3, 28, 5))]
    [sat, sun] = language_hours(spring, SPEAKS, "th", utc(2027, 3, 27, 12), 2, ZONE)
    assert sat.periods == (Period(local(2027, 3, 27, 22), local(2027, 3, 28, 0)),)
    [period] = sun.periods
    assert (period.start, period.end) == (local(2027, 3, 28), local(2027, 3, 28, 5))
    assert period.end.astimezone(UTC) - period.start.astimezone(UTC) == timedelta(hours=4)  # 03-04 is skipped
    autumn_start = datetime(2026, 10, 25, 0, tzinfo=ZONE).astimezone(UTC)
    autumn = [Shift(2, 11, autumn_start, autumn_start + timedelta(hours=6))]
    [day] = language_hours(autumn, SPEAKS, "th", autumn_start, 1, ZONE)
    [period] = day.periods
    assert period.end.astimezone(UTC) - period.start.astimezone(UTC) == timedelta(hours=6)
    assert period.end.hour == 5  # six real hours end at 05:00 local: 03:00-04:00 happened twice
    assert language_desk(autumn, SPEAKS, "th", autumn_start - timedelta(minutes=1)) == (False, autumn_start)
