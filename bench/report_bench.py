"""Report query time over a million synthetic chat sessions, on SQLite and PostgreSQL.

`make bench` imports this module and awaits `run(quick)`; it also runs alone:

    python -m bench.report_bench [--quick] [--sessions N]

The generator writes realistic sessions (busy weekday duty hours with a few
evening slots, closed arrivals outside them, Finnish/English/Swedish, one to
three topics per answered chat, skewed waits and lengths) over three years,
plus the staff and duty shifts that covered them, into a fresh SQLite file and
a fresh PostgreSQL database migrated like a real deployment. The roll-ups are
built from the same rows with the code that keeps them in production. Then the
full report (`GET /api/reports` with `compare=previous`: every figure for the
whole span and for the span before it) is timed, median of several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from chat_server.db import create_engine, migrate, sessionmaker
from chat_server.reports.repository import ReportRepository
from chat_server.reports.rollup import Rollup
from chat_server.settings import TOPICS_FILE
from chat_server.topics import load_taxonomy, sync_topics
from chat_server.web.reports import previous_period

TARGET_MS = 250
FULL_SESSIONS = 1_000_000
QUICK_SESSIONS = 50_000
ZONE = ZoneInfo("Europe/Helsinki")
FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2025, 12, 31)
# "Now" for the report: after the data, so every shift counts as held.
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
PG_ADMIN = os.environ.get("DUTYCHAT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
# Duty hours (local): weekdays 10–16, Tuesday and Thursday evenings 18–21, Saturday 12–15.
DUTY = {0: [(10, 16)], 1: [(10, 16), (18, 21)], 2: [(10, 16)], 3: [(10, 16), (18, 21)], 4: [(10, 16)],
        5: [(12, 15)], 6: []}
LANGUAGES = (("fi", 60), ("en", 30), ("sv", 10))


@dataclass
class Dataset:
    sessions: list[tuple] = field(default_factory=list)
    topics: list[tuple[str, str]] = field(default_factory=list)
    shifts: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    rollup: Rollup = field(default_factory=Rollup)


def generate(count: int, seed: int = 7) -> Dataset:
    """Synthetic sessions (counts only, like real rows), their topics, shifts and roll-ups."""
    rng = random.Random(seed)
    taxonomy = load_taxonomy(TOPICS_FILE, ("fi", "sv", "en"))
    codes = [t.code for g in taxonomy.groups for t in g.topics if not t.retired]
    # A few topics are common, most are rare: Zipf-like weights.
    topic_weights = [1 / (i + 1) for i in range(len(codes))]
    rng.shuffle(topic_weights)
    languages = [code for code, _ in LANGUAGES]
    language_weights = [w for _, w in LANGUAGES]
    days = (LAST_DAY - FIRST_DAY).days + 1
    data = Dataset()

    # Duty periods in UTC, each staffed by one or two of ten staff members (one shift each).
    duty: list[tuple[datetime, datetime]] = []
    for n in range(days):
        day = FIRST_DAY + timedelta(days=n)
        for start, end in DUTY[day.weekday()]:
            a = datetime(day.year, day.month, day.day, start, tzinfo=ZONE).astimezone(UTC)
            b = datetime(day.year, day.month, day.day, end, tzinfo=ZONE).astimezone(UTC)
            duty.append((a, b))
            for staff in rng.sample(range(1, 11), rng.choice((1, 2))):
                data.shifts.append((staff, a.replace(tzinfo=None), b.replace(tzinfo=None)))
    open_minutes = sum((b - a).total_seconds() for a, b in duty) / 60
    # About 85 % of visitors come while chat is open; the rest arrive any time.
    open_count = int(count * 0.85)
    span_start = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=ZONE).astimezone(UTC)
    span_minutes = days * 1440
    # A uniform minute of duty time, mapped to its instant through the cumulative duty minutes.
    cumulative, total = [], 0.0
    for a, b in duty:
        total += (b - a).total_seconds() / 60
        cumulative.append(total)
    instants: list[tuple[datetime, bool]] = []
    for _ in range(open_count):
        pick = rng.random() * open_minutes
        i = min(bisect.bisect_right(cumulative, pick), len(duty) - 1)
        before = cumulative[i - 1] if i else 0.0
        instants.append((duty[i][0] + timedelta(minutes=pick - before), True))
    for _ in range(count - open_count):
        instants.append((span_start + timedelta(minutes=rng.random() * span_minutes), False))

    for n, (instant, during_duty) in enumerate(instants):
        started = instant.replace(tzinfo=None)
        started = started.replace(minute=started.minute - started.minute % 15, second=0, microsecond=0)
        language = rng.choices(languages, language_weights)[0]
        if not during_duty:
            outcome, wait, duration = "closed", 0, 0
        else:
            roll = rng.random()
            outcome = ("answered" if roll < 0.84 else "abandoned" if roll < 0.96 else "unanswered" if roll < 0.99
                       else "blocked")
            wait = int(rng.expovariate(1 / 75)) if outcome != "blocked" else int(rng.expovariate(1 / 30))
            duration = int(rng.lognormvariate(6.6, 0.7)) if outcome in ("answered", "blocked") else 0
            if outcome == "abandoned":
                wait = int(rng.uniform(20, 900))
            elif outcome == "unanswered":
                wait = int(rng.uniform(60, 3600))
        session_id = f"{n:08x}{rng.getrandbits(96):024x}"
        topics: tuple[str, ...] = ()
        if outcome == "answered":
            topics = tuple(sorted(set(rng.choices(codes, topic_weights, k=rng.choice((1, 1, 1, 2, 2, 3))))))
            data.topics.extend((session_id, t) for t in topics)
        visitor_messages = rng.randint(1, 30) if outcome == "answered" else rng.randint(0, 2)
        data.sessions.append((session_id, started, wait, duration, outcome, language, visitor_messages,
                              visitor_messages if outcome == "answered" else 0, None))
        data.rollup.add_session(started, outcome, language, wait, duration, topics)
    return data


async def _prepare(url: str) -> None:
    """Migrate a fresh database and add the topics and ten staff members."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        await sync_topics(sessionmaker(engine), load_taxonomy(TOPICS_FILE, ("fi", "sv", "en")))
    finally:
        await engine.dispose()


_STAFF = [(i, f"staff{i}", f"Staff {i}", f"S{i}", "x", "staff", "fi", 3, False, datetime(2022, 1, 1))
          for i in range(1, 11)]
_SESSION_COLUMNS = ("id", "started_at", "wait_seconds", "duration_seconds", "outcome", "language",
                    "visitor_messages", "staff_messages", "shift_id")
# Loaded rows are asked for and answered in their one language, as the row writer stores them.
_LOADED_COLUMNS = (*_SESSION_COLUMNS, "requested_language", "answered_language")


def _with_languages(sessions: list[tuple]) -> list[tuple]:
    return [(*r, r[5], r[5] if r[4] == "answered" else None) for r in sessions]


_STAFF_COLUMNS = ("id", "username", "display_name", "alias", "password_hash", "role", "languages", "max_chats",
                  "disabled", "created_at")


def _load_sqlite(path: Path, data: Dataset) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        with db:
            db.executemany(f"INSERT INTO staff ({', '.join(_STAFF_COLUMNS)}) VALUES ({', '.join('?' * 10)})",
                           [(*s[:9], s[9].isoformat(" ")) for s in _STAFF])
            db.executemany("INSERT INTO shifts (staff_id, starts_at, ends_at, note) VALUES (?, ?, ?, '')",
                           [(s, a.isoformat(" "), b.isoformat(" ")) for s, a, b in data.shifts])
            db.executemany(
                f"INSERT INTO chat_sessions ({', '.join(_LOADED_COLUMNS)}) VALUES ({', '.join('?' * 11)})",
                # The same text form SQLAlchemy writes for DateTime on SQLite.
                ((s[0], s[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *s[2:]) for s in _with_languages(data.sessions)),
            )
            db.executemany("INSERT INTO session_topics (session_id, topic_code) VALUES (?, ?)", data.topics)
            db.executemany("INSERT INTO report_slots VALUES (:slot, :answered, :abandoned, :unanswered, :closed, "
                           ":blocked)", data.rollup.slot_rows())
            db.executemany("INSERT INTO report_hours VALUES (:hour, :answered, :abandoned, :unanswered, :closed, "
                           ":blocked)", data.rollup.hour_rows())
            db.executemany("INSERT INTO report_counts VALUES (:grain, :period, :figure, :item, :sessions)",
                           data.rollup.count_rows())
            db.executemany("INSERT INTO report_values VALUES (:grain, :period, :figure, :seconds, :sessions)",
                           data.rollup.value_rows())
            db.executemany("INSERT INTO report_language_slots VALUES (:slot, :language, :sessions, :answered, "
                           ":left_for_language)", data.rollup.language_slot_rows())
    finally:
        db.close()


async def _load_postgresql(dsn: str, data: Dataset) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("staff", records=_STAFF, columns=_STAFF_COLUMNS)
            await conn.copy_records_to_table("shifts", records=[(s, a, b, "") for s, a, b in data.shifts],
                                             columns=("staff_id", "starts_at", "ends_at", "note"))
            await conn.copy_records_to_table(
                "chat_sessions", records=_with_languages(data.sessions), columns=_LOADED_COLUMNS
            )
            await conn.copy_records_to_table("session_topics", records=data.topics,
                                             columns=("session_id", "topic_code"))
            for table, rows in (
                ("report_slots", data.rollup.slot_rows()), ("report_hours", data.rollup.hour_rows()),
                ("report_counts", data.rollup.count_rows()), ("report_values", data.rollup.value_rows()),
                ("report_language_slots", data.rollup.language_slot_rows()),
            ):
                await conn.copy_records_to_table(
                    table, records=[tuple(r.values()) for r in rows], columns=tuple(rows[0])
                )
        # A steady-state database has statistics (autovacuum would gather them soon).
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _time_report(url: str, start: date, end: date, runs: int) -> tuple[float, dict]:
    """Median milliseconds of the full report (period and previous period), and its figures."""
    engine = create_engine(url)
    try:
        reports = ReportRepository(sessionmaker(engine))
        before = previous_period(start, end)
        figures: dict = {}
        times = []
        for _ in range(runs + 1):  # the first run warms the connection pool and caches
            t0 = time.perf_counter()
            figures = await reports.figures(start, end, ZONE, NOW)
            await reports.figures(before[0], before[1], ZONE, NOW)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times[1:]), figures
    finally:
        await engine.dispose()


async def run(quick: bool, sessions: int | None = None) -> dict:
    """Generate the sessions, load both engines, time the full report; {"met": ...} against 250 ms."""
    import asyncpg

    count = sessions or (QUICK_SESSIONS if quick else FULL_SESSIONS)
    runs = 3 if quick else 7
    t0 = time.perf_counter()
    data = generate(count)
    generate_s = time.perf_counter() - t0
    result: dict = {"sessions": count, "from": FIRST_DAY.isoformat(), "to": LAST_DAY.isoformat(),
                    "compare": "previous", "runs": runs, "target_ms": TARGET_MS,
                    "rollup_rows": sum(len(x) for x in (data.rollup.slots, data.rollup.hours, data.rollup.counts,
                                                         data.rollup.values)),
                    "generate_s": round(generate_s, 1)}
    with tempfile.TemporaryDirectory(prefix="dutychat-bench-") as folder:
        path = Path(folder) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        await _prepare(url)
        t0 = time.perf_counter()
        await asyncio.to_thread(_load_sqlite, path, data)
        result["sqlite_load_s"] = round(time.perf_counter() - t0, 1)
        result["sqlite_ms"], sqlite_figures = await _time_report(url, FIRST_DAY, LAST_DAY, runs)
        result["sqlite_year_ms"], _ = await _time_report(url, date(2025, 1, 1), LAST_DAY, runs)

    name = "dutychat_bench_" + secrets.token_hex(4)
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        try:
            await _prepare(url)
            t0 = time.perf_counter()
            await _load_postgresql(f"{base}/{name}", data)
            result["postgresql_load_s"] = round(time.perf_counter() - t0, 1)
            result["postgresql_ms"], pg_figures = await _time_report(url, FIRST_DAY, LAST_DAY, runs)
            result["postgresql_year_ms"], _ = await _time_report(url, date(2025, 1, 1), LAST_DAY, runs)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

    # Both engines must agree, and the figures must cover every generated session.
    assert sqlite_figures == pg_figures, "SQLite and PostgreSQL reports differ"
    assert sqlite_figures["sessions"] == count
    for key in ("sqlite_ms", "postgresql_ms", "sqlite_year_ms", "postgresql_year_ms"):
        result[key] = round(result[key], 1)
    result["met"] = result["sqlite_ms"] <= TARGET_MS and result["postgresql_ms"] <= TARGET_MS
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SESSIONS} sessions, fewer runs")
    parser.add_argument("--sessions", type=int, help="number of sessions (overrides --quick's)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.quick, args.sessions)), indent=2))


if __name__ == "__main__":
    main()
