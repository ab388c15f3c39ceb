"""The benchmark's pure statistics: percentiles, latency summaries, the backlog trend test."""

import pytest

from services.bench.stats import (
    backlog_verdict,
    percentile,
    rate_between,
    slope,
    summarize_ms,
    trend,
)


def test_percentile_is_nearest_rank_of_measured_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_ignores_input_order() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0


def test_percentile_refuses_no_values_and_bad_q() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_reports_milliseconds() -> None:
    summary = summarize_ms([0.010, 0.020, 0.030, 0.500])
    assert summary is not None
    assert summary.count == 4
    assert summary.p50_ms == pytest.approx(20.0)
    assert summary.p99_ms == pytest.approx(500.0)
    assert summary.max_ms == pytest.approx(500.0)
    assert summary.mean_ms == pytest.approx(140.0)
    assert summarize_ms([]) is None


def test_slope_of_a_line_and_of_flat_data() -> None:
    assert slope([(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) == pytest.approx(2.0)
    assert slope([(0.0, 4.0), (1.0, 4.0)]) == 0.0
    assert slope([(1.0, 4.0)]) == 0.0


def test_a_steady_sawtooth_lag_is_not_a_growing_backlog() -> None:
    # Periodic commits make the lag jump up and fall back; that is not a backlog.
    series = [(float(t), 3000 if t % 3 == 2 else 500) for t in range(60)]
    verdict = backlog_verdict(series, window_s=10, max_slope_per_s=100)
    assert verdict is not None and verdict.passed
    assert verdict.max_lag == 3000


def test_troughs_that_rise_fail_even_when_the_peaks_do_not() -> None:
    # Commits every 3 s: the lag drops to what is left after each; here that grows.
    series = [(float(t), 20_000 if t % 3 == 2 else 150 * t) for t in range(60)]
    verdict = backlog_verdict(series, window_s=10, max_slope_per_s=100)
    assert verdict is not None and not verdict.passed
    assert verdict.trough_slope_per_s == pytest.approx(150)


def test_a_lag_that_keeps_rising_fails() -> None:
    series = [(float(t), 400 * t) for t in range(60)]
    verdict = backlog_verdict(series, window_s=10, max_slope_per_s=100)
    assert verdict is not None and not verdict.passed
    assert verdict.trough_slope_per_s == pytest.approx(400)
    assert verdict.final_lag == 400 * 59


def test_a_start_up_spike_that_drains_away_passes() -> None:
    series = [(float(t), max(0, 20_000 - 2000 * t)) for t in range(60)]
    verdict = backlog_verdict(series, window_s=10, max_slope_per_s=100)
    assert verdict is not None and verdict.passed
    assert backlog_verdict([], 10, 100) is None


def test_rate_between_two_observations() -> None:
    assert rate_between((10.0, 1000), (12.0, 11_000)) == pytest.approx(5000)
    assert rate_between((10.0, 1000), (10.0, 2000)) == 0.0


def test_a_trend_reads_only_the_window_and_gives_its_slope_per_minute() -> None:
    # Memory that grows while a table fills, then holds: only the steady half is judged.
    series = [(float(t), 100.0 + min(t, 30)) for t in range(61)]
    steady = trend(series, since=30.0)
    assert steady is not None
    assert (steady.start, steady.end, steady.samples) == (130.0, 130.0, 31)
    assert steady.slope_per_min == pytest.approx(0.0)
    assert steady.seconds == 30.0
    growing = trend(series, since=0.0)
    assert growing is not None and growing.slope_per_min > 0
    assert trend(series, since=60.0) is None
