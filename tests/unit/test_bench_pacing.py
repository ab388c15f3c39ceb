"""Pacing of the offered load and the lanes that keep each conversation in order."""

import pytest

from services.bench.pacing import due_by, lane_of, tick_sizes


def test_tick_sizes_add_up_to_rate_times_duration() -> None:
    sizes = tick_sizes(2000, 0.05, 60)
    assert len(sizes) == 1200
    assert sum(sizes) == 120_000
    assert set(sizes) == {100}


def test_uneven_rates_do_not_drift() -> None:
    sizes = tick_sizes(30, 0.05, 1)
    assert sum(sizes) == 30
    assert sorted(set(sizes)) == [1, 2]
    # After any number of ticks the offered count is within one event of rate x time.
    total = 0
    for k, size in enumerate(sizes, start=1):
        total += size
        assert abs(total - 30 * 0.05 * k) < 1


def test_a_duration_that_is_not_a_whole_number_of_ticks() -> None:
    sizes = tick_sizes(100, 0.3, 1.0)
    assert len(sizes) == 4
    assert sum(sizes) == 100


def test_due_by_never_counts_negative_time() -> None:
    assert due_by(100, -1) == 0
    with pytest.raises(ValueError):
        due_by(0, 1)


def test_a_subject_always_maps_to_the_same_lane() -> None:
    lanes = {lane_of(f"conv-{i}", 4) for i in range(200)}
    assert lanes == {0, 1, 2, 3}
    assert lane_of("conv-7", 4) == lane_of("conv-7", 4)
    with pytest.raises(ValueError):
        lane_of("x", 0)
