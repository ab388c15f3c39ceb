"""The chaos run's fault plan: seeded, spread over the run, every kind dealt."""

from __future__ import annotations

from collections import Counter

from services.chaos.faults import Kind, plan


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert plan(3, 300, 20) == plan(3, 300, 20)
    assert plan(3, 300, 20) != plan(4, 300, 20)


def test_faults_stay_inside_the_run_and_apart() -> None:
    for seed in range(50):
        faults = plan(seed, 300, 20)
        times = [f.at_s for f in faults]
        assert times == sorted(times)
        assert all(10 <= t <= 290 for t in times)
        assert all(b - a >= 10 - 0.1 for a, b in zip(times, times[1:], strict=False))


def test_every_kind_strikes_once_the_run_has_room_for_them() -> None:
    for seed in range(50):
        kinds = Counter(f.kind for f in plan(seed, 300, 20))
        assert set(kinds) == set(Kind)
        assert max(kinds.values()) - min(kinds.values()) <= 1 + 1  # decks, plus the last one cut
