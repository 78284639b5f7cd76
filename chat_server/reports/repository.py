"""Report figures aggregated in the database, and the roll-ups and rating counts they read.

Every figure is exact: see chat_server/reports/rollup.py for how the UTC
roll-ups are read in the organisation's time zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from chat_server.db import ChatSessionRow, DebriefRow, HelpAlarmRow, SessionFlag, SessionTopic, Staff
from chat_server.reports import rollup
from chat_server.reports.models import (
    FeedbackCountRow,
    ReportCountRow,
    ReportHourRow,
    ReportLanguageSlotRow,
    ReportSlotRow,
    ReportValueRow,
)
from chat_server.reports.rollup import LANGUAGE_MEASURES, OUTCOMES, Rollup
from roster.models import ShiftRow
from roster.schedule import speaks

RATINGS = (1, 2, 3, 4, 5)


def _upsert(dialect: str, table: Any, rows: list[dict[str, Any]], keys: list[str], add: list[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column."""
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_(table).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + getattr(stmt.excluded, c) for c in add}
    )


async def add_to_rollups(session: AsyncSession, part: Rollup) -> None:
    """Add roll-up rows inside the caller's transaction (rows sorted by key, so writers lock in one order)."""
    dialect = session.get_bind().dialect.name
    if part.slots:
        await session.execute(
            _upsert(dialect, ReportSlotRow.__table__, part.slot_rows(), ["slot"], list(OUTCOMES))
        )
    if part.hours:
        await session.execute(
            _upsert(dialect, ReportHourRow.__table__, part.hour_rows(), ["hour"], list(OUTCOMES))
        )
    if part.language_slots:
        await session.execute(_upsert(
            dialect, ReportLanguageSlotRow.__table__, part.language_slot_rows(), ["slot", "language"],
            list(LANGUAGE_MEASURES),
        ))
    if part.counts:
        await session.execute(_upsert(
            dialect, ReportCountRow.__table__, part.count_rows(), ["grain", "period", "figure", "item"], ["sessions"]
        ))
    if part.values:
        await session.execute(_upsert(
            dialect, ReportValueRow.__table__, part.value_rows(), ["grain", "period", "figure", "seconds"],
            ["sessions"],
        ))


# Alembic config attributes (set by chat_server.db.migrate): on an upgrade to head, the migrations that
# change what the roll-ups count leave the rebuild to the end, where it runs once on the final schema.
ROLLUPS_AT_HEAD_ATTRIBUTE = "dutychat_rollups_at_head"
ROLLUPS_PENDING_ATTRIBUTE = "dutychat_rollups_pending"


def rebuild_rollups_in_migration(op: Any, *, languages: bool = True) -> None:
    """A migration's backfill of the roll-ups: deferred to the end of an upgrade to head, else done now.

    Deferred, the rebuild runs once, with this code, on the schema it was written for,
    however many migrations asked for it; only an upgrade that stops short of head (or
    plain `alembic upgrade`) rebuilds at the migration itself, on that older schema.
    """
    config = op.get_context().config
    attributes = config.attributes if config is not None else {}
    if attributes.get(ROLLUPS_AT_HEAD_ATTRIBUTE):
        attributes[ROLLUPS_PENDING_ATTRIBUTE] = True
        return
    rebuild_rollups(op.get_bind(), languages=languages)


def _seconds(second: object, listener: object) -> tuple[str, ...]:
    """The roles a session row says colleagues were brought in as."""
    return (("responder",) if second else ()) + (("listener",) if listener else ())


def rebuild_rollups(conn: Connection, *, languages: bool = True) -> Rollup:
    """Recompute every roll-up from chat_sessions and session_topics (a migration's backfill, a check).

    `languages=False` leaves out the language-desk columns and table: the schema of
    migration 0004, which had neither yet.
    """
    part = Rollup()
    # Migration 0004 runs this before the flag's column exists (0010): then no row has the flag.
    present = {c["name"] for c in inspect(conn).get_columns("chat_sessions")}
    flagged = "waited_unstaffed" in present
    # Likewise the group invitation flag (0017).
    from_group = ChatSessionRow.from_group if "from_group" in present else false()
    # Nor those of a colleague brought in (0016).
    joined = "had_second_responder" in present
    columns: list[Any] = [
        ChatSessionRow.started_at, ChatSessionRow.outcome, ChatSessionRow.language,
        ChatSessionRow.wait_seconds, ChatSessionRow.duration_seconds,
        ChatSessionRow.waited_unstaffed if flagged else false(), ChatSessionRow.visitor_messages, _has_topics(),
        from_group,
        ChatSessionRow.had_second_responder if joined else false(), ChatSessionRow.had_listener if joined else false(),
    ]
    if languages:
        columns += [ChatSessionRow.requested_language, ChatSessionRow.left_for_language]
    for row in conn.execute(select(*columns)):
        started_at, outcome, language, wait, duration, unstaffed, visitor_messages, has_topics, invited, second, \
            listener, *desk = row
        requested, left = (str(desk[0]), bool(desk[1])) if desk else (None, False)
        empty = rollup.no_conversation(outcome, visitor_messages, bool(has_topics))
        part.add_session(started_at, outcome, language, wait, duration, requested=requested, left_for_language=left,
                         unstaffed=bool(unstaffed), empty=empty, from_group=bool(invited),
                         seconds=_seconds(second, listener))
    if not languages:
        part.language_slots.clear()
        part.counts = Counter({
            k: n for k, n in part.counts.items() if k[2] in (rollup.LANGUAGE, rollup.TOPIC, rollup.FLAG)
        })
    topics = conn.execute(
        select(ChatSessionRow.started_at, SessionTopic.topic_code)
        .join(SessionTopic, SessionTopic.session_id == ChatSessionRow.id)
    )
    for started_at, topic in topics:
        part.add_topic(started_at, topic)
    if "session_flags" in inspect(conn).get_table_names():
        flags = conn.execute(
            select(ChatSessionRow.started_at, SessionFlag.category)
            .join(SessionFlag, SessionFlag.session_id == ChatSessionRow.id)
        )
        for started_at, category in flags:
            part.add_flag(started_at, category)
    tables: list[tuple[Any, list[Any]]] = [
        (ReportSlotRow, part.slot_rows()), (ReportHourRow, part.hour_rows()), (ReportCountRow, part.count_rows()),
        (ReportValueRow, part.value_rows()),
    ]
    if languages:
        tables.append((ReportLanguageSlotRow, part.language_slot_rows()))
    for table, _ in tables:
        conn.execute(delete(table))
    for table, rows_ in tables:
        for start in range(0, len(rows_), 5000):
            conn.execute(insert(table), rows_[start:start + 5000])
    return part


def _has_topics() -> ColumnElement[bool]:
    return exists().where(SessionTopic.session_id == ChatSessionRow.id)


def _minute_ts(minute: int) -> datetime:
    return rollup.EPOCH + timedelta(minutes=minute)


def _int(value: int) -> ColumnElement[int]:
    # Literal integers (computed here, never user input): the same text in SELECT and
    # GROUP BY, which PostgreSQL needs to see them as one expression.
    return literal_column(str(int(value)), Integer)


def _counts_row() -> dict[str, int]:
    return {"sessions": 0, **dict.fromkeys(OUTCOMES, 0)}


class ReportRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add_rating(self, day: date, rating: int) -> None:
        """Count one anonymous rating on a local day."""
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            await session.execute(_upsert(
                dialect, FeedbackCountRow.__table__, [{"day": day, "rating": rating, "count": 1}],
                ["day", "rating"], ["count"],
            ))

    async def figures(
        self, start: date, end: date, zone: ZoneInfo, now: datetime, languages: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Every report figure for local dates start..end inclusive (JSON-ready, exact counts).

        `languages` (those offered) always get a language desk, with or without demand.
        """
        lower_at, upper_at = rollup.local_bounds(start, end, zone)
        lower, upper = rollup.to_minute(lower_at), rollup.to_minute(upper_at)
        segs = rollup.segments(zone, lower, upper)
        async with self._sessions() as orm:
            # Core rows on the session's connection: no ORM loading for thousands of roll-up rows.
            session = await orm.connection()
            hours = await self._hours(session, lower, upper, segs)
            counts, values = await self._tallies(session, lower, upper)
            shifts = (await session.execute(
                select(ShiftRow.starts_at, ShiftRow.ends_at, ShiftRow.checked_in_at, ShiftRow.checked_in_minutes,
                       ShiftRow.checked_in_since)
                .where(ShiftRow.ends_at > _minute_ts(lower), ShiftRow.starts_at < _minute_ts(upper))
            )).all()
            desk_week = await self._language_week(session, lower, upper, segs)
            desk_shifts = (await session.execute(
                select(ShiftRow.starts_at, ShiftRow.ends_at, Staff.languages)
                .join(Staff, Staff.id == ShiftRow.staff_id)
                .where(ShiftRow.ends_at > _minute_ts(lower), ShiftRow.starts_at < _minute_ts(upper))
            )).all()
            ratings = dict((await session.execute(
                select(FeedbackCountRow.rating, func.sum(FeedbackCountRow.count))
                .where(FeedbackCountRow.day >= start, FeedbackCountRow.day <= end)
                .group_by(FeedbackCountRow.rating)
            )).all())
            alarms = (await session.execute(
                select(func.count(), func.count().filter(HelpAlarmRow.answered))
                .where(HelpAlarmRow.raised_at >= _minute_ts(lower), HelpAlarmRow.raised_at < _minute_ts(upper))
            )).one()
            debriefs = (await session.execute(
                select(func.count(), func.count(DebriefRow.done_at))
                .where(DebriefRow.requested_at >= _minute_ts(lower), DebriefRow.requested_at < _minute_ts(upper))
            )).one()
        figures = self._shape(start, end, segs, lower, upper, hours, counts, values, shifts, ratings, now)
        # "Help now" alarms raised in the range (and how many were answered): counts, no one named.
        figures["help_alarms"] = {"raised": int(alarms[0]), "answered": int(alarms[1])}
        # Debrief requests made in the range, and how many of them are done.
        figures["debriefs"] = {"requested": int(debriefs[0]), "done": int(debriefs[1])}
        figures.update(_language_figures(counts, desk_week, desk_shifts, languages, segs, lower, upper, now))
        return figures

    async def _language_week(
        self, session: AsyncConnection, lower: int, upper: int, segs: tuple[rollup.Segment, ...]
    ) -> dict[str, list[list[int]]]:
        """Per language first asked for, per local hour of the week: sessions, answered, left for lack of it."""
        table = ReportLanguageSlotRow.__table__
        key = table.c.slot
        if len(segs) == 1:
            offset: ColumnElement[int] = _int(segs[0].offset)
        else:
            offset = case(
                *((key < _int(s.end), _int(s.offset)) for s in segs[:-1]), else_=_int(segs[-1].offset),
            )
        how = (((key + offset) // _int(60) + _int(rollup.MONDAY_HOUR_OF_EPOCH)) % _int(rollup.HOURS_PER_WEEK)).label(
            "how"
        )
        sums = [func.sum(table.c[m]) for m in LANGUAGE_MEASURES]
        out: dict[str, list[list[int]]] = {}
        rows = await session.execute(
            select(table.c.language, how, *sums).where(key >= lower, key < upper).group_by(table.c.language, how)
        )
        for language, cell, *measures in rows:
            week = out.setdefault(language, [[0] * len(LANGUAGE_MEASURES) for _ in range(rollup.HOURS_PER_WEEK)])
            week[cell] = [int(n) for n in measures]
        return out

    async def _hours(
        self, session: AsyncConnection, lower: int, upper: int, segs: tuple[rollup.Segment, ...]
    ) -> tuple[dict[int, list[int]], list[list[int]]]:
        """Sessions by outcome per local day number and per local hour of the week.

        The zone's offset is added per row with a CASE over its constant-offset
        segments, so both groupings are exact local time, done in the database:
        from report_hours when every offset and change falls on a whole hour,
        else from report_slots (minutes).
        """
        if all(n % 60 == 0 for seg in segs for n in (seg.start, seg.end, seg.offset)):
            table, unit = ReportHourRow.__table__, 60
        else:
            table, unit = ReportSlotRow.__table__, 1
        key = table.c["hour" if unit == 60 else "slot"]
        if len(segs) == 1:
            offset: ColumnElement[int] = _int(segs[0].offset // unit)
        else:
            offset = case(
                *((key < _int(s.end // unit), _int(s.offset // unit)) for s in segs[:-1]),
                else_=_int(segs[-1].offset // unit),
            )
        local = key + offset  # local hours or minutes since 1970-01-01 00:00 local
        sums = [func.sum(table.c[o]) for o in OUTCOMES]
        day = (local // _int(rollup.MINUTES_PER_DAY // unit)).label("day")
        hour = local if unit == 60 else local // _int(60)
        how = ((hour + _int(rollup.MONDAY_HOUR_OF_EPOCH)) % _int(rollup.HOURS_PER_WEEK)).label("how")
        in_range = (key >= lower // unit, key < upper // unit)
        days = {row[0]: list(row[1:]) for row in await session.execute(
            select(day, *sums).where(*in_range).group_by(day)
        )}
        week = [[0] * len(OUTCOMES) for _ in range(rollup.HOURS_PER_WEEK)]
        for row in await session.execute(select(how, *sums).where(*in_range).group_by(how)):
            week[row[0]] = list(row[1:])
        return days, week

    async def _tallies(
        self, session: AsyncConnection, lower: int, upper: int
    ) -> tuple[Counter[tuple[str, str]], dict[str, Counter[int]]]:
        """Languages and topics, and wait and duration histograms, over [lower, upper) minutes."""
        tiers = rollup.tiers(lower, upper)
        counts: Counter[tuple[str, str]] = Counter()
        values: dict[str, Counter[int]] = {rollup.WAIT: Counter(), rollup.DURATION: Counter()}

        def whole(table: Any) -> list[ColumnElement[bool]]:
            return [and_(table.c.grain == g, table.c.period >= a, table.c.period < b) for g, a, b in tiers.periods]

        if tiers.periods:
            table = ReportCountRow.__table__
            rows = await session.execute(
                select(table.c.figure, table.c.item, func.sum(table.c.sessions))
                .where(or_(*whole(table))).group_by(table.c.figure, table.c.item)
            )
            for figure, item, n in rows:
                counts[(figure, item)] += int(n)
            table = ReportValueRow.__table__
            rows = await session.execute(
                select(table.c.figure, table.c.seconds, func.sum(table.c.sessions))
                .where(or_(*whole(table))).group_by(table.c.figure, table.c.seconds)
            )
            for figure, seconds, n in rows:
                values[figure][int(seconds)] += int(n)
        if tiers.raw:
            started = ChatSessionRow.started_at
            in_raw = or_(*(and_(started >= _minute_ts(a), started < _minute_ts(b)) for a, b in tiers.raw))
            sessions = await session.execute(
                select(ChatSessionRow.outcome, ChatSessionRow.language, ChatSessionRow.wait_seconds,
                       ChatSessionRow.duration_seconds, ChatSessionRow.requested_language,
                       ChatSessionRow.left_for_language, ChatSessionRow.waited_unstaffed,
                       ChatSessionRow.visitor_messages, _has_topics(), ChatSessionRow.from_group,
                       ChatSessionRow.had_second_responder, ChatSessionRow.had_listener).where(in_raw)
            )
            for (outcome, language, wait, duration, requested, left, unstaffed, visitor_messages, has_topics,
                 invited, second, listener) in sessions:
                for role in _seconds(second, listener):
                    counts[(rollup.FLAG, rollup.SECONDS_ITEMS[role])] += 1
                counts[(rollup.LANGUAGE, language)] += 1
                for item in rollup.language_items(outcome, language, requested or language, bool(left)):
                    counts[item] += 1
                if unstaffed:
                    counts[(rollup.FLAG, rollup.UNSTAFFED)] += 1
                if invited:
                    counts[(rollup.FLAG, rollup.FROM_GROUP)] += 1
                if rollup.no_conversation(outcome, visitor_messages, bool(has_topics)):
                    counts[rollup.NO_CONVERSATION] += 1
                if outcome == "answered":
                    values[rollup.WAIT][wait] += 1
                    values[rollup.DURATION][rollup.duration_key(duration)] += 1
            topics = await session.execute(
                select(SessionTopic.topic_code, func.count())
                .join(ChatSessionRow, ChatSessionRow.id == SessionTopic.session_id)
                .where(in_raw).group_by(SessionTopic.topic_code)
            )
            for topic, n in topics:
                counts[(rollup.TOPIC, topic)] += int(n)
            flags = await session.execute(
                select(SessionFlag.category, func.count())
                .join(ChatSessionRow, ChatSessionRow.id == SessionFlag.session_id)
                .where(in_raw).group_by(SessionFlag.category)
            )
            for category, n in flags:
                counts[(rollup.FLAGGED, category)] += int(n)
        return counts, values

    @staticmethod
    def _shape(
        start: date, end: date, segs: tuple[rollup.Segment, ...], lower: int, upper: int,
        hours: tuple[dict[int, list[int]], list[list[int]]], counts: Counter[tuple[str, str]],
        values: dict[str, Counter[int]], shifts: Sequence[Any], ratings: dict[int, int], now: datetime,
    ) -> dict[str, Any]:
        days, week = hours
        by_outcome = {o: sum(row[i] for row in days.values()) for i, o in enumerate(OUTCOMES)}
        total = sum(by_outcome.values())
        closed = OUTCOMES.index("closed")

        # Duty coverage and the hours of each weekday × hour, up to now: only what has happened.
        until = max(lower, min(upper, rollup.to_minute(now)))
        hours_in = rollup.week_minutes(rollup.split(rollup.clip([(lower, until)], lower, until), segs))
        spans = [(rollup.minute_of(s.starts_at), rollup.minute_of(s.ends_at)) for s in shifts]
        covered = rollup.week_minutes(rollup.split(rollup.clip(spans, lower, until), segs))
        now_naive = now.astimezone(UTC).replace(tzinfo=None)
        lower_at, upper_at = _minute_ts(lower), _minute_ts(upper)
        # A shift counts once it has ended: planned, and held only if someone checked in on it.
        planned = [s for s in shifts if lower_at <= s.starts_at < upper_at and s.ends_at <= now_naive]
        held = sum(1 for s in planned if s.checked_in_at is not None)
        checked_in_minutes = sum(_checked_in_minutes(s) for s in planned)
        duty_minutes = sum(covered)
        cells = [
            {"weekday": how // 24, "hour": how % 24, "sessions": sum(week[how]), "answered": week[how][0],
             "closed": week[how][closed], "covered_hours": round(covered[how] / 60, 2),
             "hours": round(hours_in[how] / 60, 2)}
            for how in range(rollup.HOURS_PER_WEEK)
        ]

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
            # Chats flagged by staff, by category (a chat flagged twice counts once under each category).
            "by_flag": {k: n for (f, k), n in sorted(counts.items()) if f == rollup.FLAGGED},
            **series,
            "by_weekday_hour": cells,
            "wait_seconds": {
                "answered": sum(wait.values()), "median": rollup.median(wait), "p90": rollup.percentile(wait, 90),
            },
            "duration_seconds": {"answered": sum(duration.values()), "median": rollup.median(duration)},
            "no_conversation": counts[rollup.NO_CONVERSATION],
            "shifts": {
                "planned": len(planned),
                "held": held,
                "not_held": len(planned) - held,
                "duty_hours": round(duty_minutes / 60, 2),
                "checked_in_hours": round(checked_in_minutes / 60, 2),
                "answered_per_shift": round(answered / held, 1) if held else None,
            },
            "closed_share": round(by_outcome["closed"] / total, 4) if total else None,
            # Visitors who waited while nobody was checked in (staff and managers were alerted): a count only.
            "waited_unstaffed": counts[(rollup.FLAG, rollup.UNSTAFFED)],
            # One-to-one chats started from a peer group moderator's invitation: a count only.
            "from_group": counts[(rollup.FLAG, rollup.FROM_GROUP)],
            # Chats a colleague was brought into (chat:invite), by how: counts only.
            "with_second_responder": counts[(rollup.FLAG, rollup.SECOND)],
            "with_listener": counts[(rollup.FLAG, rollup.LISTENER)],
            "ratings": {
                "count": rated,
                "by_rating": {str(r): int(ratings.get(r, 0)) for r in RATINGS},
                "mean": round(sum(r * int(ratings.get(r, 0)) for r in RATINGS) / rated, 2) if rated else None,
            },
        }


def _checked_in_minutes(shift: Any) -> int:
    """Minutes checked in on an ended shift; a stretch never closed (state lost) counts to the shift's end."""
    minutes = int(shift.checked_in_minutes)
    if shift.checked_in_since is not None:
        minutes += max(0, round((shift.ends_at - shift.checked_in_since).total_seconds() / 60))
    return minutes


def _series(start: date, end: date, days: dict[int, list[int]]) -> dict[str, list[dict[str, Any]]]:
    """Counts by local day (every day of the range), ISO week, month and year."""
    out: dict[str, list[dict[str, Any]]] = {"by_day": [], "by_week": [], "by_month": [], "by_year": []}
    current: dict[str, dict[str, Any]] = {}
    zero = [0] * len(OUTCOMES)
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        day = date.fromordinal(ordinal)
        text = day.isoformat()
        counts = days.get(ordinal - rollup.EPOCH_ORDINAL, zero)
        row = {"date": text, "sessions": sum(counts), **dict(zip(OUTCOMES, counts, strict=True))}
        out["by_day"].append(row)
        if day.weekday() == 0 or "week" not in current:
            iso = day.isocalendar()
            current["week"] = _bucket(out["by_week"], "week", f"{iso.year}-W{iso.week:02d}", text)
        if day.day == 1 or "month" not in current:
            current["month"] = _bucket(out["by_month"], "month", text[:7], text)
        if (day.month, day.day) == (1, 1) or "year" not in current:
            current["year"] = _bucket(out["by_year"], "year", text[:4], text)
        for bucket in current.values():
            bucket["end"] = text
            for key, n in row.items():
                if key != "date":
                    bucket[key] += n
    return out


def _bucket(target: list[dict[str, Any]], name: str, key: str, first: str) -> dict[str, Any]:
    bucket = {name: key, "start": first, "end": first, **_counts_row()}
    target.append(bucket)
    return bucket


def _language_figures(
    counts: Counter[tuple[str, str]], week: dict[str, list[list[int]]], shifts: Sequence[Any],
    offered: Sequence[str], segs: tuple[rollup.Segment, ...], lower: int, upper: int, now: datetime,
) -> dict[str, Any]:
    """The language-desk figures: demand per language asked for against the duty hours of its speakers.

    A chat that changed language counts under the language first asked for in `by_requested_language`
    and its desk's demand, under the one it ended in in `by_language` and (if answered)
    `by_answered_language`, and once in `switched_language` as "asked>ended".
    """
    def figure(name: str) -> dict[str, int]:
        return {k: n for (f, k), n in sorted(counts.items()) if f == name}

    switched, left = figure(rollup.SWITCHED), figure(rollup.NO_LANGUAGE)
    until = max(lower, min(upper, rollup.to_minute(now)))
    spans = [(rollup.minute_of(a), rollup.minute_of(b), tuple(x for x in (langs or "").split(",") if x))
             for a, b, langs in shifts]
    desks: dict[str, list[dict[str, Any]]] = {}
    for language in sorted({*offered, *week}):
        mine = [(a, b) for a, b, langs in spans if speaks(langs, language)]
        covered = rollup.week_minutes(rollup.split(rollup.clip(mine, lower, until), segs))
        cells = week.get(language) or [[0] * len(LANGUAGE_MEASURES) for _ in range(rollup.HOURS_PER_WEEK)]
        desks[language] = [
            {"weekday": how // 24, "hour": how % 24, **dict(zip(LANGUAGE_MEASURES, cells[how], strict=True)),
             "covered_hours": round(covered[how] / 60, 2)}
            for how in range(rollup.HOURS_PER_WEEK)
        ]
    return {
        "by_requested_language": figure(rollup.REQUESTED),
        "by_answered_language": figure(rollup.ANSWERED_IN),
        "switched_language": {"sessions": sum(switched.values()), "by_pair": switched},
        "left_for_language": {"sessions": sum(left.values()), "by_language": left},
        "language_desks": desks,
    }
