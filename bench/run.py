"""`make bench`: every figure of issue #7 against a baseline measured in the same run.

python -m bench.run [--quick] [--out bench/results.json] [--only NAME ...] [--publish]

Writes the results as JSON (machine, versions, every figure with dutychat,
baseline, ratio, target and met) and a plot next to them, and prints a table.
--publish (the full `make bench`) also rewrites the generated part of
docs/performance.md and its plot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

from bench import probe
from bench.group_bench import plan_session, run_group
from bench.loadgen import GeneratorPool, split
from bench.servers import (
    ROOT,
    BalancerProcess,
    Baseline,
    CpuMeter,
    Dutychat,
    RedisClients,
    RedisServer,
    prepare_dutychat,
    probe_env,
    redis_command_calls,
    rss_bytes,
)
from chat_server.openfiles import raise_open_files_limit as raise_open_files

KNEE_P99_MS = 50.0


@dataclass
class Sizes:
    quick: bool
    generators: int = 2
    relay_chats: int = 500
    relay_staff: int = 10  # max_chats 50 each: room for relay_chats
    concurrency_steps: list[int] = field(default_factory=lambda: [50, 100, 200, 500])
    latency_interval: float = 2.0
    latency_seconds: float = 10.0
    warmup: float = 2.0
    saturation_seconds: float = 10.0
    knee_fractions: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    knee_seconds: float = 6.0
    idle_visitors: int = 2000
    burst_visitors: int = 1000
    burst_seconds: float = 2.0
    burst_staff: int = 20
    latency_curve_2w: bool = True
    client_comparison: bool = True
    generator_check: bool = True  # saturation from one generator process, then from all
    gc_experiment: bool = True  # dutychat with and without its start-up gc.freeze()
    login_flood_chats: int = 100  # active chats whose latency is measured with and without a login flood
    login_flood_concurrency: int = 50  # login attempts in flight at most during the flood
    login_flood_rate: float = 50.0  # login attempts started per second (far above what argon2 can check)
    phase_lead: float = 0.3  # seconds between telling the generators and the start of a phase
    # Rounds of every scenario with a baseline, interleaved (baseline, dutychat, baseline, ...): each
    # figure is the median over them, with its min-max spread (one run moves by more than the effects).
    repeats: int = 3
    # Short steps at each offered rate of the knee search; a rate passes when most of them do.
    knee_tries: int = 3
    # Cost curves (one worker): active chats at each point, each side writing once per cost_interval;
    # idle connections (no chat) at each point of idle_steps.
    cost_chats: list[int] = field(default_factory=lambda: [100, 1000, 5000])
    cost_interval: float = 10.0
    cost_seconds: float = 10.0
    idle_steps: list[int] = field(default_factory=lambda: [1000, 5000, 10000])
    # Whether memory and burst run every round too (the quick run: only the first, to stay short).
    repeat_all: bool = True
    # The peer group scenario (issue #17): one session, this many participants, messages a second in all.
    group_participants: int = 200
    group_rate: float = 5.0
    group_seconds: float = 20.0
    # After a phase, each generator waits until nothing has arrived for this long (in-flight messages land).
    quiet_seconds: float = 0.3
    # Seconds between telling the generators to start chats and the first chat:start.
    chat_start_lead: float = 0.5
    # chat:start sent per second when a scenario opens its chats (spread evenly).
    chat_start_rate: float = 250.0
    # Seconds of one sample while waiting for the server to go quiet (before reading its memory).
    settle_window: float = 0.5
    # Report query times (bench/report_bench.py) at each of these numbers of synthetic sessions.
    report_sessions: list[int] = field(default_factory=lambda: [1_000_000, 10_000_000])

    @classmethod
    def for_run(cls, quick: bool, smoke: bool = False) -> Sizes:
        if smoke:
            # Only proves that the harness runs end to end (tests/test_bench_smoke.py): no figure means anything.
            return cls(
                quick=True, relay_chats=6, relay_staff=2, concurrency_steps=[6], latency_interval=0.3,
                latency_seconds=0.6, warmup=0.1, saturation_seconds=0.4, knee_fractions=[0.2],
                knee_seconds=0.4, idle_visitors=20, burst_visitors=30, burst_seconds=0.3, burst_staff=3,
                latency_curve_2w=True, client_comparison=False, generator_check=False, gc_experiment=False,
                phase_lead=0.1, login_flood_chats=6, login_flood_concurrency=4, login_flood_rate=10.0,
                repeats=1, knee_tries=1, cost_chats=[6, 12], cost_interval=0.3, cost_seconds=0.6, idle_steps=[10, 20],
                group_participants=10, group_seconds=1.0, quiet_seconds=0.2, chat_start_lead=0.2,
                report_sessions=[2_000],
            )
        if not quick:
            return cls(quick=False)
        # Quick: three interleaved rounds as in the full run, with fewer and shorter steps in each, so that
        # the whole run stays short (docs/performance.md, "How to reproduce"). One try per knee rate (the
        # rounds repeat it) plus the confirmation; shorter warm-ups, leads and drains; smaller burst.
        return cls(
            quick=True, relay_chats=100, relay_staff=2, concurrency_steps=[100], latency_interval=1.0,
            latency_seconds=1.0, warmup=0.5, saturation_seconds=1.2, knee_fractions=[0.3, 0.6],
            knee_seconds=0.5, idle_visitors=300, burst_visitors=500, burst_seconds=1.0, latency_curve_2w=False,
            client_comparison=False, generator_check=False, gc_experiment=False, login_flood_chats=100, repeats=3,
            knee_tries=1, repeat_all=False, cost_chats=[100, 500], cost_interval=1.0, cost_seconds=1.0,
            idle_steps=[500, 2000], group_seconds=3.0, phase_lead=0.15, quiet_seconds=0.2, chat_start_lead=0.2,
            chat_start_rate=500.0, settle_window=0.3, report_sessions=[20_000],
        )


# ------------------------------------------------------------------ statistics


def percentile(values: list[float] | array, q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


def r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def ratio(dutychat: float | None, baseline: float | None) -> float | None:
    if dutychat is None or baseline in (None, 0):
        return None
    return round(dutychat / baseline, 3)


def floats(blob: bytes) -> array:
    values = array("d")
    values.frombytes(blob)
    return values


# ------------------------------------------------------------------ the system under test


class Target:
    """One server set-up (dutychat or baseline, 1 or 2 workers) with its generator pool."""

    def __init__(self, kind: str, workers: int, work: Path, pool: GeneratorPool, redis: RedisServer | None,
                 tokens: dict[str, list[str]] | None, sizes: Sizes | None = None) -> None:
        self.kind = kind
        self.workers = workers
        self.work = work
        self.pool = pool
        self.redis = redis
        self.tokens = tokens
        self.server: Dutychat | Baseline | None = None
        self.balancer: BalancerProcess | None = None
        self.gc_mode: str | None = None  # "nofreeze": dutychat without its start-up gc.freeze()
        self.phase_lead = sizes.phase_lead if sizes else 0.3
        self.quiet_seconds = sizes.quiet_seconds if sizes else 0.3
        self.chat_start_lead = sizes.chat_start_lead if sizes else 0.5
        self.probe_dir = work / "probe"
        self.probe_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.balancer.url if self.balancer else self.server.url

    def staff_cookies(self, group: str, count: int) -> list[str]:
        if self.kind == "dutychat":
            assert self.tokens is not None
            return self.tokens[group][:count]
        return [f"{group}{i:02d}" for i in range(1, count + 1)]

    async def start(self, name: str, staff_group: str | None, staff_count: int) -> None:
        redis_url = self.redis.url if self.redis and self.workers > 1 else None
        if self.redis and redis_url:
            await self.redis.flush()
        env = probe_env(self.probe_dir, self.gc_mode)
        log = self.work / "logs" / f"{name}-{self.kind}-{self.workers}w.log"
        if self.kind == "dutychat":
            self.server = Dutychat(self.work / "dutychat-data", log, self.workers, redis_url, env)
        else:
            names = self.staff_cookies(staff_group, staff_count) if staff_group else []
            self.server = Baseline(log, self.workers, redis_url, names, env)
        if self.workers > 1:
            # The balancer starts beside the servers (it only needs their ports) and is ready once they are.
            self.balancer = BalancerProcess(self.server.ports, self.work / "logs" / f"{name}-balancer.log")
            await asyncio.gather(self.server.ready(), self.balancer.ready())
        else:
            await self.server.ready()

    def stop(self) -> None:
        if self.balancer:
            self.balancer.stop()
            self.balancer = None
        if self.server:
            self.server.stop()
            self.server = None

    def server_pids(self) -> list[int]:
        assert self.server is not None
        return self.server.server_pids()

    def cpu_groups(self) -> dict[str, list[int]]:
        groups = {"server": self.server_pids(), "generators": self.pool.pids}
        if len(self.server_pids()) > 1:
            for i, pid in enumerate(self.server_pids()):
                groups[f"server{i}"] = [pid]
        for i, pid in enumerate(self.pool.pids):
            groups[f"generator{i}"] = [pid]
        if self.balancer:
            groups["balancer"] = self.balancer.pids
        if self.redis and self.workers > 1:
            groups["redis"] = self.redis.pids
        return groups

    async def connect_staff(self, group: str, count: int) -> None:
        cookies = self.staff_cookies(group, count)
        parts = split(count, len(self.pool))
        args, at = [], 0
        for n in parts:
            args.append({"url": self.url, "cookies": cookies[at:at + n], "check_in": True})
            at += n
        await self.pool.call("connect_staff", args)

    async def connect_visitors(self, total: int) -> list[int]:
        parts = split(total, len(self.pool))
        await self.pool.call("connect_visitors", [{"url": self.url, "count": n} for n in parts])
        return parts

    async def start_chats(self, total: int, spread: float) -> dict[str, Any]:
        """chat:start for total visitors, spread evenly over `spread` seconds across the processes."""
        count = len(self.pool)
        start_at = time.monotonic() + self.chat_start_lead
        args = []
        for p in range(count):
            offsets = [g * spread / total for g in range(p, total, count)]
            args.append({"start_at": start_at, "offsets": offsets})
        answers = await self.pool.call("start_chats", args)
        merged: dict[str, list[Any]] = {"ack_ms": [], "late_ms": [], "states": []}
        for a in answers:
            for k in merged:
                merged[k] += a[k]
        return merged

    async def phase(self, mode: str, active: list[int], warmup: float, duration: float,
                    interval: float = 0.0) -> dict[str, Any]:
        start_at = time.monotonic() + self.phase_lead
        measure_from = start_at + warmup
        end = measure_from + duration
        meter = CpuMeter(self.cpu_groups())
        clients = RedisClients(self.redis.url) if self.redis and self.workers > 1 else None
        call = asyncio.create_task(self.pool.call("phase", [
            {"mode": mode, "start_at": start_at, "warmup": warmup, "duration": duration,
             "active": n, "interval": interval, "quiet": self.quiet_seconds} for n in active
        ]))
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        meter.start()
        publishes = None
        if clients:
            clients.start()
            publishes = await redis_command_calls(self.redis.url, "publish") if self.redis else None
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        cpu = meter.stop()
        if publishes is not None and self.redis:
            publishes = await redis_command_calls(self.redis.url, "publish") - publishes
        redis_clients = await clients.stop() if clients else None
        answers = await call
        self.last_answers = answers
        debug(f"  phase {mode} chats={sum(active)} interval={interval:.3f} took {time.monotonic() - start_at:.1f}s")
        out = summarise(answers, duration, cpu, redis_clients,
                        probe.read(self.probe_dir, self.server_pids(), measure_from, end),
                        chats=sum(active), mode=mode, interval=interval)
        if publishes is not None:
            # Redis PUBLISH commands over the window per message relayed in it (socket.io fan-out).
            delivered = out["delivered_per_s"] * duration
            out["redis_publishes_per_message"] = r(publishes / delivered, 2) if delivered else None
        return out


def summarise(answers: list[dict[str, Any]], duration: float, cpu: dict[str, float],
              redis_clients: dict[str, Any] | None, server_probe: dict[str, Any], *, chats: int, mode: str,
              interval: float) -> dict[str, Any]:
    lat_v, lat_s, lag = array("d"), array("d"), array("d")
    delta: dict[str, int] = {}
    for a in answers:
        lat_v += floats(a["latency_visitor_ms"])
        lat_s += floats(a["latency_staff_ms"])
        lag += floats(a["send_lag_ms"])
        for k, v in a["delta"].items():
            delta[k] = delta.get(k, 0) + v
    both = lat_v + lat_s
    sent = delta["sent_ok"]
    delivered = sum(a["delivered_in_window"] for a in answers)
    server_cpu_s = cpu["server"] / 100 * duration
    return {
        "mode": mode,
        "chats": chats,
        "interval_s": interval or None,
        "seconds": duration,
        # Visitor sends scheduled in the window, each calling for one staff answer.
        "offered_per_s": r(sum(a["scheduled_in_window"] for a in answers) * 2 / duration) if mode == "open" else None,
        "sent_per_s": r(sum(a["sent_in_window"] for a in answers) / duration),
        "delivered_per_s": r(delivered / duration),
        # CPU per relayed message: less sensitive than rates to other load on the machine.
        "server_cpu_us_per_message": r(server_cpu_s * 1e6 / delivered) if delivered else None,
        "latency_ms": {
            "visitor_to_staff": {"p50": r(percentile(lat_v, 50), 2), "p99": r(percentile(lat_v, 99), 2),
                                 "max": r(max(lat_v) if lat_v else None, 2), "count": len(lat_v)},
            "staff_to_visitor": {"p50": r(percentile(lat_s, 50), 2), "p99": r(percentile(lat_s, 99), 2),
                                 "max": r(max(lat_s) if lat_s else None, 2), "count": len(lat_s)},
            "both": {"p50": r(percentile(both, 50), 2), "p99": r(percentile(both, 99), 2)},
        },
        "messages": {
            "sent_ok": sent,
            "lost_to_other_side": sent - delta["received_other_side"],
            "lost_echo_to_sender": sent - delta["received_echo"],
            "duplicated": delta["duplicated"],
            "out_of_order": delta["out_of_order"],
            "seq_anomalies": delta["seq_anomalies"],
            "errors": delta["errors"],
            "unacked": delta["unacked"],
        },
        "cpu_percent": cpu,
        "server_probe": server_probe,
        "generator": {
            "loop_lag_max_ms": r(max(a["loop_lag_max_ms"] for a in answers), 1),
            "send_lag_p99_ms": r(percentile(lag, 99), 1),
        },
        "redis_clients": redis_clients,
    }


def lost(phase: dict[str, Any]) -> int:
    m = phase["messages"]
    return m["lost_to_other_side"] + m["lost_echo_to_sender"] + m["duplicated"] + m["out_of_order"] + m["unacked"]


# ------------------------------------------------------------------ scenarios


async def relay_scenario(target: Target, sizes: Sizes, latency_curve: bool) -> dict[str, Any]:
    """Saturation throughput, the knee, and latency against concurrent chats."""
    chats = sizes.relay_chats
    debug(f"relay {target.kind} {target.workers}w: starting")
    await target.start("relay", "relay", sizes.relay_staff)
    try:
        debug("  server ready")
        await target.connect_staff("relay", sizes.relay_staff)
        parts = await target.connect_visitors(chats)
        debug("  connected")
        started = await target.start_chats(chats, spread=min(2.0, chats / sizes.chat_start_rate))
        active = sum(await target.pool.call("wait_active", {"timeout": 30}))
        debug("  chats active")
        if active != chats:
            raise RuntimeError(f"{target.kind}: only {active} of {chats} chats became active ({started['states'][:5]})")
        out: dict[str, Any] = {"chats": chats, "latency_curve": []}
        if latency_curve:
            for step in sizes.concurrency_steps:
                if step > chats:
                    continue
                # Warm up for at least an interval, so answers to messages sent before the window
                # balance those that fall after it (offered against delivered).
                out["latency_curve"].append(await target.phase(
                    "open", split(step, len(parts)), max(sizes.warmup, sizes.latency_interval),
                    sizes.latency_seconds, sizes.latency_interval))
        # Saturation: all chats from the first generator process only, then from all of them.
        if sizes.generator_check and len(parts) > 1:
            one = [parts[0]] + [0] * (len(parts) - 1)
            out["saturation_one_generator"] = await target.phase("closed", one, sizes.warmup / 2,
                                                                 sizes.saturation_seconds)
        with profiled(target, sizes.warmup / 2 + target.phase_lead, sizes.saturation_seconds):
            out["saturation"] = await target.phase("closed", parts, sizes.warmup / 2, sizes.saturation_seconds)
        saturation = max(out["saturation"]["delivered_per_s"],
                         out.get("saturation_one_generator", {}).get("delivered_per_s", 0))
        # Both phases saturate the server; a burst of other load on the machine can spoil one.
        out["throughput_per_s"] = saturation
        steps, rates = await knee_search(target, parts, sizes, saturation)
        knee = rates[-1]["knee_per_s"] if rates else None
        # Every step (each try and the confirmation), flat; `knee_rates` says what each rate gave.
        out["knee_steps"] = steps
        out["knee_rates"] = rates
        out["knee_per_s"] = knee
        out["knee_zero_loss"] = all(lost(s) == 0 for s in steps if s["passed"])
        return out
    finally:
        await target.pool.call("close", {})
        target.stop()


# `--profile DIR`: a py-spy flame graph (speedscope JSON) of each server process during every
# saturation phase, kept in DIR (bench/profiles/ for make bench PROFILE=1). Off by default.
PROFILE_DIR: Path | None = None


@contextlib.contextmanager
def profiled(target: Target, delay: float, seconds: float) -> Any:
    """Record the server processes with py-spy for `seconds`, starting after `delay` (the warm-up)."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if PROFILE_DIR is None or spy is None:
        yield
        return
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    procs = []
    for n, pid in enumerate(target.server_pids()):
        out = PROFILE_DIR / f"saturation-{target.kind}-{target.workers}w-{n}-{int(time.time())}.speedscope.json"
        command = (f"sleep {delay:.2f} && exec {spy} record --pid {pid} --duration {max(1, round(seconds))} "
                   f"--rate 200 --format speedscope --output {out} --nonblocking")
        procs.append(subprocess.Popen(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def step_passed(step: dict[str, Any]) -> bool:
    """A knee step passes with p99 under KNEE_P99_MS, nothing lost and 90 % of the offered rate delivered."""
    p99 = step["latency_ms"]["both"]["p99"]
    return bool(p99 is not None and p99 < KNEE_P99_MS and lost(step) == 0
                and step["delivered_per_s"] >= 0.9 * step["offered_per_s"])


async def knee_search(target: Target, parts: list[int], sizes: Sizes,
                      saturation: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Step the offered rate up; several short steps per rate, and a confirmation of the highest that passed.

    A rate passes when most of its `knee_tries` steps pass (one spoilt by other load on the machine
    does not decide it). The highest passing rate is run once more: if that fails, the knee is the
    rate below it. Answers every step (flat) and one summary per rate, the last holding `knee_per_s`.
    """
    chats = sum(parts)
    steps: list[dict[str, Any]] = []
    rates: list[dict[str, Any]] = []

    async def one(fraction: float, role: str) -> dict[str, Any]:
        interval = 2 * chats / (fraction * saturation)
        # Warm-up of at least an interval: see the latency curve.
        step = await target.phase("open", parts, max(sizes.warmup / 2, interval), sizes.knee_seconds, interval)
        step["passed"], step["fraction"], step["role"] = step_passed(step), fraction, role
        steps.append(step)
        return step

    passing: list[dict[str, Any]] = []
    for fraction in sizes.knee_fractions:
        tries = [await one(fraction, "try") for _ in range(sizes.knee_tries)]
        offered = percentile([t["offered_per_s"] for t in tries], 50)
        p99s = [t["latency_ms"]["both"]["p99"] for t in tries if t["latency_ms"]["both"]["p99"] is not None]
        rate = {"fraction": fraction, "offered_per_s": offered, "tries": len(tries),
                "passed_tries": sum(t["passed"] for t in tries), "p99_ms_median": percentile(p99s, 50),
                "server_cpu_us_per_message": percentile(
                    [t["server_cpu_us_per_message"] for t in tries if t["server_cpu_us_per_message"]], 50)}
        rate["passed"] = rate["passed_tries"] * 2 > len(tries)
        rates.append(rate)
        if not rate["passed"]:
            break
        passing.append(rate)
    knee = None
    if passing:
        best = passing[-1]
        confirmation = await one(best["fraction"], "confirmation")
        best["confirmed"] = confirmation["passed"]
        if confirmation["passed"]:
            knee = best
        elif len(passing) > 1:
            knee = passing[-2]
    if rates:
        rates[-1]["knee_per_s"] = knee["offered_per_s"] if knee else None
        rates[-1]["knee_server_cpu_us_per_message"] = knee["server_cpu_us_per_message"] if knee else None
    return steps, rates


async def memory_scenario(target: Target, sizes: Sizes) -> dict[str, Any]:
    """Server RSS growth over idle, waiting visitors."""
    n = sizes.idle_visitors
    # A shift covers now but nobody is checked in, so dutychat queues every chat (`waiting`).
    await target.start("memory", None, 0)
    try:
        pid = target.server_pids()[0]
        warm = 20
        await target.connect_visitors(warm)
        await target.start_chats(warm, spread=0.1)
        await settle(pid, sizes.settle_window)
        before = rss_bytes(pid)
        await target.connect_visitors(n)
        started = await target.start_chats(n, spread=n / 500)
        await settle(pid, sizes.settle_window)
        after = rss_bytes(pid)
        waiting = sum(1 for s in started["states"] if s == "waiting")
        return {
            "visitors": n,
            "waiting": waiting,
            "rss_before_bytes": before,
            "rss_after_bytes": after,
            "per_connection_bytes": round((after - before) / n),
        }
    finally:
        await target.pool.call("close", {})
        target.stop()


async def cost_scenario(target: Target, sizes: Sizes) -> dict[str, Any]:
    """What each active chat and each idle connection costs as their number grows (one worker).

    For each number of active chats: server RSS before the chats and after they exchanged messages
    for cost_seconds (each side once per cost_interval), so memory per chat includes its messages;
    server CPU per relayed message; visitor-to-staff p50/p99. Then idle connections (connected, no
    chat) added up to each point of idle_steps, RSS growth per connection. A flat curve means the
    cost of one more chat does not grow with the others.
    """
    points = []
    for chats in sizes.cost_chats:
        staff = math.ceil(chats / 50)
        await target.start(f"cost{chats}", "cost", staff)
        try:
            pid = target.server_pids()[0]
            await target.connect_staff("cost", staff)
            await settle(pid, sizes.settle_window)
            before = rss_bytes(pid)
            parts = await target.connect_visitors(chats)
            await target.start_chats(chats, spread=min(5.0, chats / sizes.chat_start_rate))
            active = sum(await target.pool.call("wait_active", {"timeout": 60}))
            step = await target.phase("open", parts, max(sizes.warmup, sizes.cost_interval), sizes.cost_seconds,
                                      sizes.cost_interval)
            await settle(pid, sizes.settle_window)
            after = rss_bytes(pid)
            points.append({
                "chats": chats, "active": active, "rss_before_bytes": before, "rss_after_bytes": after,
                "memory_per_chat_bytes": round((after - before) / chats),
                "messages_sent": step["messages"]["sent_ok"], "delivered_per_s": step["delivered_per_s"],
                "server_cpu_us_per_message": step["server_cpu_us_per_message"],
                "latency_ms": step["latency_ms"]["visitor_to_staff"], "lost": lost(step),
                "gc": step["server_probe"],
            })
            debug(f"  cost curve {target.kind} {chats} chats: {points[-1]['memory_per_chat_bytes']} bytes a chat")
        finally:
            await target.pool.call("close", {})
            target.stop()
    idle = []
    await target.start("idle", None, 0)
    try:
        pid = target.server_pids()[0]
        await settle(pid, sizes.settle_window)
        base, connected = rss_bytes(pid), 0
        for total in sizes.idle_steps:
            await target.connect_visitors(total - connected)
            connected = total
            await settle(pid, sizes.settle_window)
            rss = rss_bytes(pid)
            idle.append({"connections": total, "rss_bytes": rss, "per_connection_bytes": round((rss - base) / total)})
    finally:
        await target.pool.call("close", {})
        target.stop()
    return {"active": points, "idle": idle}


async def settle(pid: int, window: float = 0.5, quiet_cpu_percent: float = 5.0, limit: float = 15.0) -> None:
    """Wait until the server is (nearly) idle: under quiet_cpu_percent over one window of `window` seconds."""
    from bench.servers import cpu_seconds

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        c0, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(window)
        if 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0) < quiet_cpu_percent:
            return


async def burst_scenario(target: Target, sizes: Sizes) -> dict[str, Any]:
    """burst_visitors chat:start within burst_seconds with burst_staff on duty."""
    n = sizes.burst_visitors
    await target.start("burst", "burst", sizes.burst_staff)
    try:
        await target.connect_staff("burst", sizes.burst_staff)
        await target.connect_visitors(n)
        meter = CpuMeter({"server": target.server_pids()})
        meter.start()
        t0 = time.monotonic()
        started = await target.start_chats(n, spread=sizes.burst_seconds)
        cpu = meter.stop()
        window = time.monotonic() - t0
        await settle(target.server_pids()[0], sizes.settle_window, limit=10)
        await asyncio.sleep(0.5)
        reports = await target.pool.call("report_assignments", {})
        assigned: dict[str, int] = {}
        for rep in reports:
            for chat_id, times in rep["assigned"].items():
                assigned[chat_id] = assigned.get(chat_id, 0) + times
        states = [s for rep in reports for s in rep["visitor_states"]]
        visitor_chats = [c for rep in reports for c in rep["visitor_chats"]]
        active = sum(1 for s in states if s == "active")
        waiting = sum(1 for s in states if s == "waiting")
        queue_lengths = [rep["queue_length"] for rep in reports if rep["queue_length"] is not None]
        ok = [s for s in started["states"] if s in ("waiting", "active")]
        ack = started["ack_ms"]
        probe_stats = probe.read(target.probe_dir, target.server_pids(), t0, t0 + window)
        return {
            "visitors": n,
            "staff": sizes.burst_staff,
            "assign_or_queue_ms": {"p50": r(percentile(ack, 50), 2), "p99": r(percentile(ack, 99), 2),
                                   "max": r(max(ack) if ack else None, 2)},
            "generator_late_p99_ms": r(percentile(started["late_ms"], 99), 2),
            "acks_ok": len(ok),
            "lost": n - len(ok),
            "double_assignments": sum(1 for t in assigned.values() if t > 1),
            "assigned_chats": len(assigned),
            "visitors_active": active,
            "visitors_waiting": waiting,
            "unique_chats": len(set(visitor_chats)),
            "queue_length_seen_by_staff": max(queue_lengths) if queue_lengths else None,
            "assigned_match_active": len(assigned) == active if target.kind == "dutychat" else None,
            "cpu_percent": cpu,
            "server_probe": probe_stats,
        }
    finally:
        await target.pool.call("close", {})
        target.stop()


async def latency_scenario(target: Target, sizes: Sizes) -> dict[str, Any]:
    """One latency phase at relay_chats concurrent chats (for the GC comparison)."""
    chats = sizes.relay_chats
    await target.start("latency", "relay", sizes.relay_staff)
    try:
        await target.connect_staff("relay", sizes.relay_staff)
        parts = await target.connect_visitors(chats)
        await target.start_chats(chats, spread=min(2.0, chats / 250))
        await target.pool.call("wait_active", {"timeout": 30})
        return await target.phase("open", parts, sizes.warmup, 2 * sizes.latency_seconds, sizes.latency_interval)
    finally:
        await target.pool.call("close", {})
        target.stop()


# Loopback addresses of the login flood: 127.1.0.1 upwards, one per attempt (the throttles are per address).
FLOOD_ADDRESS_BASE = (127 << 24) | (1 << 16) | 1


async def login_flood(url: str, until: float, concurrency: int, rate: float) -> dict[str, Any]:
    """Wrong passwords until `until`: `rate` attempts a second, at most `concurrency` in flight, for ever-new
    user names, each from another loopback address. Neither the per-name nor the per-address throttle
    engages, so every attempt reaches argon2 or finds its pool full (the worst a botnet can do). The rate
    is bounded so that the figure shows the cost of the password checks, not of an HTTP flood as such.
    Answers the count of each HTTP status and this process's own CPU."""
    from bench.servers import cpu_seconds

    statuses: dict[str, int] = {}
    counter = iter(range(10**9))
    timeout = aiohttp.ClientTimeout(total=30)
    started = time.monotonic()
    cpu_before = cpu_seconds(os.getpid())

    async def one_loop() -> None:
        while True:
            n = next(counter)
            due = started + n / rate
            if due >= until:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            address = FLOOD_ADDRESS_BASE + n % 60000
            local = f"127.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"
            try:
                # An attempt still unanswered when the flood ends is given up ("cut_at_end").
                key = await asyncio.wait_for(attempt(n, local), max(0.05, until - time.monotonic()))
            except TimeoutError:
                key = "cut_at_end"
            statuses[key] = statuses.get(key, 0) + 1

    async def attempt(n: int, local: str) -> str:
        connector = aiohttp.TCPConnector(local_addr=(local, 0), force_close=True)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http, http.post(
                f"{url}/api/auth/login", json={"username": f"flood{n}", "password": f"wrong password {n}"}
            ) as reply:
                await reply.read()
                return str(reply.status)
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    await asyncio.gather(*(one_loop() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    attempts = sum(statuses.values())
    return {"seconds": r(seconds), "attempts": attempts, "attempts_per_s": r(attempts / seconds),
            # 401: argon2 checked it; 429: the pool was full (Retry-After: 1) or a throttle engaged.
            "statuses": statuses, "concurrency": concurrency, "rate_per_s": rate,
            "flood_client_cpu_percent": r(100 * (cpu_seconds(os.getpid()) - cpu_before) / seconds)}


async def login_flood_scenario(target: Target, sizes: Sizes) -> dict[str, Any]:
    """Visitor-to-staff latency of active chats, without and then during a login flood, same server."""
    chats = sizes.login_flood_chats
    await target.start("loginflood", "relay", sizes.relay_staff)
    try:
        await target.connect_staff("relay", sizes.relay_staff)
        parts = await target.connect_visitors(chats)
        await target.start_chats(chats, spread=min(2.0, chats / 250))
        active = sum(await target.pool.call("wait_active", {"timeout": 30}))
        if active != chats:
            raise RuntimeError(f"login flood: only {active} of {chats} chats became active")
        warmup = max(sizes.warmup, sizes.latency_interval)
        quiet = await target.phase("open", parts, warmup, sizes.latency_seconds, sizes.latency_interval)
        # The flood starts before the phase's warm-up and outlasts its window.
        until = time.monotonic() + target.phase_lead + warmup + sizes.latency_seconds + 1.0
        flood = asyncio.create_task(login_flood(target.url, until, sizes.login_flood_concurrency,
                                                sizes.login_flood_rate))
        flooded = await target.phase("open", parts, warmup, sizes.latency_seconds, sizes.latency_interval)
        return {"chats": chats, "without_flood": quiet, "with_flood": flooded, "flood": await flood}
    finally:
        await target.pool.call("close", {})
        target.stop()


async def gc_experiment(pool: GeneratorPool, work: Path, tokens: dict[str, list[str]], sizes: Sizes) -> dict[str, Any]:
    """dutychat with and without gc.freeze() after start-up: burst and latency, GC pauses."""
    out: dict[str, Any] = {}
    for mode in ("nofreeze", "freeze"):
        target = Target("dutychat", 1, work, pool, None, tokens, sizes)
        target.gc_mode = "nofreeze" if mode == "nofreeze" else None
        burst = await burst_scenario(target, sizes)
        latency = await latency_scenario(target, sizes)
        out["without_freeze" if mode == "nofreeze" else "with_freeze"] = {
            "burst_p99_ms": burst["assign_or_queue_ms"]["p99"],
            "burst_gc_gen2_max_ms": burst["server_probe"]["gc"]["gen2"]["max_ms"],
            "burst_gc_gen2_max_cpu_ms": burst["server_probe"]["gc"]["gen2"]["max_cpu_ms"],
            "burst_loop_lag_max_ms": burst["server_probe"]["loop_lag_max_ms"],
            "latency_chats": latency["chats"],
            "latency_p99_ms": latency["latency_ms"]["visitor_to_staff"]["p99"],
            "latency_max_ms": latency["latency_ms"]["visitor_to_staff"]["max"],
            "latency_gc": latency["server_probe"]["gc"],
            "latency_loop_lag_max_ms": latency["server_probe"]["loop_lag_max_ms"],
        }
    return out


async def client_comparison(work: Path, sizes: Sizes, redis: RedisServer | None) -> dict[str, Any]:
    """Generator CPU per message: python-socketio's AsyncClient against the raw client, same load."""
    out: dict[str, Any] = {}
    chats, interval, seconds = 200, 0.4, 5.0
    for kind in ("raw", "sio"):
        pool = GeneratorPool(1, kind)
        try:
            await pool.call("ping", {})
            target = Target("baseline", 1, work / f"compare-{kind}", pool, None, None)
            await target.start("compare", "relay", 4)
            try:
                await target.connect_staff("relay", 4)
                await target.connect_visitors(chats)
                await target.start_chats(chats, spread=0.5)
                await pool.call("wait_active", {"timeout": 20})
                phase = await target.phase("open", [chats], 1.0, seconds, interval)
            finally:
                await pool.call("close", {})
                target.stop()
        finally:
            await pool.close()
        handled = phase["messages"]["sent_ok"] * 3  # each message: an ack and two deliveries
        out[kind] = {
            "offered_per_s": phase["offered_per_s"],
            "generator_cpu_percent": phase["cpu_percent"]["generators"],
            "server_cpu_percent": phase["cpu_percent"]["server"],
            "generator_cpu_ms_per_1000_packets": r(
                phase["cpu_percent"]["generators"] / 100 * seconds * 1000 / max(1, handled) * 1000, 2),
            "latency_p99_ms": phase["latency_ms"]["both"]["p99"],
        }
    return out


# ------------------------------------------------------------------ report figures


async def report_figures(sessions: list[int]) -> dict[str, Any]:
    try:
        module = importlib.import_module("bench.report_bench")
    except ModuleNotFoundError as exc:
        if exc.name in ("bench.report_bench",):
            return {"status": "not run: module absent"}
        raise
    try:
        return {"status": "ok", **(await module.run(sessions))}
    except Exception as exc:  # the report benchmark is another harness's; record, do not crash
        return {"status": f"failed: {type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------ figures and targets


def figure(unit: str, dutychat: float | None, baseline: float | None, target: str | None, met: bool | None,
           better: str, **extra: Any) -> dict[str, Any]:
    return {"unit": unit, "dutychat": dutychat, "baseline": baseline, "ratio": ratio(dutychat, baseline),
            "target": target, "met": met, "better": better, **extra}


def _knee_cpu(d: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    """Server CPU per message at each side's knee (the median of that rate's steps)."""
    def cpu(run: dict[str, Any]) -> float | None:
        rates = run.get("knee_rates") or [{}]
        return rates[-1].get("knee_server_cpu_us_per_message")
    return {"dutychat": cpu(d), "baseline": cpu(b)}


# Targets judged on the medians over rounds (issue #18's table): name -> test of the combined figure.
MEDIAN_TARGETS: dict[str, Any] = {
    "relay_throughput_1w": lambda f: f["ratio"] is not None and f["ratio"] >= 0.9,
    "knee_1w": lambda f: f["ratio"] is not None and f["ratio"] >= 0.8,
    "latency_p99_ms": lambda f: f["ratio"] is not None and f["ratio"] <= 1.5,
    "relay_throughput_2w_redis": lambda f: f["ratio"] is not None and f["ratio"] >= 1.2,
    "knee_2w_redis": lambda f: f["ratio"] is not None and f["ratio"] >= 2 and f.get("zero_loss") is True,
    "latency_p99_2w_redis_ms": lambda f: (f["dutychat"] is not None and f.get("one_worker_p99_ms") is not None
                                          and f["dutychat"] <= 3 * f["one_worker_p99_ms"]),
    "memory_per_idle_connection_kib": lambda f: f["ratio"] is not None and f["ratio"] <= 1.25,
    "burst_assign_p99_ms": lambda f: (f["dutychat"] is not None and f["dutychat"] < 100
                                      and f.get("double_assignments") == 0 and f.get("lost") == 0),
}


def _median_round(rounds: dict[int, dict[str, Any]]) -> int:
    def throughput(n: int) -> float:
        return float((rounds[n].get("relay_dutychat_1w") or {}).get("throughput_per_s") or 0)
    ordered = sorted(rounds, key=throughput)
    return ordered[(len(ordered) - 1) // 2]


def _median(values: list[Any]) -> Any:
    found = sorted(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))
    if not found:
        return None
    mid = len(found) // 2
    return found[mid] if len(found) % 2 else (found[mid - 1] + found[mid]) / 2


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per name over the rounds: medians, the min-max spread, and met from the median.

    dutychat, baseline and ratio are each the median of the rounds' values (the ratio of each round
    first, so a round's ratio is of figures measured side by side); counts of problems (lost,
    double assignments) are summed; a target is met when the median meets it.
    """
    names = list(dict.fromkeys(name for r in rounds for name in r))
    out: dict[str, Any] = {}
    for name in names:
        figs = [r[name] for r in rounds if name in r]
        f = dict(figs[-1])
        spread: dict[str, Any] = {}
        for key in ("dutychat", "baseline", "ratio", "one_worker_p99_ms"):
            values = [g.get(key) for g in figs if g.get(key) is not None]
            if key in f:
                f[key] = _median(values) if values else None
                if key != "one_worker_p99_ms" and values:
                    spread[key] = [min(values), max(values)]
        if name == "lost_duplicated_out_of_order":
            f["dutychat"] = sum(g["dutychat"] or 0 for g in figs)
            f["baseline"] = sum(g["baseline"] or 0 for g in figs)
        for key in ("double_assignments", "lost"):
            if key in f:
                f[key] = sum(g.get(key) or 0 for g in figs)
        if "zero_loss" in f:
            f["zero_loss"] = all(g.get("zero_loss") for g in figs)
        if "server_cpu_us_per_message" in f:
            f["server_cpu_us_per_message"] = {
                side: _median([g["server_cpu_us_per_message"][side] for g in figs]) for side in ("dutychat", "baseline")
            }
        if f["target"] is not None:
            rule = MEDIAN_TARGETS.get(name)
            if rule is not None:
                f["met"] = bool(rule(f))
            elif name == "lost_duplicated_out_of_order":
                f["met"] = f["dutychat"] == 0
            else:
                mets = [g["met"] for g in figs]
                f["met"] = None if any(m is None for m in mets) else all(mets)
        f["rounds"] = len(figs)
        f["spread"] = spread
        out[name] = f
    return out


def _size_label(n: int) -> str:
    """1000000 -> 1m, 20000 -> 20k (figure names)."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def build_figures(runs: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    f: dict[str, Any] = {}
    d1, b1 = runs.get("relay_dutychat_1w"), runs.get("relay_baseline_1w")
    if d1 and b1:
        t_d, t_b = d1["throughput_per_s"], b1["throughput_per_s"]
        cpu_d, cpu_b = (run["saturation"]["server_cpu_us_per_message"] for run in (d1, b1))
        f["relay_throughput_1w"] = figure("messages/s", t_d, t_b, ">= 0.9 x baseline",
                                          t_b > 0 and t_d >= 0.9 * t_b, "higher",
                                          server_cpu_us_per_message={"dutychat": cpu_d, "baseline": cpu_b})
        f["server_cpu_per_message_1w_us"] = figure(
            "µs CPU", cpu_d, cpu_b, None, None, "lower", note="server CPU time per relayed message at saturation")
        kd, kb = d1["knee_per_s"], b1["knee_per_s"]
        f["knee_1w"] = figure("messages/s offered", kd, kb, ">= 0.8 x baseline",
                              kd is not None and kb is not None and kd >= 0.8 * kb, "higher",
                              server_cpu_us_per_message=_knee_cpu(d1, b1))
        most_chats = max(c["chats"] for c in d1["latency_curve"])
        step_d = next((s for s in d1["latency_curve"] if s["chats"] == most_chats), None)
        step_b = next((s for s in b1["latency_curve"] if s["chats"] == (step_d or {}).get("chats")), None)
        if step_d and step_b:
            chats = step_d["chats"]
            ld, lb = step_d["latency_ms"]["visitor_to_staff"], step_b["latency_ms"]["visitor_to_staff"]
            f["latency_p50_ms"] = figure("ms", ld["p50"], lb["p50"], None, None, "lower", chats=chats)
            met = None if ld["p99"] is None or lb["p99"] is None else ld["p99"] <= 1.5 * lb["p99"]
            f["latency_p99_ms"] = figure("ms", ld["p99"], lb["p99"], "<= 1.5 x baseline at the same load", met,
                                         "lower", chats=chats)
    group = runs.get("group_dutychat")
    if group:
        # Set beside dutychat's own one-to-one relay of the same run (no bare-relay group exists to compare with).
        relay_p99 = (f.get("latency_p99_ms") or {}).get("dutychat")
        relay_cpu = d1["saturation"]["server_cpu_us_per_message"] if d1 else None
        facts = {"participants": group["participants"], "rate_per_s": group["rate_per_s"],
                 "deliveries_lost": group["lost"], "deliveries_duplicated": group["duplicated"]}
        f["group_delivery_p99_ms"] = figure(
            "ms", group["latency_ms"]["p99"], relay_p99, None, None, "lower", **facts,
            note="every delivery of a group session; baseline: dutychat's one-to-one visitor-to-staff p99, same run")
        f["group_server_cpu_per_delivery_us"] = figure(
            "µs CPU", group["server_cpu_us_per_delivery"], relay_cpu, None, None, "lower", **facts,
            note="server CPU per delivered group message; baseline: per relayed one-to-one message at saturation")
    d2, b2 = runs.get("relay_dutychat_2w"), runs.get("relay_baseline_2w")
    if d2 and b2:
        t_d, t_b = d2["throughput_per_s"], b2["throughput_per_s"]
        cpu_d, cpu_b = (run["saturation"]["server_cpu_us_per_message"] for run in (d2, b2))
        f["relay_throughput_2w_redis"] = figure("messages/s", t_d, t_b, ">= 1.2 x stock AsyncRedisManager baseline",
                                                t_b > 0 and t_d >= 1.2 * t_b, "higher",
                                                server_cpu_us_per_message={"dutychat": cpu_d, "baseline": cpu_b})
        f["server_cpu_per_message_2w_us"] = figure(
            "µs CPU", cpu_d, cpu_b, None, None, "lower",
            note="CPU time of both server processes per relayed message at saturation")
        pub_d, pub_b = (run["saturation"].get("redis_publishes_per_message") for run in (d2, b2))
        f["redis_publishes_per_message_2w"] = figure(
            "publishes", pub_d, pub_b, None, None, "lower",
            note="Redis PUBLISH commands per relayed message at saturation (INFO commandstats)")
        kd, kb = d2["knee_per_s"], b2["knee_per_s"]
        met = kd is not None and kb is not None and kd >= 2 * kb and d2["knee_zero_loss"]
        f["knee_2w_redis"] = figure("messages/s offered", kd, kb, ">= 2 x stock AsyncRedisManager baseline, zero loss",
                                    met, "higher", zero_loss=d2["knee_zero_loss"],
                                    server_cpu_us_per_message=_knee_cpu(d2, b2))
        if d2["latency_curve"] and b2["latency_curve"]:
            ld = d2["latency_curve"][-1]["latency_ms"]["visitor_to_staff"]
            lb = b2["latency_curve"][-1]["latency_ms"]["visitor_to_staff"]
            chats = d2["latency_curve"][-1]["chats"]
            # Against dutychat's own one-worker p99 at the same number of chats, same run.
            own = next((s["latency_ms"]["visitor_to_staff"]["p99"] for s in (d1 or {}).get("latency_curve", [])
                        if s["chats"] == chats), None)
            met = None if ld["p99"] is None or own is None else ld["p99"] <= 3 * own
            f["latency_p99_2w_redis_ms"] = figure("ms", ld["p99"], lb["p99"],
                                                  "<= 3 x dutychat's one-worker p99 at the same load", met, "lower",
                                                  chats=chats, one_worker_p99_ms=own)
    dr = runs.get("relay_dutychat_2w_replica")
    if d2 and dr and "throughput_per_s" in dr:
        # What "acknowledged means replicated" costs: dutychat against itself without a replica, same run.
        f["replica_wait_throughput_2w"] = figure(
            "messages/s", dr["throughput_per_s"], d2["throughput_per_s"], None, None, "higher",
            note="two workers with one Redis replica (every acknowledgement waits for it) against no replica")
        curve_r, curve_d = dr["latency_curve"], d2["latency_curve"]
        if curve_r and curve_d:
            step_r = curve_r[-1]
            step_d = next((s for s in curve_d if s["chats"] == step_r["chats"]), None)
            if step_d:
                lr, ld = step_r["latency_ms"]["visitor_to_staff"], step_d["latency_ms"]["visitor_to_staff"]
                f["replica_wait_latency_p50_2w_ms"] = figure("ms", lr["p50"], ld["p50"], None, None, "lower",
                                                             chats=step_r["chats"])
                f["replica_wait_latency_p99_2w_ms"] = figure("ms", lr["p99"], ld["p99"], None, None, "lower",
                                                             chats=step_r["chats"])
    elif dr:
        f["replica_wait_throughput_2w"] = figure("messages/s", None, None, None, None, "higher",
                                                 status=dr.get("status"))
    if "relay2_skipped" in runs:
        status = runs["relay2_skipped"]["status"]
        f["knee_2w_redis"] = figure("messages/s offered", None, None,
                                    ">= 2 x stock AsyncRedisManager baseline, zero loss", None, "higher", status=status)
    md, mb = runs.get("memory_dutychat"), runs.get("memory_baseline")
    if md and mb:
        per_d, per_b = md["per_connection_bytes"] / 1024, mb["per_connection_bytes"] / 1024
        f["memory_per_idle_connection_kib"] = figure("KiB", round(per_d, 2), round(per_b, 2), "<= 1.25 x baseline",
                                                     per_b > 0 and per_d <= 1.25 * per_b, "lower",
                                                     visitors=md["visitors"])
    bd, bb = runs.get("burst_dutychat"), runs.get("burst_baseline")
    if bd and bb:
        f["burst_assign_p50_ms"] = figure("ms", bd["assign_or_queue_ms"]["p50"], bb["assign_or_queue_ms"]["p50"],
                                          None, None, "lower")
        p99 = bd["assign_or_queue_ms"]["p99"]
        ok = p99 is not None and p99 < 100 and bd["double_assignments"] == 0 and bd["lost"] == 0
        f["burst_assign_p99_ms"] = figure("ms", p99, bb["assign_or_queue_ms"]["p99"],
                                          "< 100 ms, zero double assignments, none lost", ok, "lower",
                                          double_assignments=bd["double_assignments"], lost=bd["lost"])
    lf = runs.get("login_flood_dutychat")
    if lf:
        quiet, flooded = (lf[k]["latency_ms"]["visitor_to_staff"] for k in ("without_flood", "with_flood"))
        extra = {"chats": lf["chats"], "login_attempts_per_s": lf["flood"]["attempts_per_s"],
                 "login_statuses": lf["flood"]["statuses"],
                 "note": "dutychat during a login flood; 'baseline' is the same run without the flood"}
        f["login_flood_latency_p50_ms"] = figure("ms", flooded["p50"], quiet["p50"], None, None, "lower", **extra)
        p99_met = None if flooded["p99"] is None or quiet["p99"] is None else flooded["p99"] <= 2 * quiet["p99"]
        f["login_flood_latency_p99_ms"] = figure("ms", flooded["p99"], quiet["p99"], "<= 2 x without the flood",
                                                 p99_met, "lower", **extra)
    cd, cb = runs.get("cost_dutychat"), runs.get("cost_baseline")
    if cd and cb:
        note = "cost curve, one worker: each point beside the bare relay's at the same number of chats"
        for pd, pb in zip(cd["active"], cb["active"], strict=True):
            n = pd["chats"]
            f[f"cost_memory_per_active_chat_kib_{n}"] = figure(
                "KiB", r(pd["memory_per_chat_bytes"] / 1024, 2), r(pb["memory_per_chat_bytes"] / 1024, 2), None,
                None, "lower", chats=n, note=note + " (its messages included)")
            f[f"cost_server_cpu_per_message_us_{n}"] = figure(
                "µs CPU", pd["server_cpu_us_per_message"], pb["server_cpu_us_per_message"], None, None, "lower",
                chats=n, note=note)
            f[f"cost_latency_p99_ms_{n}"] = figure(
                "ms", pd["latency_ms"]["p99"], pb["latency_ms"]["p99"], None, None, "lower", chats=n, note=note)
        for pd, pb in zip(cd["idle"], cb["idle"], strict=True):
            n = pd["connections"]
            f[f"cost_idle_connection_kib_{n}"] = figure(
                "KiB", r(pd["per_connection_bytes"] / 1024, 2), r(pb["per_connection_bytes"] / 1024, 2), None, None,
                "lower", connections=n, note="RSS growth per idle connection (no chat), one worker")
    rep = runs.get("report")
    if rep is not None:
        if rep.get("status") == "ok":
            target = rep.get("target_ms", 250)
            for engine in ("sqlite", "postgresql"):
                value = rep.get(f"{engine}_ms")
                f[f"report_{engine}_ms"] = figure("ms", value, None, f"< {target} ms",
                                                  value is not None and value < target, "lower",
                                                  sessions=rep.get("sessions"))
            # Every size (1M and 10M in the full run): the page and its CSV export on both engines.
            for point in rep.get("points", []):
                n = point["sessions"]
                for engine in ("sqlite", "postgresql"):
                    for kind, key in (("page", f"{engine}_ms"), ("csv", f"{engine}_csv_ms")):
                        value = point.get(key)
                        f[f"report_{kind}_{engine}_ms_{_size_label(n)}"] = figure(
                            "ms", value, None, f"< {target} ms", value is not None and value < target, "lower",
                            sessions=n, load_s=point.get("load"),
                            note="whole span (3 years) and the span before it, through ReportRepository")
        else:
            for engine in ("sqlite", "postgresql"):
                f[f"report_{engine}_ms"] = figure("ms", None, None, "< 250 ms", None, "lower", status=rep["status"])
    # Every relay phase must be free of loss, duplicates and reordering.
    problems = {}
    for name, run in runs.items():
        if not name.startswith("relay_") or "saturation" not in run:
            continue
        phases = run["latency_curve"] + [run["saturation"]] + \
            ([run["saturation_one_generator"]] if "saturation_one_generator" in run else []) + \
            [s for s in run["knee_steps"] if s["passed"]]
        problems[name] = sum(lost(p) for p in phases)
    if not problems:
        return f
    f["lost_duplicated_out_of_order"] = figure(
        "messages", problems.get("relay_dutychat_1w", 0) + problems.get("relay_dutychat_2w", 0),
        problems.get("relay_baseline_1w", 0) + problems.get("relay_baseline_2w", 0), "0 for dutychat",
        problems.get("relay_dutychat_1w", 0) + problems.get("relay_dutychat_2w", 0) == 0, "lower",
        note="summed over every relay phase below the knee; see runs.* for each phase",
    )
    return f


def machine_info() -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    redis_server = None
    if shutil.which("redis-server"):
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
        redis_server = next((p.split("=")[1] for p in out.split() if p.startswith("v=")), None)
    return {
        "cpu_count": os.cpu_count(),
        # Soft RLIMIT_NOFILE of the harness (raised to the hard limit; the generators, the bare relay
        # and dutychat raise theirs the same way).
        "open_files_limit": raise_open_files(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            "python": platform.python_version(),
            "dutychat": version("dutychat"),
            "aiohttp": version("aiohttp"),
            "python-socketio": version("python-socketio"),
            "python-engineio": version("python-engineio"),
            "redis-py": version("redis"),
            "redis-server": redis_server,
            "matplotlib": version("matplotlib"),
        },
    }


# ------------------------------------------------------------------ output


def table(results: dict[str, Any]) -> str:
    rows = [("figure", "dutychat", "baseline", "ratio", "target", "met")]
    for name, f in results["figures"].items():
        met = {True: "yes", False: "NO", None: "-"}[f["met"]]
        extra = f" ({f['status']})" if "status" in f else ""
        rows.append((f"{name} [{f['unit']}]", _fmt(f["dutychat"]) + _spread(f, "dutychat") + extra,
                     _fmt(f["baseline"]) + _spread(f, "baseline"), _fmt(f["ratio"]) + _spread(f, "ratio"),
                     f["target"] or "-", met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        "Medians over the rounds, (min–max) where there were several.",
        "",
        "| figure | unit | dutychat | baseline | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, f in results["figures"].items():
        met = {True: "yes", False: "**no**", None: "–"}[f["met"]]
        value = _fmt(f["dutychat"]) + (f" ({f['status']})" if "status" in f else "")
        value += _spread(f, "dutychat")
        lines.append(f"| {name} | {f['unit']} | {value} | {_fmt(f['baseline'])}{_spread(f, 'baseline')} | "
                     f"{_fmt(f['ratio'])}{_spread(f, 'ratio')} | {f['target'] or '–'} | {met} |")
    return "\n".join(lines)


def _spread(f: dict[str, Any], key: str) -> str:
    lo_hi = f.get("spread", {}).get(key)
    if not lo_hi or f.get("rounds", 1) < 2:
        return ""
    return f" ({_fmt(lo_hi[0])}–{_fmt(lo_hi[1])})"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


# ------------------------------------------------------------------ main


@contextlib.asynccontextmanager
async def generators(count_or_pool: int | GeneratorPool) -> AsyncIterator[GeneratorPool]:
    """A pool of generator processes (or one already spawned), answering, closed at the end."""
    pool = count_or_pool if isinstance(count_or_pool, GeneratorPool) else GeneratorPool(count_or_pool)
    try:
        await pool.call("ping", {})
        yield pool
    finally:
        await pool.close()


SCENARIOS = (
    "relay1", "relay2", "replica", "memory", "burst", "cost", "loginflood", "report", "clients", "gc", "group",
)
# Left out of `--quick` unless named with --only: dutychat against itself (a replica, a login flood,
# a peer group: no bare-relay baseline to set beside them).
QUICK_LEAVES_OUT = ("replica", "loginflood", "group")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = Sizes.for_run(args.quick, args.smoke)
    if args.generators:
        sizes.generators = args.generators
    # The quick run leaves out the scenarios that only compare dutychat with itself (run them with --only).
    default = [s for s in SCENARIOS if not (sizes.quick and not args.smoke and s in QUICK_LEAVES_OUT)]
    only = set(args.only or default)
    started = time.monotonic()
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": sizes.quick,
        "smoke": args.smoke,
        "machine": machine_info(),
        "sizes": asdict(sizes),
        "settings": {
            "note": "dutychat runs with its defaults except: limits.events_per_second and limits.event_burst "
                    "raised to 1000000 (the per-socket rate limit would refuse benchmark traffic), the per-address "
                    "flood limits and the queue cap raised to 1000000 (every visitor comes from one machine), "
                    "logging.level WARNING and no access log. SQLite database; memory store for one worker, "
                    "Redis store and socket.io Redis manager for two (dutychat run --workers 2) behind the "
                    "loopback balancer (tests/support/balancer.py, its own process).",
            "baseline": "bench/baseline_relay.py: bare python-socketio AsyncServer on aiohttp; two workers use "
                        "the stock socketio.AsyncRedisManager with default settings behind the same balancer.",
            "generator": f"{sizes.generators} processes, raw socket.io client over aiohttp websockets "
                         "(bench/sioclient.py)",
        },
        "runs": {},
    }
    # Scenarios with a baseline run once per round (rounds[n]); the others once (single).
    rounds: dict[int, dict[str, Any]] = {}
    single: dict[str, Any] = {}
    runs = single
    with tempfile.TemporaryDirectory(prefix="dutychat-bench-") as tmp:
        work = Path(tmp)
        redis = None
        if "relay2" in only or "replica" in only:
            try:
                redis = RedisServer(work / "redis")
            except RuntimeError as exc:
                only.discard("relay2")
                runs["relay2_skipped"] = {"status": f"not run: {exc}"}
                progress("two-worker runs skipped", started, exc)
        try:
            if redis:
                await redis.ready()
            debug("preparing")
            # The generator processes start (spawn, imports) while the accounts are written.
            spawned = GeneratorPool(sizes.generators)
            try:
                tokens = await prepare_dutychat(work / "dutychat-data", {
                    "relay": (max(sizes.relay_staff, 4), 50),
                    "burst": (sizes.burst_staff, 3),
                    "cost": (math.ceil(max(sizes.cost_chats) / 50), 50),
                })
            except BaseException:
                await spawned.close()
                raise
            async with generators(spawned) as pool:
                debug("generators up")
                # Rounds interleave each set-up with its baseline: baseline, dutychat, baseline, ...
                for round_no in range(sizes.repeats):
                    runs = rounds[round_no] = {}
                    for kind in ("baseline", "dutychat"):
                        t = Target(kind, 1, work, pool, redis, tokens, sizes)
                        if "relay1" in only:
                            runs[f"relay_{kind}_1w"] = await relay_scenario(t, sizes, latency_curve=True)
                            progress(f"round {round_no + 1} relay 1 worker {kind}", started,
                                     runs[f"relay_{kind}_1w"]["throughput_per_s"])
                        if "relay2" in only:
                            t2 = Target(kind, 2, work, pool, redis, tokens, sizes)
                            # With the replica run to compare against, dutychat's own latency curve too.
                            curve = sizes.latency_curve_2w or ("replica" in only and kind == "dutychat")
                            runs[f"relay_{kind}_2w"] = await relay_scenario(t2, sizes, latency_curve=curve)
                            progress(f"round {round_no + 1} relay 2 workers {kind}", started,
                                     runs[f"relay_{kind}_2w"]["throughput_per_s"])
                        if "replica" in only and redis and kind == "dutychat" and round_no == 0:
                            # The same two-worker run with one replica: acknowledgements wait for it (Redis WAIT).
                            try:
                                await redis.start_replica(work / "redis-replica")
                            except RuntimeError as exc:
                                runs["relay_dutychat_2w_replica"] = {"status": f"not run: {exc}"}
                            else:
                                try:
                                    t3 = Target(kind, 2, work, pool, redis, tokens, sizes)
                                    runs["relay_dutychat_2w_replica"] = await relay_scenario(
                                        t3, sizes, latency_curve=True)
                                finally:
                                    redis.stop_replica()
                                progress("relay 2 workers dutychat, one replica", started,
                                         runs["relay_dutychat_2w_replica"]["throughput_per_s"])
                        once = round_no > 0 and not sizes.repeat_all
                        if "memory" in only and not once:
                            runs[f"memory_{kind}"] = await memory_scenario(t, sizes)
                            progress(f"memory {kind}", started, runs[f"memory_{kind}"]["per_connection_bytes"])
                        if "burst" in only and not once:
                            runs[f"burst_{kind}"] = await burst_scenario(t, sizes)
                            progress(f"burst {kind}", started, runs[f"burst_{kind}"]["assign_or_queue_ms"])
                runs = single
                if "cost" in only:
                    # Once, both set-ups: the curves are read for their shape, each point beside the bare relay's.
                    for kind in ("baseline", "dutychat"):
                        t = Target(kind, 1, work, pool, redis, tokens, sizes)
                        runs[f"cost_{kind}"] = await cost_scenario(t, sizes)
                        progress(f"cost curves {kind}", started, [p["memory_per_chat_bytes"]
                                                                  for p in runs[f"cost_{kind}"]["active"]])
                if "loginflood" in only:
                    t = Target("dutychat", 1, work, pool, redis, tokens, sizes)
                    runs["login_flood_dutychat"] = await login_flood_scenario(t, sizes)
                    progress("login flood", started, runs["login_flood_dutychat"]["flood"])
                if "group" in only:
                    runs["group_dutychat"] = await group_scenario(work, pool, tokens, sizes)
                    progress("peer group session", started, runs["group_dutychat"]["latency_ms"])
                if "gc" in only and sizes.gc_experiment:
                    results["gc_experiment"] = await gc_experiment(pool, work, tokens, sizes)
                    progress("gc experiment", started, results["gc_experiment"])
            if "clients" in only and sizes.client_comparison:
                results["generator_client_comparison"] = await client_comparison(work, sizes, redis)
                progress("client comparison", started, results["generator_client_comparison"])
            if "report" in only:
                runs["report"] = await report_figures(sizes.report_sessions)
                progress("report", started, runs["report"].get("status"))
        finally:
            if redis:
                redis.stop()
    per_round = [build_figures({**single, **rounds[n]}, sizes) for n in sorted(rounds)]
    per_round = per_round or [build_figures(single, sizes)]
    results["figures"] = combine(per_round)
    results["rounds"] = [rounds[n] for n in sorted(rounds)]
    # `runs`: the round whose one-worker dutychat throughput is the median (for the plot and the tables).
    results["runs"] = {**single, **(rounds[_median_round(rounds)] if rounds else {})}
    results["targets_met"] = {name: f["met"] for name, f in results["figures"].items() if f["target"]}
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    return results


async def group_scenario(work: Path, pool: GeneratorPool, tokens: dict[str, list[str]],
                         sizes: Sizes) -> dict[str, Any]:
    """One peer group session on one dutychat worker (bench/group_bench.py)."""
    room = await plan_session(work / "dutychat-data", sizes.group_participants)
    t = Target("dutychat", 1, work, pool, None, tokens, sizes)
    await t.start("group", None, 0)
    try:
        return await run_group(t.url, room, t.server_pids(), sizes.group_participants, sizes.group_rate,
                               sizes.group_seconds, sizes.warmup)
    finally:
        t.stop()


def debug(what: str) -> None:
    if os.environ.get("DUTYCHAT_BENCH_DEBUG"):
        print(f"[{time.monotonic():.1f}] {what}", file=sys.stderr, flush=True)


def progress(what: str, started: float, value: Any) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {what}: {value}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="dutychat benchmarks against a bare python-socketio relay")
    parser.add_argument("--quick", action="store_true", help="a smaller run (under two minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--generators", type=int, help="load generator processes (default 2)")
    parser.add_argument("--publish", action="store_true", help="also update docs/performance.md and its plot")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=Path, help="py-spy flame graphs of every saturation phase into this folder")
    args = parser.parse_args(argv)
    raise_open_files()
    global PROFILE_DIR
    PROFILE_DIR = args.profile
    results = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    plot_path = args.out.with_name(args.out.stem + "-latency.png")
    try:
        from bench.plot import plot, plot_costs

        plot(results, plot_path)
        cost_path = args.out.with_name(args.out.stem + "-cost.png")
        if plot_costs(results, cost_path):
            print(f"cost curves: {cost_path}")
    except ModuleNotFoundError as exc:
        print(f"no plot: {exc} (make bench installs matplotlib)", file=sys.stderr)
        plot_path = None
    print(table(results))
    print(f"\nresults: {args.out}" + (f"\nplot: {plot_path}" if plot_path else ""))
    if args.publish:
        from bench.publish import publish

        publish(results, plot_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
