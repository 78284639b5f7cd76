"""Report query time over 1M and 10M synthetic chat sessions, on SQLite and PostgreSQL.

`make bench` imports this module and awaits `run(sizes)` (the full run: 1,000,000 and 10,000,000
sessions; the quick run: 20,000); it also runs alone:

    python -m bench.report_bench [--quick] [--sessions N ...]

The generator draws realistic sessions (busy weekday duty hours with a few
evening slots, closed arrivals outside them, Finnish/English/Swedish, one to
three topics per answered chat, skewed waits and lengths) over three years,
plus the staff and duty shifts that covered them, chunk by chunk (so ten
million rows never sit in memory) into a fresh SQLite file (executemany, one
transaction, no fsync) and a fresh PostgreSQL database (COPY) at once, both
migrated like a real deployment. The roll-ups are built from the same rows
with the code that keeps them in production (`Rollup.add_session`). Then the
report page (`GET /api/reports` with `compare=previous`: every figure for the
whole span and for the span before it) and its CSV export (the same figures
with small numbers hidden, written by `export.to_csv`) are timed through
`ReportRepository`, median of several runs, over the whole span and over its
last year.
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
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from chat_server.db import create_engine, migrate, sessionmaker
from chat_server.reports.export import suppress, to_csv
from chat_server.reports.repository import ReportRepository
from chat_server.reports.rollup import Rollup
from chat_server.settings import TOPICS_FILE
from chat_server.topics import load_taxonomy, sync_topics
from chat_server.web.reports import previous_period

TARGET_MS = 250
FULL_SESSIONS = 1_000_000
TEN_MILLION = 10_000_000
QUICK_SESSIONS = 20_000
# The export's default: counts under this are written as "<5" (reports.small_number_threshold).
SMALL_NUMBERS = 5
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
    """The staff shifts, and the roll-ups of every session generated so far (the rows themselves stream)."""

    shifts: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    rollup: Rollup = field(default_factory=Rollup)
    sessions: int = 0


def _weights(values: list[float]) -> list[float]:
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


Chunks = Iterator[tuple[list[tuple], list[tuple]]]


def generate(count: int, seed: int = 7, chunk: int = 100_000) -> tuple[Dataset, Chunks]:
    """Synthetic sessions (counts only, like real rows), their topics, shifts and roll-ups.

    Answers the dataset (shifts now; roll-ups filled as the rows are drawn) and an iterator of chunks
    (session rows, topic rows) of at most `chunk` sessions, so that ten million rows never sit in memory.
    """
    rng = random.Random(seed)
    taxonomy = load_taxonomy(TOPICS_FILE, ("fi", "sv", "en"))
    codes = [t.code for g in taxonomy.groups for t in g.topics if not t.retired]
    # A few topics are common, most are rare: Zipf-like weights.
    topic_weights = [1 / (i + 1) for i in range(len(codes))]
    rng.shuffle(topic_weights)
    topic_cum = _weights(topic_weights)
    languages = [code for code, _ in LANGUAGES]
    language_cum = _weights([float(w) for _, w in LANGUAGES])
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
    span_start = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=ZONE).astimezone(UTC)
    epoch = span_start.replace(tzinfo=None)
    span_minutes = days * 1440
    # A uniform minute of duty time, mapped to its instant through the cumulative duty minutes.
    cumulative, starts, total = [], [], 0.0
    for a, b in duty:
        total += (b - a).total_seconds() / 60
        cumulative.append(total)
        starts.append((a - span_start).total_seconds() / 60)
    open_minutes = total
    # About 85 % of visitors come while chat is open; the rest arrive any time.
    open_count = int(count * 0.85)
    last = len(duty) - 1
    topic_ks = (1, 1, 1, 2, 2, 3)
    rollup = data.rollup

    def rows() -> Chunks:
        sessions: list[tuple] = []
        topics_out: list[tuple] = []
        for n in range(count):
            during_duty = n < open_count
            if during_duty:
                pick = rng.random() * open_minutes
                i = min(bisect.bisect_right(cumulative, pick), last)
                minute = starts[i] + pick - (cumulative[i - 1] if i else 0.0)
            else:
                minute = rng.random() * span_minutes
            # Rounded down to the quarter hour, as the row writer stores it.
            started = epoch + timedelta(minutes=int(minute) - int(minute) % 15)
            language = rng.choices(languages, cum_weights=language_cum)[0]
            if not during_duty:
                outcome, wait, duration = "closed", 0, 0
            else:
                roll = rng.random()
                outcome = ("answered" if roll < 0.84 else "abandoned" if roll < 0.96 else "unanswered"
                           if roll < 0.99 else "blocked")
                wait = int(rng.expovariate(1 / 75)) if outcome != "blocked" else int(rng.expovariate(1 / 30))
                duration = int(rng.lognormvariate(6.6, 0.7)) if outcome in ("answered", "blocked") else 0
                if outcome == "abandoned":
                    wait = int(rng.uniform(20, 900))
                elif outcome == "unanswered":
                    wait = int(rng.uniform(60, 3600))
            session_id = f"{n:08x}{rng.getrandbits(96):024x}"
            topics: tuple[str, ...] = ()
            if outcome == "answered":
                topics = tuple(sorted(set(rng.choices(codes, cum_weights=topic_cum, k=rng.choice(topic_ks)))))
                topics_out.extend((session_id, t) for t in topics)
            visitor_messages = rng.randint(1, 30) if outcome == "answered" else rng.randint(0, 2)
            # Loaded rows are asked for and answered in their one language, as the row writer stores them.
            sessions.append((session_id, started, wait, duration, outcome, language, visitor_messages,
                             visitor_messages if outcome == "answered" else 0, None, language,
                             language if outcome == "answered" else None))
            rollup.add_session(started, outcome, language, wait, duration, topics)
            data.sessions += 1
            if len(sessions) >= chunk:
                yield sessions, topics_out
                sessions, topics_out = [], []
        if sessions:
            yield sessions, topics_out

    return data, rows()


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
_LOADED_COLUMNS = ("id", "started_at", "wait_seconds", "duration_seconds", "outcome", "language",
                   "visitor_messages", "staff_messages", "shift_id", "requested_language", "answered_language")
_STAFF_COLUMNS = ("id", "username", "display_name", "alias", "password_hash", "role", "languages", "max_chats",
                  "disabled", "created_at")
_ROLLUP_TABLES = ("report_slots", "report_hours", "report_counts", "report_values", "report_language_slots")


def _rollup_rows(rollup: Rollup) -> dict[str, list[dict]]:
    return {"report_slots": rollup.slot_rows(), "report_hours": rollup.hour_rows(),
            "report_counts": rollup.count_rows(), "report_values": rollup.value_rows(),
            "report_language_slots": rollup.language_slot_rows()}


class SqliteLoader:
    """Bulk rows into the SQLite file: one transaction, executemany per chunk, no fsync."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA journal_mode=MEMORY")
        self.db.execute("BEGIN")

    def start(self, data: Dataset) -> None:
        self.db.executemany(f"INSERT INTO staff ({', '.join(_STAFF_COLUMNS)}) VALUES ({', '.join('?' * 10)})",
                            [(*s[:9], s[9].isoformat(" ")) for s in _STAFF])
        self.db.executemany("INSERT INTO shifts (staff_id, starts_at, ends_at, note) VALUES (?, ?, ?, '')",
                            [(s, a.isoformat(" "), b.isoformat(" ")) for s, a, b in data.shifts])

    def chunk(self, sessions: list[tuple], topics: list[tuple]) -> None:
        self.db.executemany(
            f"INSERT INTO chat_sessions ({', '.join(_LOADED_COLUMNS)}) VALUES ({', '.join('?' * 11)})",
            # The same text form SQLAlchemy writes for DateTime on SQLite.
            ((s[0], s[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *s[2:]) for s in sessions),
        )
        self.db.executemany("INSERT INTO session_topics (session_id, topic_code) VALUES (?, ?)", topics)

    def finish(self, data: Dataset) -> None:
        for table, rows in _rollup_rows(data.rollup).items():
            names = ", ".join(f":{k}" for k in rows[0])
            self.db.executemany(f"INSERT INTO {table} VALUES ({names})", rows)
        self.db.execute("COMMIT")
        self.db.execute("ANALYZE")
        self.db.close()


class PostgresLoader:
    """Bulk rows into PostgreSQL with COPY (asyncpg's copy_records_to_table), one transaction."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def start(self, data: Dataset) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(self.dsn)
        self.tx = self.conn.transaction()
        await self.tx.start()
        await self.conn.copy_records_to_table("staff", records=_STAFF, columns=_STAFF_COLUMNS)
        await self.conn.copy_records_to_table("shifts", records=[(s, a, b, "") for s, a, b in data.shifts],
                                              columns=("staff_id", "starts_at", "ends_at", "note"))

    async def chunk(self, sessions: list[tuple], topics: list[tuple]) -> None:
        await self.conn.copy_records_to_table("chat_sessions", records=sessions, columns=_LOADED_COLUMNS)
        await self.conn.copy_records_to_table("session_topics", records=topics, columns=("session_id", "topic_code"))

    async def finish(self, data: Dataset) -> None:
        try:
            for table, rows in _rollup_rows(data.rollup).items():
                await self.conn.copy_records_to_table(
                    table, records=[tuple(r.values()) for r in rows], columns=tuple(rows[0]))
            await self.tx.commit()
            # A steady-state database has statistics (autovacuum would gather them soon).
            await self.conn.execute("ANALYZE")
        finally:
            await self.conn.close()


async def load(count: int, sqlite_path: Path, pg_dsn: str) -> tuple[Dataset, dict[str, float]]:
    """Draw `count` sessions chunk by chunk into both engines at once (SQLite in a thread, COPY meanwhile)."""
    t0 = time.perf_counter()
    data, chunks = generate(count)
    lite, pg = SqliteLoader(sqlite_path), PostgresLoader(pg_dsn)
    lite.start(data)
    await pg.start(data)
    spent = {"generate_s": 0.0, "sqlite_s": 0.0, "postgresql_s": 0.0}

    async def timed(key: str, work: Awaitable[None]) -> None:
        t = time.perf_counter()
        await work
        spent[key] += time.perf_counter() - t

    pending: asyncio.Future | None = None
    while True:
        t = time.perf_counter()
        part = next(chunks, None)
        spent["generate_s"] += time.perf_counter() - t
        if pending is not None:
            await pending
        if part is None:
            break
        sessions, topics = part
        pending = asyncio.gather(timed("sqlite_s", asyncio.to_thread(lite.chunk, sessions, topics)),
                                 timed("postgresql_s", pg.chunk(sessions, topics)))
        await asyncio.sleep(0)  # both loads start; the next chunk is drawn while they run
    await asyncio.to_thread(lite.finish, data)
    await pg.finish(data)
    spent["total_s"] = time.perf_counter() - t0
    return data, {k: round(v, 1) for k, v in spent.items()}


async def _time_report(url: str, start: date, end: date, runs: int) -> tuple[float, float, dict]:
    """Median milliseconds of the report page's figures (period and previous period) and of its CSV export.

    The page: `ReportRepository.figures` for the period and the one before (what GET /api/reports with
    compare=previous asks the database for). The CSV: the same figures with small numbers hidden and
    written as CSV (`export.suppress`, `export.to_csv`), as GET /api/reports.csv does.
    """
    engine = create_engine(url)
    try:
        reports = ReportRepository(sessionmaker(engine))
        before = previous_period(start, end)
        figures: dict = {}
        page, export = [], []
        for _ in range(runs + 1):  # the first run warms the connection pool and caches
            t0 = time.perf_counter()
            figures = await reports.figures(start, end, ZONE, NOW)
            previous = await reports.figures(before[0], before[1], ZONE, NOW)
            page.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            period = await reports.figures(start, end, ZONE, NOW)
            earlier = await reports.figures(before[0], before[1], ZONE, NOW)
            text = to_csv({"period": suppress(period, SMALL_NUMBERS), "previous": suppress(earlier, SMALL_NUMBERS)})
            export.append((time.perf_counter() - t0) * 1000)
            assert text and previous is not None
        return statistics.median(page[1:]), statistics.median(export[1:]), figures
    finally:
        await engine.dispose()


async def measure(count: int, runs: int) -> dict:
    """One size: load both engines, time the page and the CSV over the whole span and over its last year."""
    import asyncpg

    point: dict = {"sessions": count}
    name = "dutychat_bench_" + secrets.token_hex(4)
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        pg_url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        try:
            with tempfile.TemporaryDirectory(prefix="dutychat-bench-") as folder:
                path = Path(folder) / "bench.db"
                lite_url = f"sqlite+aiosqlite:///{path}"
                await _prepare(lite_url)  # one after the other: Alembic keeps global state
                await _prepare(pg_url)
                data, spent = await load(count, path, f"{base}/{name}")
                point["load"] = spent
                point["rollup_rows"] = sum(len(x) for x in (data.rollup.slots, data.rollup.hours,
                                                            data.rollup.counts, data.rollup.values))
                found = {}
                for engine, url in (("sqlite", lite_url), ("postgresql", pg_url)):
                    page, export, found[engine] = await _time_report(url, FIRST_DAY, LAST_DAY, runs)
                    year_page, year_export, _ = await _time_report(url, date(2025, 1, 1), LAST_DAY, runs)
                    point[f"{engine}_ms"], point[f"{engine}_csv_ms"] = round(page, 1), round(export, 1)
                    point[f"{engine}_year_ms"] = round(year_page, 1)
                    point[f"{engine}_year_csv_ms"] = round(year_export, 1)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    # Both engines must agree, and the figures must cover every generated session.
    assert found["sqlite"] == found["postgresql"], "SQLite and PostgreSQL reports differ"
    assert found["sqlite"]["sessions"] == count
    point["met"] = all(point[f"{e}_{k}"] <= TARGET_MS for e in ("sqlite", "postgresql") for k in ("ms", "csv_ms"))
    return point


async def run(sizes: list[int] | bool, sessions: int | None = None) -> dict:
    """Each size in turn (`sizes`: numbers of sessions; True/False: the old quick/full switch).

    Answers every point under "points", and the first point's figures at the top level (the targets).
    """
    if isinstance(sizes, bool):
        sizes = [sessions] if sessions else [QUICK_SESSIONS] if sizes else [FULL_SESSIONS]
    runs = 2 if max(sizes) < FULL_SESSIONS else 5
    t0 = time.perf_counter()
    points = [await measure(count, runs) for count in sizes]
    first = points[0]
    result: dict = {"from": FIRST_DAY.isoformat(), "to": LAST_DAY.isoformat(), "compare": "previous", "runs": runs,
                    "target_ms": TARGET_MS, "points": points, "elapsed_s": round(time.perf_counter() - t0, 1),
                    **{k: first[k] for k in first if k not in ("load", "met")}}
    result["met"] = all(p["met"] for p in points)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SESSIONS} sessions, fewer runs")
    parser.add_argument("--sessions", type=int, nargs="*", help="numbers of sessions (overrides --quick's)")
    args = parser.parse_args()
    sizes = args.sessions or ([QUICK_SESSIONS] if args.quick else [FULL_SESSIONS, TEN_MILLION])
    print(json.dumps(asyncio.run(run(sizes)), indent=2))


if __name__ == "__main__":
    main()
