"""Pure report arithmetic: range tiers, zone offsets, hours of the week, percentiles, roll-up keys."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chat_server.reports import rollup
from chat_server.reports.rollup import EPOCH, Rollup, Segment

HELSINKI = ZoneInfo("Europe/Helsinki")
KOLKATA = ZoneInfo("Asia/Kolkata")


def minutes(*args: int) -> int:
    return rollup.to_minute(datetime(*args, tzinfo=UTC))


def covered_by_tiers(lower: int, upper: int) -> list[tuple[int, int]]:
    """The tiers of [lower, upper) turned back into minute ranges, sorted."""
    t = rollup.tiers(lower, upper)
    out = list(t.raw)
    for grain, a, b in t.periods:
        if grain == rollup.DAY:
            out.append((a * 1440, b * 1440))
        elif grain == rollup.MONTH:
            out.append((rollup.first_day_of_month(a) * 1440, rollup.first_day_of_month(b) * 1440))
        else:
            out.append((rollup.first_day_of_month(a * 12) * 1440, rollup.first_day_of_month(b * 12) * 1440))
    return sorted(out)


def test_tiers_cover_the_range_exactly_once_largest_pieces_first() -> None:
    cases = [
        (date(2023, 1, 1), date(2025, 12, 31)),
        (date(2024, 3, 5), date(2026, 2, 3)),
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 11, 15), date(2026, 11, 15)),
        (date(2026, 2, 27), date(2026, 3, 2)),
    ]
    for zone in (HELSINKI, KOLKATA, ZoneInfo("America/St_Johns"), ZoneInfo("UTC")):
        for start, end in cases:
            lower, upper = (rollup.to_minute(b) for b in rollup.local_bounds(start, end, zone))
            pieces = covered_by_tiers(lower, upper)
            assert pieces[0][0] == lower and pieces[-1][1] == upper, (zone, start)
            assert all(a < b for a, b in pieces)
            assert all(p[1] == q[0] for p, q in itertools.pairwise(pieces)), (zone, start, pieces)
    bounds = rollup.local_bounds(date(2023, 1, 1), date(2025, 12, 31), HELSINKI)
    t = rollup.tiers(*(rollup.to_minute(b) for b in bounds))
    # 2023 and 2024 whole, then January to November 2025, then 1–30 December, then two partial UTC days.
    assert t.periods == ((rollup.YEAR, 53, 55), (rollup.MONTH, 660, 671), (rollup.DAY, 20423, 20453))
    assert len(t.raw) == 2


def test_segments_find_dst_changes_to_the_minute() -> None:
    lower, upper = minutes(2026, 1, 1), minutes(2027, 1, 1)
    segs = rollup.segments(HELSINKI, lower, upper)
    assert segs == (
        Segment(lower, minutes(2026, 3, 29, 1), 120),
        Segment(minutes(2026, 3, 29, 1), minutes(2026, 10, 25, 1), 180),
        Segment(minutes(2026, 10, 25, 1), upper, 120),
    )
    assert rollup.segments(KOLKATA, lower, upper) == (Segment(lower, upper, 330),)


def test_week_minutes_counts_each_local_hour_of_the_week() -> None:
    # October 2026 in Helsinki: 31 days, 25 Oct has two 03 hours.
    lower, upper = (rollup.to_minute(b) for b in rollup.local_bounds(date(2026, 10, 1), date(2026, 10, 31), HELSINKI))
    week = rollup.week_minutes(rollup.split([(lower, upper)], rollup.segments(HELSINKI, lower, upper)))
    assert sum(week) == (31 * 24 + 1) * 60
    sunday = 6 * 24
    assert week[sunday + 3] == 5 * 60 and week[sunday + 2] == 4 * 60
    assert week[3 * 24] == 5 * 60  # October 2026 has five Thursdays
    # Three years at once equal the sum of their days, counted whole weeks at a time.
    lower, upper = minutes(2023, 1, 1), minutes(2026, 1, 1)
    whole = rollup.week_minutes([Segment(lower, upper, 90)])
    by_day = [0] * 168
    for day in range(lower // 1440, upper // 1440):
        part = rollup.week_minutes([Segment(max(lower, day * 1440), min(upper, day * 1440 + 1440), 90)])
        by_day = [x + y for x, y in zip(by_day, part, strict=True)]
    assert whole == by_day


def test_clip_and_split_merge_overlaps_and_cut_at_changes() -> None:
    merged = rollup.clip([(10, 20), (15, 30), (40, 50), (0, 5)], 3, 45)
    assert merged == [(3, 5), (10, 30), (40, 45)]
    segs = (Segment(0, 12, 60), Segment(12, 100, 120))
    assert rollup.split(merged, segs) == [Segment(3, 5, 60), Segment(10, 12, 60), Segment(12, 30, 120),
                                          Segment(40, 45, 120)]


def test_percentiles_from_histograms() -> None:
    assert rollup.median(Counter()) is None and rollup.percentile(Counter(), 90) is None
    assert rollup.median({10: 1, 90: 1}) == 50.0
    assert rollup.median({5: 3}) == 5.0
    assert rollup.median({1: 1, 2: 1, 3: 1}) == 2.0
    ten = dict.fromkeys(range(1, 11), 1)
    assert rollup.percentile(ten, 90) == 9 and rollup.percentile(ten, 91) == 10
    assert rollup.percentile({0: 95, 600: 5}, 90) == 0


def test_rollup_keys_of_one_session() -> None:
    part = Rollup()
    started = datetime(2026, 12, 31, 23, 45)
    part.add_session(started, "answered", "fi", 42, 629, ("health.mental",))
    day = (date(2026, 12, 31) - date(1970, 1, 1)).days
    month, year = (2026 - 1970) * 12 + 11, 2026 - 1970
    assert part.slot_rows() == [{"slot": rollup.minute_of(started), "answered": 1, "abandoned": 0,
                                 "unanswered": 0, "closed": 0, "blocked": 0}]
    assert set(part.counts) == {(g, p, f, i) for g, p in (("d", day), ("m", month), ("y", year))
                                for f, i in (("language", "fi"), ("topic", "health.mental"), ("asked", "fi"),
                                             ("answered", "fi"))}
    assert part.language_slot_rows() == [{"slot": rollup.minute_of(started), "language": "fi", "sessions": 1,
                                          "answered": 1, "left_for_language": 0}]
    # The wait is kept to the second, the length to the nearest minute (629 s → 10 min).
    assert set(part.values) == {(g, p, f, v) for g, p in (("d", day), ("m", month), ("y", year))
                                for f, v in (("wait", 42), ("duration", 600))}
    assert rollup.minute_of(EPOCH + timedelta(minutes=5, seconds=59)) == 5


def test_rollup_counts_a_chat_that_changed_language_once_under_each_figure() -> None:
    part = Rollup()
    started = datetime(2026, 12, 4, 18, 0)
    part.add_session(started, "answered", "en", 30, 600, requested="th")
    part.add_session(started, "abandoned", "th", 90, 0, requested="th", left_for_language=True)
    day = (date(2026, 12, 4) - date(1970, 1, 1)).days
    counts = {(f, i): n for (g, p, f, i), n in part.counts.items() if (g, p) == ("d", day)}
    assert counts == {("language", "en"): 1, ("language", "th"): 1, ("asked", "th"): 2, ("answered", "en"): 1,
                      ("switched", "th>en"): 1, ("no_lang", "th"): 1}
    assert part.language_slot_rows() == [{"slot": rollup.minute_of(started), "language": "th", "sessions": 2,
                                          "answered": 1, "left_for_language": 1}]
    assert rollup.language_items("closed", "fi", "fi", False) == [("asked", "fi")]
