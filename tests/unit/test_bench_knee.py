"""The knee: which steps of the ramp held, and the highest rate held before one failed."""

from typing import Any

from services.bench.knee import StepVerdict, knee_of, step_verdict


def _step(rate: float, p99: float = 120.0, accepted: float | None = None,
          worker_slope_ok: bool = True, unseen: int = 0) -> dict[str, Any]:
    def backlog(ok: bool) -> dict[str, Any]:
        return {"trough_slope_per_s": 10.0 if ok else 900.0, "passed": ok}

    return {"offered_rate": rate, "achieved_rate": rate if accepted is None else accepted,
            "probes_unseen": unseen,
            "lag": {"count": 600, "p50_ms": 30.0, "p99_ms": p99, "max_ms": p99, "mean_ms": 40.0},
            "backlog": {"worker": backlog(worker_slope_ok), "projector": backlog(True)}}


def test_a_step_holds_within_the_lag_with_its_rate_accepted_and_no_backlog_growing() -> None:
    assert step_verdict(_step(3000.0)) == StepVerdict(3000.0, True, ())


def test_a_step_fails_on_lag_unseen_probes_refused_load_or_a_growing_backlog() -> None:
    assert step_verdict(_step(3000.0, p99=501.0)).reasons == ("end-to-end p99 501 ms",)
    assert step_verdict(_step(3000.0, unseen=3)).reasons == ("3 probes unseen",)
    assert step_verdict(_step(3000.0, accepted=2900.0)).reasons == ("accepted 2,900/s",)
    assert step_verdict(_step(3000.0, worker_slope_ok=False)).reasons == (
        "worker backlog growing +900/s",)
    assert not step_verdict(_step(3000.0, p99=800.0, accepted=2000.0)).held


def test_a_step_without_figures_does_not_hold() -> None:
    step = {**_step(1000.0), "lag": None, "backlog": {"worker": None, "projector": None}}
    verdict = step_verdict(step)
    assert not verdict.held
    assert verdict.reasons == ("no probe seen", "no worker backlog figure",
                               "no projector backlog figure")


def test_the_knee_is_the_last_rate_held_before_the_first_failure() -> None:
    held = [StepVerdict(r, True, ()) for r in (1000.0, 1500.0, 2000.0)]
    assert knee_of(held) == 2000.0
    assert knee_of([*held, StepVerdict(2500.0, False, ("x",)), StepVerdict(3000.0, True, ())]) \
        == 2000.0
    assert knee_of([StepVerdict(1000.0, False, ("x",))]) is None
    assert knee_of([]) is None
