"""The drain's rates: from first progress, from process start, and between 20 % and 90 %
of the backlog (a group's start-up pause falls outside the last)."""

from __future__ import annotations

import pytest

from services.bench.drain import _rates


def test_the_steady_rate_leaves_out_a_start_up_pause() -> None:
    # Started at 0; first commit at 1 s (1,000), then a 4 s rebalance, then 2,000/s.
    samples = [(0.5, 0), (1.0, 1_000), (5.0, 1_000), (6.0, 3_000), (9.0, 9_000), (10.0, 10_000)]
    first_progress, from_start, steady = _rates(samples, began=0.0)
    assert first_progress == pytest.approx(9_000 / 9.0)
    assert from_start == pytest.approx(1_000.0)
    assert steady == pytest.approx((9_000 - 3_000) / (9.0 - 6.0))


def test_a_backlog_done_in_one_step_has_the_from_start_rate_only() -> None:
    assert _rates([(0.2, 0), (2.0, 500)], began=0.0) == (250.0, 250.0, 250.0)
