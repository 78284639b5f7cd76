"""Report figures aggregated in the database, and the roll-ups and rating counts they read.

Every figure is exact: see chat_server/reports/rollup.py for how the UTC
roll-ups are read in the organisation's time zone.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, ColumnElement, and_, case, delete, func, insert, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import (
    ChatSessionRow,
    FeedbackCountRow,
    ReportCountRow,
    ReportSlotRow,
    ReportValueRow,
    SessionTopic,
)
from chat_server.reports import rollup
from chat_server.reports.rollup import OUTCOMES, Rollup
from roster.models import ShiftRow

RATINGS = (1, 2, 3, 4, 5)
WEEKDAY_OF_EPOCH = 3  # 1970-01-01 was a Thursday (Monday = 0)


def _upsert(dialect: str, table: Any, rows: list[dict[str, Any]], keys: list[str], add: list[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column."""
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_(table).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + getattr(stmt.excluded, c) for c in add}
    )


async def add_to_rollups(session: AsyncSession, part: Rollup) -> None:
    """Add roll-up rows inside the caller's transaction (rows sorted by key, so writers lock in one order)."""
    dialect = session.bind.dialect.name
    if part.slots:
        await session.execute(
            _upsert(dialect, ReportSlotRow.__table__, part.slot_rows(), ["slot"], list(OUTCOMES))
        )
    if part.counts:
        await session.execute(_upsert(
            dialect, ReportCountRow.__table__, part.count_rows(), ["grain", "period", "figure", "item"], ["sessions"]
        ))
    if part.values:
        await session.execute(_upsert(
            dialect, ReportValueRow.__table__, part.value_rows(), ["grain", "period", "figure", "seconds"],
            ["sessions"],
        ))


def rebuild_rollups(conn: Connection) -> Rollup:
    """Recompute every roll-up from chat_sessions and session_topics (a migration's backfill, a check)."""
    part = Rollup()
    rows = conn.execute(select(
        ChatSessionRow.started_at, ChatSessionRow.outcome, ChatSessionRow.language,
        ChatSessionRow.wait_seconds, ChatSessionRow.duration_seconds,
    ))
    for started_at, outcome, language, wait, duration in rows:
        part.add_session(started_at, outcome, language, wait, duration)
    topics = conn.execute(
        select(ChatSessionRow.started_at, SessionTopic.topic_code)
        .join(SessionTopic, SessionTopic.session_id == ChatSessionRow.id)
    )
    for started_at, topic in topics:
        part.add_topic(started_at, topic)
    for table in (ReportSlotRow, ReportCountRow, ReportValueRow):
        conn.execute(delete(table))
    for table, rows_ in (
        (ReportSlotRow, part.slot_rows()), (ReportCountRow, part.count_rows()), (ReportValueRow, part.value_rows())
    ):
        for start in range(0, len(rows_), 5000):
            conn.execute(insert(table), rows_[start:start + 5000])
    return part


def _minute_ts(minute: int) -> datetime:
    return rollup.EPOCH + timedelta(minutes=minute)


def _int(value: int) -> ColumnElement[int]:
    # Literal integers (computed here, never user input): the same text in SELECT and
    # GROUP BY, which PostgreSQL needs to see them as one expression.
    return literal_column(str(int(value)))


def _counts_row() -> dict[str, int]:
    return {"sessions": 0, **{o: 0 for o in OUTCOMES}}


class ReportRepository:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def add_rating(self, day: date, rating: int) -> None:
        """Count one anonymous rating on a local day."""
        async with self._sessions.begin() as session:
            dialect = session.bind.dialect.name
            await session.execute(_upsert(
                dialect, FeedbackCountRow.__table__, [{"day": day, "rating": rating, "count": 1}],
                ["day", "rating"], ["count"],
            ))

    async def figures(self, start: date, end: date, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
        """Every report figure for local dates start..end inclusive (JSON-ready, exact counts)."""
        lower_at, upper_at = rollup.local_bounds(start, end, zone)
        lower, upper = rollup.to_minute(lower_at), rollup.to_minute(upper_at)
        segs = rollup.segments(zone, lower, upper)
        async with self._sessions() as session:
            hours = await self._hours(session, lower, upper, segs)
            counts, values = await self._tallies(session, lower, upper)
            shifts = (await session.execute(
                select(ShiftRow.starts_at, ShiftRow.ends_at)
                .where(ShiftRow.ends_at > lower_at.replace(tzinfo=None), ShiftRow.starts_at < upper_at.replace(tzinfo=None))
            )).all()
            ratings = dict((await session.execute(
                select(FeedbackCountRow.rating, func.sum(FeedbackCountRow.count))
                .where(FeedbackCountRow.day >= start, FeedbackCountRow.day <= end)
                .group_by(FeedbackCountRow.rating)
            )).all())
        return self._shape(start, end, segs, lower, upper, hours, counts, values, shifts, ratings, now)

    async def _hours(
        self, session: AsyncSession, lower: int, upper: int, segs: tuple[rollup.Segment, ...]
    ) -> list[tuple[int, ...]]:
        """Sessions by outcome per local hour number, from report_slots."""
        slot = ReportSlotRow.slot
        if len(segs) == 1:
            offset: ColumnElement[int] = _int(segs[0].offset)
        else:
            offset = case(*((slot < _int(s.end), _int(s.offset)) for s in segs[:-1]), else_=_int(segs[-1].offset))
        hour = ((slot + offset) // _int(60)).label("hour")
        rows = await session.execute(
            select(hour, *(func.sum(getattr(ReportSlotRow, o)) for o in OUTCOMES))
            .where(slot >= lower, slot < upper)
            .group_by(hour)
        )
        return [tuple(int(v) for v in row) for row in rows]

    async def _tallies(
        self, session: AsyncSession, lower: int, upper: int
    ) -> tuple[Counter[tuple[str, str]], dict[str, Counter[int]]]:
        """Languages and topics, and wait and duration histograms, over [lower, upper) minutes."""
        tiers = rollup.tiers(lower, upper)
        counts: Counter[tuple[str, str]] = Counter()
        values: dict[str, Counter[int]] = {rollup.WAIT: Counter(), rollup.DURATION: Counter()}

        def whole(table: Any) -> list[ColumnElement[bool]]:
            parts = [and_(table.grain == rollup.DAY, table.period >= a, table.period < b) for a, b in tiers.days]
            if tiers.months:
                m0, m1 = tiers.months
                parts.append(and_(table.grain == rollup.MONTH, table.period >= m0, table.period < m1))
            return parts

        if parts := whole(ReportCountRow):
            rows = await session.execute(
                select(ReportCountRow.figure, ReportCountRow.item, func.sum(ReportCountRow.sessions))
                .where(or_(*parts)).group_by(ReportCountRow.figure, ReportCountRow.item)
            )
            for figure, item, n in rows:
                counts[(figure, item)] += int(n)
            rows = await session.execute(
                select(ReportValueRow.figure, ReportValueRow.seconds, func.sum(ReportValueRow.sessions))
                .where(or_(*whole(ReportValueRow))).group_by(ReportValueRow.figure, ReportValueRow.seconds)
            )
            for figure, seconds, n in rows:
                values[figure][int(seconds)] += int(n)
        if tiers.raw:
            started = ChatSessionRow.started_at
            in_raw = or_(*(and_(started >= _minute_ts(a), started < _minute_ts(b)) for a, b in tiers.raw))
            rows = await session.execute(
                select(ChatSessionRow.outcome, ChatSessionRow.language, ChatSessionRow.wait_seconds,
                       ChatSessionRow.duration_seconds).where(in_raw)
            )
            for outcome, language, wait, duration in rows:
                counts[(rollup.LANGUAGE, language)] += 1
                if outcome == "answered":
                    values[rollup.WAIT][wait] += 1
                    values[rollup.DURATION][duration] += 1
            rows = await session.execute(
                select(SessionTopic.topic_code, func.count())
                .join(ChatSessionRow, ChatSessionRow.id == SessionTopic.session_id)
                .where(in_raw).group_by(SessionTopic.topic_code)
            )
            for topic, n in rows:
                counts[(rollup.TOPIC, topic)] += int(n)
        return counts, values

    @staticmethod
    def _shape(
        start: date, end: date, segs: tuple[rollup.Segment, ...], lower: int, upper: int,
        hours: list[tuple[int, ...]], counts: Counter[tuple[str, str]], values: dict[str, Counter[int]],
        shifts: list[Any], ratings: dict[int, int], now: datetime,
    ) -> dict[str, Any]:
        by_outcome = dict.fromkeys(OUTCOMES, 0)
        days: dict[date, dict[str, int]] = {}
        cells = {(w, h): {"sessions": 0, "answered": 0, "closed": 0} for w in range(7) for h in range(24)}
        for hour, *per_outcome in hours:
            day = rollup.local_date(hour)
            row = days.setdefault(day, _counts_row())
            cell = cells[((WEEKDAY_OF_EPOCH + hour // 24) % 7, hour % 24)]
            for outcome, n in zip(OUTCOMES, per_outcome):
                by_outcome[outcome] += n
                row[outcome] += n
                row["sessions"] += n
                cell["sessions"] += n
            cell["answered"] += per_outcome[0]
            cell["closed"] += per_outcome[OUTCOMES.index("closed")]
        total = sum(by_outcome.values())

        # Duty coverage and the hours of each weekday × hour, up to now: only what has happened.
        until = max(lower, min(upper, rollup.to_minute(now)))
        hours_in = Counter[tuple[int, int]]()
        covered = Counter[tuple[int, int]]()
        for target, spans in (
            (hours_in, [(lower, until)]),
            (covered, [(rollup.minute_of(a), rollup.minute_of(b)) for a, b in shifts]),
        ):
            for hour, minutes in rollup.local_hours(rollup.split(rollup.clip(spans, lower, until), segs)):
                target[((WEEKDAY_OF_EPOCH + hour // 24) % 7, hour % 24)] += minutes
        now_naive = now.astimezone(UTC).replace(tzinfo=None)
        lower_at, upper_at = _minute_ts(lower), _minute_ts(upper)
        held = sum(1 for a, b in shifts if lower_at <= a < upper_at and b <= now_naive)
        duty_minutes = sum(covered.values())

        series = _series(start, end, days)
        answered = by_outcome["answered"]
        rated = sum(int(ratings.get(r, 0)) for r in RATINGS)
        wait, duration = values[rollup.WAIT], values[rollup.DURATION]
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "sessions": total,
            "by_outcome": by_outcome,
            "by_language": {k: n for (f, k), n in sorted(counts.items()) if f == rollup.LANGUAGE},
            "by_topic": {k: n for (f, k), n in sorted(counts.items()) if f == rollup.TOPIC},
            **series,
            "by_weekday_hour": [
                {"weekday": w, "hour": h, **cells[(w, h)],
                 "covered_hours": round(covered[(w, h)] / 60, 2), "hours": round(hours_in[(w, h)] / 60, 2)}
                for w in range(7) for h in range(24)
            ],
            "wait_seconds": {
                "answered": sum(wait.values()), "median": rollup.median(wait), "p90": rollup.percentile(wait, 90),
            },
            "duration_seconds": {"answered": sum(duration.values()), "median": rollup.median(duration)},
            "shifts": {
                "held": held,
                "duty_hours": round(duty_minutes / 60, 2),
                "answered_per_shift": round(answered / held, 1) if held else None,
            },
            "closed_share": round(by_outcome["closed"] / total, 4) if total else None,
            "ratings": {
                "count": rated,
                "by_rating": {str(r): int(ratings.get(r, 0)) for r in RATINGS},
                "mean": round(sum(r * int(ratings.get(r, 0)) for r in RATINGS) / rated, 2) if rated else None,
            },
        }


def _series(start: date, end: date, days: dict[date, dict[str, int]]) -> dict[str, list[dict[str, Any]]]:
    """Counts by local day (every day of the range), ISO week, month and year."""
    by_day, weeks, months, years = [], {}, {}, {}
    day = start
    while day <= end:
        row = days.get(day) or _counts_row()
        by_day.append({"date": day.isoformat(), **row})
        iso = day.isocalendar()
        for key, target, extra in (
            (f"{iso.year}-W{iso.week:02d}", weeks, "week"),
            (f"{day.year}-{day.month:02d}", months, "month"),
            (str(day.year), years, "year"),
        ):
            bucket = target.setdefault(key, {extra: key, "start": day.isoformat(), "end": day.isoformat(),
                                             **_counts_row()})
            bucket["end"] = day.isoformat()
            for k, n in row.items():
                bucket[k] += n
        day += timedelta(days=1)
    return {
        "by_day": by_day,
        "by_week": list(weeks.values()),
        "by_month": list(months.values()),
        "by_year": list(years.values()),
    }
