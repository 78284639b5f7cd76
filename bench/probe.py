"""Opt-in probe for servers under benchmark: event-loop lag and GC pauses.

Loaded only by bench runs, through `bench/probe_site/sitecustomize.py` when
DUTYCHAT_BENCH_PROBE_DIR is set, in dutychat and the baseline alike; a normal
`dutychat run` never imports it. Once a second it appends one JSON line to
`<dir>/<pid>.jsonl`:

    {"t": <time.monotonic()>, "lag_max_ms": .., "lag_over_10ms": n,
     "gc": {"0": [count, total_ms, max_ms, max_cpu_ms], "1": [...], "2": [...]},
     "frozen": gc.get_freeze_count()}

The lag ticker runs every 20 ms on the first event loop that runs in the
process; its lateness is the event-loop lag. GC pauses come from gc.callbacks.
time.monotonic() is one clock for every process on Linux, so the harness
cuts these lines by the time window of each phase.

DUTYCHAT_BENCH_GC=nofreeze turns gc.freeze() into a no-op (to measure the
server without its start-up freeze).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

TICK_SECONDS = 0.02


class Probe:
    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{os.getpid()}.jsonl"
        self._reset()
        self._gc_start = 0.0
        self._gc_cpu_start = 0.0
        self._loops: set[int] = set()
        self.frozen = 0

    def _reset(self) -> None:
        self.lag_max = 0.0
        self.lag_over = 0
        # Per generation: count, total ms, longest ms (wall clock), longest ms of CPU time. The CPU
        # time is what the collection itself costs, whatever else the machine is doing.
        self.gc: dict[int, list[float]] = {g: [0, 0.0, 0.0, 0.0] for g in (0, 1, 2)}
        self.bucket_start = time.monotonic()

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            self._gc_cpu_start = time.thread_time()
            return
        ms = (time.perf_counter() - self._gc_start) * 1000
        cpu_ms = (time.thread_time() - self._gc_cpu_start) * 1000
        entry = self.gc[info.get("generation", 2)]
        entry[0] += 1
        entry[1] += ms
        entry[2] = max(entry[2], ms)
        entry[3] = max(entry[3], cpu_ms)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if id(loop) in self._loops:
            return
        self._loops.add(id(loop))
        expected = loop.time() + TICK_SECONDS

        def tick() -> None:
            nonlocal expected
            now = loop.time()
            lag = now - expected
            if lag > self.lag_max:
                self.lag_max = lag
            if lag > 0.010:
                self.lag_over += 1
            if time.monotonic() - self.bucket_start >= 1.0:
                self.flush()
            expected = now + TICK_SECONDS
            loop.call_at(expected, tick)

        loop.call_at(expected, tick)

    def _frozen(self) -> int:
        # gc.get_freeze_count() walks the whole frozen list (milliseconds for 10^5 objects):
        # ask only until the server has frozen its start-up heap, which it does once.
        if not self.frozen:
            self.frozen = gc.get_freeze_count()
        return self.frozen

    def flush(self) -> None:
        line = {
            "t": time.monotonic(),
            "lag_max_ms": round(self.lag_max * 1000, 2),
            "lag_over_10ms": self.lag_over,
            "gc": {str(k): [v[0], round(v[1], 2), round(v[2], 2), round(v[3], 2)] for k, v in self.gc.items()},
            "frozen": self._frozen(),
        }
        with self.path.open("a") as fh:
            fh.write(json.dumps(line) + "\n")
        self._reset()


def install(directory: str) -> None:
    probe = Probe(Path(directory))
    gc.callbacks.append(probe.on_gc)
    original = asyncio.BaseEventLoop.run_forever

    def run_forever(self: asyncio.BaseEventLoop) -> None:
        probe.attach(self)
        return original(self)

    asyncio.BaseEventLoop.run_forever = run_forever  # type: ignore[method-assign]
    mode = os.environ.get("DUTYCHAT_BENCH_GC", "")
    if mode == "nofreeze":
        gc.freeze = lambda: None  # type: ignore[assignment]
    elif mode.startswith("threshold:"):
        gc.set_threshold(*(int(x) for x in mode.split(":", 1)[1].split(",")))


def read(directory: Path, pids: list[int], start: float, end: float) -> dict[str, Any]:
    """Largest lag and GC pauses of these processes between start and end (monotonic)."""
    lag = 0.0
    over = 0
    frozen = 0
    gcs = {g: [0, 0.0, 0.0, 0.0] for g in ("0", "1", "2")}
    for pid in pids:
        path = directory / f"{pid}.jsonl"
        if not path.exists():
            continue
        for raw in path.read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            # A line covers the second before its t.
            if line["t"] < start or line["t"] - 1.0 > end:
                continue
            lag = max(lag, line["lag_max_ms"])
            frozen = max(frozen, line.get("frozen", 0))
            over += line["lag_over_10ms"]
            for g, (count, total, top, cpu_top) in line["gc"].items():
                gcs[g][0] += count
                gcs[g][1] += total
                gcs[g][2] = max(gcs[g][2], top)
                gcs[g][3] = max(gcs[g][3], cpu_top)
    return {
        "loop_lag_max_ms": round(lag, 1),
        "loop_lag_ticks_over_10ms": over,
        "gc_frozen_objects": frozen,
        "gc": {f"gen{g}": {"count": v[0], "total_ms": round(v[1], 1), "max_ms": round(v[2], 1),
                           "max_cpu_ms": round(v[3], 1)}
               for g, v in gcs.items()},
    }
