"""The benchmark table: every target of issues 2 §8, 3 and 11 with PASS/FAIL."""

from typing import Any

from services.bench.offsets import done_between
from services.bench.report import render_table, targets


def _step(rate: float, held: bool) -> dict[str, Any]:
    verdict = {"trough_slope_per_s": 2.0, "passed": True}
    return {"offered_rate": rate, "achieved_rate": rate, "held": held,
            "reasons": [] if held else ["end-to-end p99 900 ms"],
            "lag": {"count": 600, "p50_ms": 40.0, "p99_ms": 120.0 if held else 900.0,
                    "max_ms": 300.0, "mean_ms": 50.0},
            "live_lag": {"count": 600, "p50_ms": 20.0, "p99_ms": 90.0, "max_ms": 150.0,
                         "mean_ms": 25.0},
            "backlog": {"worker": verdict, "projector": verdict}}


def _results(p99: float, worker_eps: float, ratio: float) -> dict[str, Any]:
    verdict = {"samples": 60, "max_lag": 900, "final_lag": 100, "trough_slope_per_s": -3.0,
               "max_slope_per_s": 100.0, "passed": True}
    return {
        "sustained": {"offered_rate": 2000.0, "duration_s": 60.0, "offered": 120_000,
                      "accepted": 120_000, "achieved_rate": 1995.0, "http_errors": 0,
                      "probes_unseen": 0, "live_probes_unseen": 0,
                      "lag": {"count": 600, "p50_ms": 40.0, "p99_ms": p99, "max_ms": 700.0,
                              "mean_ms": 50.0},
                      "live_lag": {"count": 600, "p50_ms": 30.0, "p99_ms": p99 - 50,
                                   "max_ms": 650.0, "mean_ms": 35.0},
                      "backlog": {"worker": verdict, "projector": verdict}},
        "drain": {"events": 200_000, "baseline_eps": 40_000.0, "worker_eps": worker_eps,
                  "worker_eps_from_start": worker_eps / 2, "worker_ratio": ratio,
                  "projector_eps": 9000.0, "projector_eps_from_start": 8000.0,
                  "projector_ratio": 0.45, "worker_processes": 2,
                  "worker_folds_eps": 12_000.0, "worker_folds_ratio": 0.3,
                  "projector_folds_eps": 10_000.0, "projector_folds_ratio": 0.25,
                  "faust_noop_eps": 20_000.0, "faust_noop_ratio": 0.5},
        "rebuild": {"events": 1_000_000, "seconds": 120.0, "events_per_s": 8333.0},
        "routing_baseline": {"agents": 500, "decisions": 1500, "seconds": 30.0,
                             "decisions_per_s": 50.0, "desks": {"started": 1200},
                             "violation_count": 0,
                             "latency": {"count": 1400, "p50_ms": 10.0, "p99_ms": 40.0,
                                         "max_ms": 90.0, "mean_ms": 12.0},
                             "queued_to_decided": {"count": 1000, "p50_ms": 9.0, "p99_ms": 40.0,
                                                   "max_ms": 60.0, "mean_ms": 11.0}},
        "routing": {"agents": 500, "decisions": 3000, "seconds": 60.0, "decisions_per_s": 50.0,
                    "desks": {"started": 2400}, "violation_count": 0,
                    "latency": {"count": 2900, "p50_ms": 20.0, "p99_ms": 80.0, "max_ms": 150.0,
                                "mean_ms": 25.0},
                    "queued_to_decided": {"count": 2000, "p50_ms": 18.0, "p99_ms": 80.0,
                                          "max_ms": 120.0, "mean_ms": 22.0}},
        "router_restart": {"replay_s": 9.0, "restore_s": 3.0, "snapshot_bytes": 12_000_000},
        "policy": {"agents": 500, "passes": [{"waiting": 10, "longest_idle_us": 120.0,
                                              "least_occupied_us": 4000.0, "ratio": 0.03}]},
        "knee": {"hold_s": 60.0, "max_p99_ms": 500.0, "knee_rate": 3000.0,
                 "steps": [_step(2000.0, True), _step(3000.0, True), _step(3500.0, False)]},
        "memory": {"workers": 2, "horizon_s": 10.0, "sweep_every_s": 5.0,
                   "idle_mb": {"worker-aging": 70.0, "worker-aging-2": 72.0},
                   "aging": {"events": 170_000, "rate": 2000.0, "seconds": 87.0,
                             "conversations": 16_000, "swept": 16_000,
                             "trend_mb": {"start": 400.0, "end": 401.0, "slope_per_min": 0.5,
                                          "seconds": 43.0, "samples": 44}},
                   "open": {"agents": 6000, "per_10k_open_mb": 25.0,
                            "points": [{"open": 0, "rss_mb": {"a": 200.0, "b": 200.0}},
                                       {"open": 30_000, "rss_mb": {"a": 240.0, "b": 235.0}}]}},
        "peak_rss_mb": {"worker": 180.5, "worker-2": 390.0, "worker-aging": 250.0,
                        "projector": 600.0},
        "exits": [],
    }


def test_all_targets_pass_when_the_figures_meet_them() -> None:
    checked = targets(_results(p99=300, worker_eps=13_000, ratio=0.35))  # 0.65 of Faust's
    assert checked and all(t.passed for t in checked)


def test_a_missed_target_is_a_fail_with_its_figure() -> None:
    checked = {t.name: t for t in targets(_results(p99=800, worker_eps=3000, ratio=0.1))}
    assert checked["sustained: end-to-end lag p99 (ms)"].passed is False
    assert checked["sustained: end-to-end lag p99 (ms)"].measured == "800"
    assert checked["sustained: live tables lag p99 (ms)"].passed is False
    assert checked["drain: worker events/s"].passed is False
    assert checked["drain: projector events/s"].passed is True


def test_drain_targets_are_ratios_to_the_ceilings_of_the_same_run() -> None:
    results = _results(p99=300, worker_eps=11_000, ratio=0.01)  # Faust doing nothing: 20,000
    checked = {t.name: t for t in targets(results)}
    assert checked["drain: worker / Faust doing nothing"].measured == "0.55"
    assert checked["drain: worker / Faust doing nothing"].passed is False
    assert checked["drain: projector / its folds alone"].measured == "0.90"  # 9,000 / 10,000
    assert checked["drain: projector / its folds alone"].passed is True
    assert not any("baseline" in name for name in checked)


def test_the_knee_must_reach_3000_events_per_second() -> None:
    results = _results(p99=300, worker_eps=6000, ratio=0.35)
    assert {t.name: t for t in targets(results)}["knee: highest rate held (events/s)"].passed
    results["knee"]["knee_rate"] = 2500.0
    assert {t.name: t for t in targets(results)}["knee: highest rate held (events/s)"].passed \
        is False
    results["knee"]["knee_rate"] = None  # not even the first step held
    knee = {t.name: t for t in targets(results)}["knee: highest rate held (events/s)"]
    assert knee.passed is False and knee.measured == "none"


def test_the_worst_worker_process_is_held_to_400_mb() -> None:
    results = _results(p99=300, worker_eps=6000, ratio=0.35)
    rss = [t for t in targets(results) if t.name.startswith("peak RSS per worker process")]
    assert [(t.name, t.measured, t.passed) for t in rss] == [
        ("peak RSS per worker process (MB): worker-2", "390", True)]  # not the projector's 600
    results["peak_rss_mb"]["worker-aging"] = 401.0
    rss = [t for t in targets(results) if t.name.startswith("peak RSS per worker process")]
    assert rss[0].passed is False and rss[0].name.endswith("worker-aging")


def test_a_phase_that_did_not_run_is_neither_pass_nor_fail() -> None:
    checked = targets({})
    assert {t.passed for t in checked} == {None}


def test_table_shows_figures_and_verdicts() -> None:
    table = render_table(_results(p99=800, worker_eps=6000, ratio=0.35))
    assert "p99 800 ms" in table
    assert "FAIL" in table and "PASS" in table
    assert "peak RSS worker" in table and "180 MB" in table
    assert "1,000,000 events in 120.0 s" in table
    assert "routing under load: queued -> offered" in table and "p99 80 ms" in table
    assert "routing p99 under load / alone" in table and "2.0x" in table
    assert "from offset 0 9.0 s; from its snapshot (12.0 MB) 3.0 s (0.33x)" in table
    assert "policy pass, 500 agents, 10 waiting" in table and "4,000 us (0.030x)" in table
    assert "sustained live tables lag" in table and "p99 750 ms" in table


def test_table_shows_the_knee_step_by_step() -> None:
    table = render_table(_results(p99=300, worker_eps=6000, ratio=0.35))
    assert "knee step 3,000 ev/s" in table and "knee step 3,500 ev/s" in table
    assert "NOT held (end-to-end p99 900 ms)" in table
    assert "knee: highest rate held" in table and "3,000 events/s for 60 s" in table


def test_table_shows_memory_while_conversations_age_out_and_per_open_one() -> None:
    table = render_table(_results(p99=300, worker_eps=6000, ratio=0.35))
    assert "memory: workers idle" in table and "70 + 72 MB" in table
    assert "16,000 swept" in table and "400 -> 401 MB, slope +0.5 MB/min" in table
    assert "keeping them would take about 40 MB" in table  # 16,000 x 25 MB / 10,000
    assert "memory: RSS per 10,000 open conversations" in table and "25.0 MB" in table
    assert "0 -> 30,000 open" in table and "400 -> 475 MB" in table



def test_table_shows_what_bounds_the_drain_with_ratios() -> None:
    table = render_table(_results(p99=300, worker_eps=6000, ratio=0.15))
    assert "drain ceiling: worker's folds alone" in table
    assert "12,000 ev/s (ratio 0.300), 1 process, no I/O" in table
    assert "drain ceiling: projector's folds alone" in table and "(ratio 0.250)" in table
    assert "drain ceiling: Faust, agents doing nothing" in table
    assert "20,000 ev/s (ratio 0.500), 2 processes" in table
    assert "drain worker / Faust doing nothing" in table and "0.30x" in table
    assert "drain projector / its folds alone" in table and "0.90x" in table


def test_done_between_counts_only_the_backlog_range() -> None:
    start = {("t", 0): 100, ("t", 1): 0}
    end = {("t", 0): 200, ("t", 1): 50}
    assert done_between(start, end, {("t", 0): 150}) == 50
    assert done_between(start, end, {("t", 0): 999, ("t", 1): 50}) == 150
    assert done_between(start, end, {}) == 0


def test_a_process_that_exited_fails_the_run_and_is_shown_with_its_last_line() -> None:
    results = _results(p99=300, worker_eps=13_000, ratio=0.35)
    results["exits"] = [{"name": "worker-2", "code": 70, "phase": "knee", "at_s": 612.4,
                         "last_lines": ["exiting with 70 so the worker is restarted"]}]
    exited = {t.name: t for t in targets(results)}["processes that exited during the run"]
    assert (exited.measured, exited.passed) == ("1", False)
    table = render_table(results)
    assert "exited: worker-2" in table
    assert "with 70 during knee at 612 s, restarted; last line: exiting with 70" in table
