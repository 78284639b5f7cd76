"""The benchmark plot: latency against concurrent chats, and against offered rate (the knee)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"dutychat": "#1f5f8b", "baseline": "#c0612b"}


def _curve(run: dict[str, Any] | None, x_key: str, phases_key: str) -> tuple[list[float], list[float], list[float]]:
    if not run:
        return [], [], []
    xs, p50, p99 = [], [], []
    for phase in run[phases_key]:
        lat = phase["latency_ms"]["visitor_to_staff" if phases_key == "latency_curve" else "both"]
        if lat["p99"] is None:
            continue
        xs.append(phase[x_key])
        p50.append(lat["p50"])
        p99.append(lat["p99"])
    return xs, p50, p99


def _knee(run: dict[str, Any] | None) -> tuple[list[float], list[float]]:
    """Each offered rate of the knee search with the median p99 of its steps."""
    rates = [r for r in (run or {}).get("knee_rates", []) if r["p99_ms_median"] is not None]
    return [r["offered_per_s"] for r in rates], [r["p99_ms_median"] for r in rates]


def plot(results: dict[str, Any], path: Path) -> None:
    runs = results["runs"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind in ("dutychat", "baseline"):
        label = "dutychat" if kind == "dutychat" else "bare python-socketio relay"
        xs, p50, p99 = _curve(runs.get(f"relay_{kind}_1w"), "chats", "latency_curve")
        if xs:
            left.plot(xs, p99, "o-", color=COLOURS[kind], label=f"{label} p99")
            left.plot(xs, p50, "o--", color=COLOURS[kind], alpha=0.6, label=f"{label} p50")
        for workers, style in ((1, "o-"), (2, "s:")):
            xs, p99 = _knee(runs.get(f"relay_{kind}_{workers}w"))
            if xs:
                name = "1 worker" if workers == 1 else "2 workers + Redis"
                right.plot(xs, p99, style, color=COLOURS[kind], label=f"{label}, {name}")
    interval = results["sizes"]["latency_interval"]
    left.set_title(f"Visitor→staff latency, 1 worker\n(each side sends every {interval:g} s)")
    left.set_xlabel("concurrent active chats")
    left.set_ylabel("latency (ms)")
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=8)
    right.axhline(50, color="grey", linewidth=0.8, linestyle="--")
    right.set_title("p99 one-way latency against offered rate\n(median of each rate's steps; knee: p99 < 50 ms)")
    right.set_xlabel("offered messages per second")
    right.set_ylabel("p99 latency (ms)")
    right.set_yscale("log")
    right.grid(alpha=0.3)
    if right.get_legend_handles_labels()[0]:
        right.legend(fontsize=8)
    mode = "quick run" if results["quick"] else "full run"
    fig.suptitle(f"dutychat vs bare relay — {mode}, {results['generated_at']}, "
                 f"{results['machine']['cpu_count']} CPUs", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_costs(results: dict[str, Any], path: Path) -> bool:
    """The cost curves (one worker): per active chat and per idle connection as their number grows."""
    runs = results["runs"]
    if not (runs.get("cost_dutychat") and runs.get("cost_baseline")):
        return False
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    panels = (
        ("active", "chats", lambda p: p["memory_per_chat_bytes"] / 1024, "memory per active chat (KiB)"),
        ("active", "chats", lambda p: p["server_cpu_us_per_message"], "server CPU per message (µs)"),
        ("active", "chats", lambda p: p["latency_ms"]["p99"], "visitor→staff p99 (ms)"),
        ("idle", "connections", lambda p: p["per_connection_bytes"] / 1024, "memory per idle connection (KiB)"),
    )
    for axis, (part, x_key, value, title) in zip(axes, panels, strict=True):
        for kind in ("dutychat", "baseline"):
            label = "dutychat" if kind == "dutychat" else "bare python-socketio relay"
            points = [p for p in runs[f"cost_{kind}"][part] if value(p) is not None]
            axis.plot([p[x_key] for p in points], [value(p) for p in points], "o-", color=COLOURS[kind], label=label)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("concurrent active chats" if part == "active" else "idle connections")
        axis.set_xscale("log")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    mode = "quick run" if results["quick"] else "full run"
    fig.suptitle(f"Cost as the load grows, one worker — {mode}, {results['generated_at']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
