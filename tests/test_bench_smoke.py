"""The benchmark harness starts and writes a complete results file (no figure is judged here).

`make bench` runs the real benchmarks; this runs the same harness with a
handful of chats so a change that breaks it is noticed by `make test`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FIGURE_KEYS = {"unit", "dutychat", "baseline", "ratio", "target", "met"}
TARGETED = {
    "relay_throughput_1w", "knee_2w_redis", "latency_p99_ms", "memory_per_idle_connection_kib",
    "burst_assign_p99_ms", "report_sqlite_ms", "report_postgresql_ms", "lost_duplicated_out_of_order",
    "login_flood_latency_p99_ms",
}


def test_harness_writes_every_figure(tmp_path: Path) -> None:
    if not Path("/usr/bin/redis-server").exists() and not os.environ.get("DUTYCHAT_BENCH_REDIS_URL"):
        pytest.fail("the benchmark's two-worker runs need redis-server (or DUTYCHAT_BENCH_REDIS_URL)")
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYCHAT_") or k == "DUTYCHAT_BENCH_REDIS_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())

    assert results["machine"]["cpu_count"] == os.cpu_count()
    versions = results["machine"]["versions"]
    for name in ("python", "aiohttp", "python-socketio", "python-engineio", "redis-py"):
        assert versions[name], name

    figures = results["figures"]
    assert TARGETED <= set(figures), sorted(TARGETED - set(figures))
    for name, figure in figures.items():
        assert FIGURE_KEYS <= set(figure), name
        if figure["target"] and name not in ("report_sqlite_ms", "report_postgresql_ms"):
            assert isinstance(figure["met"], bool), name
    # Measured on both sides, so every relay ratio exists.
    for name in ("relay_throughput_1w", "latency_p99_ms", "memory_per_idle_connection_kib", "burst_assign_p99_ms",
                 "replica_wait_throughput_2w", "replica_wait_latency_p50_2w_ms"):
        assert figures[name]["dutychat"] is not None and figures[name]["baseline"] is not None, name
        assert figures[name]["ratio"] is not None, name

    runs = results["runs"]
    # Even a handful of chats must arrive complete, in order, once, on both set-ups.
    for name in ("relay_dutychat_1w", "relay_baseline_1w", "relay_dutychat_2w", "relay_baseline_2w",
                 "relay_dutychat_2w_replica"):
        messages = runs[name]["saturation"]["messages"]
        assert messages["sent_ok"] > 0, name
        assert messages["lost_to_other_side"] == 0 and messages["duplicated"] == 0, (name, messages)
        assert messages["out_of_order"] == 0 and messages["seq_anomalies"] == 0, (name, messages)
        assert runs[name]["saturation"]["cpu_percent"]["server"] >= 0
    assert runs["relay_dutychat_2w"]["saturation"]["redis_clients"]["max"] > 0
    burst = runs["burst_dutychat"]
    assert burst["lost"] == 0 and burst["double_assignments"] == 0
    assert burst["assigned_match_active"] is True
    assert burst["visitors_active"] + burst["visitors_waiting"] == burst["visitors"]
    assert runs["memory_dutychat"]["waiting"] == runs["memory_dutychat"]["visitors"]
    assert runs["report"]["status"]


def test_the_peer_group_scenario_runs_on_its_own(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYCHAT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--only", "group", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    group = results["runs"]["group_dutychat"]
    # Every message reached every participant (its sender too) exactly once.
    assert group["messages_sent"] > 0 and group["sends_refused"] == 0
    assert group["delivered"] == group["deliveries_expected"] == group["messages_sent"] * group["participants"]
    assert group["lost"] == 0 and group["duplicated"] == 0
    figures = results["figures"]
    for name in ("group_delivery_p99_ms", "group_server_cpu_per_delivery_us"):
        assert FIGURE_KEYS <= set(figures[name]) and figures[name]["dutychat"] is not None, name
    # Only the group ran: no one-to-one relay beside it in this run.
    assert "relay_dutychat_1w" not in results["runs"] and figures["group_delivery_p99_ms"]["baseline"] is None
