"""The benchmark's arithmetic over rounds: medians, spreads, met from the median (no benchmark is run)."""

from __future__ import annotations

from bench.run import combine, figure


def test_a_figure_is_the_median_of_its_rounds_with_its_spread() -> None:
    rounds = [
        {"relay_throughput_1w": figure("messages/s", d, b, ">= 0.9 x baseline", d >= 0.9 * b, "higher",
                                       server_cpu_us_per_message={"dutychat": cpu, "baseline": 200.0})}
        for d, b, cpu in ((900.0, 1000.0, 300.0), (500.0, 1000.0, 280.0), (950.0, 1000.0, 310.0))
    ]
    f = combine(rounds)["relay_throughput_1w"]
    assert (f["dutychat"], f["baseline"], f["ratio"]) == (900.0, 1000.0, 0.9)
    assert f["spread"] == {"dutychat": [500.0, 950.0], "baseline": [1000.0, 1000.0], "ratio": [0.5, 0.95]}
    assert f["server_cpu_us_per_message"] == {"dutychat": 300.0, "baseline": 200.0}
    # One round in three missed it; the median meets it.
    assert f["met"] is True and f["rounds"] == 3


def test_a_median_that_misses_is_not_met_and_losses_add_up() -> None:
    rounds = [
        {"latency_p99_ms": figure("ms", d, 2.0, "<= 1.5 x baseline at the same load", d <= 3.0, "lower"),
         "lost_duplicated_out_of_order": figure("messages", lost, 0, "0 for dutychat", lost == 0, "lower")}
        for d, lost in ((2.5, 0), (4.0, 0), (5.0, 1))
    ]
    combined = combine(rounds)
    assert combined["latency_p99_ms"]["ratio"] == 2.0 and combined["latency_p99_ms"]["met"] is False
    assert combined["lost_duplicated_out_of_order"]["dutychat"] == 1
    assert combined["lost_duplicated_out_of_order"]["met"] is False


def test_a_figure_missing_from_some_rounds_counts_the_rounds_it_has() -> None:
    rounds = [
        {"knee_2w_redis": figure("messages/s offered", 500.0, 200.0, ">= 2 x", True, "higher", zero_loss=True)},
        {"knee_2w_redis": figure("messages/s offered", None, 220.0, ">= 2 x", False, "higher", zero_loss=True)},
        {},
    ]
    f = combine(rounds)["knee_2w_redis"]
    assert (f["dutychat"], f["baseline"], f["rounds"]) == (500.0, 210.0, 2)
    assert f["ratio"] == 2.5 and f["met"] is True
