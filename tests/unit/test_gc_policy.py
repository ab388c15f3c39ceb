"""The batch folds' garbage collector settings hold for a measurement and are undone after."""

from __future__ import annotations

import gc

from services.runtime.gc_policy import YOUNG, batch_folds


def test_a_measurement_runs_with_a_large_young_generation_and_the_bench_data_frozen() -> None:
    before = gc.get_threshold()
    corpus = [[i] for i in range(1_000)]
    with batch_folds():
        assert gc.get_threshold()[0] == YOUNG
        assert gc.get_freeze_count() >= len(corpus)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
