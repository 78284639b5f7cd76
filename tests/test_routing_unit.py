"""Pure routing and schedule decisions, with an injected clock and no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chat_server.chat.routing import (
    Candidate,
    choose_staff,
    choose_staff_for,
    queue_estimate_seconds,
    speakers,
    speaks,
)
from roster.schedule import Shift, is_open, next_opening, shift_of, shifts_covering

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def cand(staff_id: int, load: int, max_chats: int = 3, idle_since: datetime | None = T0) -> Candidate:
    return Candidate(staff_id, load, max_chats, idle_since)


def test_least_loaded_wins() -> None:
    assert choose_staff([cand(1, 2), cand(2, 0), cand(3, 1)]).staff_id == 2  # type: ignore[union-attr]


def test_tie_goes_to_longest_idle_and_never_had_a_chat_first() -> None:
    earlier, later = T0 - timedelta(minutes=30), T0 - timedelta(minutes=5)
    assert choose_staff([cand(1, 1, idle_since=later), cand(2, 1, idle_since=earlier)]).staff_id == 2  # type: ignore[union-attr]
    assert choose_staff([cand(1, 1, idle_since=earlier), cand(2, 1, idle_since=None)]).staff_id == 2  # type: ignore[union-attr]


def test_full_members_are_skipped() -> None:
    assert choose_staff([cand(1, 3, 3), cand(2, 2, 2)]) is None
    assert choose_staff([cand(1, 3, 3), cand(2, 4, 5)]).staff_id == 2  # type: ignore[union-attr]
    assert choose_staff([]) is None


def test_queue_estimate() -> None:
    assert queue_estimate_seconds(2, 2, 300) == 300
    assert queue_estimate_seconds(3, 1, 100) == 300
    assert queue_estimate_seconds(1, 0, 300) is None
    assert queue_estimate_seconds(0, 1, 300) is None


def shift(shift_id: int, staff_id: int, start_h: float, end_h: float) -> Shift:
    return Shift(shift_id, staff_id, T0 + timedelta(hours=start_h), T0 + timedelta(hours=end_h))


def test_who_is_on_duty_and_boundaries() -> None:
    shifts = [shift(1, 10, 0, 2), shift(2, 11, 1, 3)]
    assert [s.shift_id for s in shifts_covering(shifts, T0)] == [1]
    assert [s.shift_id for s in shifts_covering(shifts, T0 + timedelta(hours=1.5))] == [1, 2]
    # End is exclusive, start inclusive.
    assert [s.shift_id for s in shifts_covering(shifts, T0 + timedelta(hours=2))] == [2]
    assert not is_open(shifts, T0 + timedelta(hours=3))
    assert is_open(shifts, T0 + timedelta(hours=1))


def test_check_in_window_before_shift_start() -> None:
    shifts = [shift(1, 10, 1, 2)]
    early = timedelta(minutes=15)
    assert shift_of(shifts, 10, T0 + timedelta(minutes=44), early) is None
    assert shift_of(shifts, 10, T0 + timedelta(minutes=45), early).shift_id == 1  # type: ignore[union-attr]
    assert shift_of(shifts, 11, T0 + timedelta(hours=1), early) is None
    # Early check-in does not open the chat.
    assert not is_open(shifts, T0 + timedelta(minutes=50))


def test_next_opening() -> None:
    shifts = [shift(1, 10, -2, -1), shift(2, 10, 5, 6), shift(3, 11, 3, 4)]
    assert next_opening(shifts, T0) == T0 + timedelta(hours=3)
    assert next_opening(shifts, T0 + timedelta(hours=4)) == T0 + timedelta(hours=5)
    assert next_opening(shifts, T0 + timedelta(hours=7)) is None
    assert next_opening([], T0) is None


def test_a_chat_goes_only_to_a_member_who_speaks_its_language() -> None:
    spoken = {1: ("fi", "en"), 2: ("th", "en"), 3: ()}
    finn, thai = cand(1, 0), cand(2, 2)
    assert choose_staff_for([finn, thai], spoken, "th") == thai  # busier, but the only speaker
    assert choose_staff_for([finn, thai], spoken, "fi") == finn
    assert choose_staff_for([finn, thai], spoken, "en") == finn  # both speak it: the least loaded
    assert choose_staff_for([finn, thai], spoken, "ru") is None
    assert choose_staff_for([finn, cand(2, 3)], spoken, "th") is None  # the speaker is full
    anyone = cand(3, 1)
    assert choose_staff_for([finn, thai, anyone], spoken, "ru") == anyone  # no languages: every one
    assert choose_staff_for([cand(4, 0)], {}, "et").staff_id == 4  # type: ignore[union-attr]  # unknown: not limited


def test_speakers_keep_the_idle_rule() -> None:
    spoken = {1: ("th",), 2: ("th", "en"), 3: ("fi",)}
    earlier, later = T0 - timedelta(minutes=30), T0 - timedelta(minutes=5)
    group = [cand(1, 1, idle_since=later), cand(2, 1, idle_since=earlier), cand(3, 0)]
    assert [c.staff_id for c in speakers(group, spoken, "th")] == [1, 2]
    assert choose_staff_for(group, spoken, "th").staff_id == 2  # type: ignore[union-attr]
    assert speaks((), "th") and speaks(("th",), "th") and not speaks(("fi",), "th")
