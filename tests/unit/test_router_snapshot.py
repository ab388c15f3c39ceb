"""The router's snapshot: a model saved part-way through the log and restored, then fed the
rest, is the model that folded the whole log; a snapshot that cannot be used says why."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from router_events import ROUTER, agent_events, arrival_events, at, ev, model_of

from projections.postgres.sample_log import sample_log
from schemas.events.conversation import OfferDeclined, Offered
from schemas.topics import Family, family_of
from services.router.config import parse_config
from services.router.feed import Mark
from services.router.model import Event, RoutingModel
from services.router.policy import decide
from services.router.snapshot import (
    SnapshotError,
    decode,
    encode,
    restore,
    save,
    save_in_background,
)

T0 = datetime(2026, 4, 1, 8, tzinfo=UTC)
# A short memory, so that some finished conversations are forgotten on either side of the cut.
CONFIG = parse_config("[routing]\nforget_after_s = 120\n")
LOG = sample_log(60, 8, seed=17, start=T0)
MARKS = {("cc.conversations", 0): Mark(41, 1_775_030_400_000), ("cc.agents", 0): Mark(0, None)}


def folded(events: list[Event]) -> RoutingModel:
    model = RoutingModel(CONFIG)
    for event in events:
        model.apply(event)
    return model


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=len(LOG)))
def test_restored_and_fed_the_rest_equals_folding_everything(cut: int) -> None:
    whole = folded(LOG)
    taken = decode(encode(folded(LOG[:cut]), MARKS), CONFIG)
    assert taken.marks == MARKS
    part = taken.model
    for event in LOG[cut:]:
        part.apply(event)
    assert part.state() == whole.state()
    assert (part.waiting, part.waiting_by_queue, part.available) == (
        whole.waiting, whole.waiting_by_queue, whole.available)
    for second in (0, 30, 600):
        now = (whole.latest or T0) + timedelta(seconds=second)
        assert decide(part, "default", now) == decide(whole, "default", now)


def test_the_log_used_has_something_waiting_and_something_forgotten() -> None:
    whole, everything = folded(LOG), {e.subject for e in LOG
                                    if family_of(e.type) is Family.CONVERSATION}
    assert whole.waiting  # queued or offered
    assert len(whole.conversations) < len(everything)


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "unreadable"),
    (b"garbage\n{}", "unreadable"),
    (b'{"format": 2, "marks": []}\n{}', "not a format-1"),
    (b'{"format": 1, "marks": []}', "not a format-1"),
    (b'{"format": 1, "marks": [["cc.agents", 0]]}\n{}', "unreadable"),
    (b'{"format": 1, "marks": []}\n{"conversations": {}}', "unreadable"),
], ids=["empty", "not-json", "other-format", "no-body", "bad-position", "truncated-state"])
def test_a_snapshot_that_cannot_be_used_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(SnapshotError, match=reason):
        decode(raw, CONFIG)


def test_saved_then_restored_and_none_before_the_first(tmp_path: Path) -> None:
    path = tmp_path / "router" / "default.snapshot"
    assert restore(path, CONFIG) is None
    model = folded(LOG)
    assert save(path, model, MARKS) == path.stat().st_size
    again = restore(path, CONFIG)
    assert again is not None and again.model.state() == model.state()
    assert [p.name for p in path.parent.iterdir()] == ["default.snapshot"]


def test_a_restored_model_keeps_an_agent_who_declined_away_from_that_conversation() -> None:
    model = model_of([*agent_events("a1", second=0), *agent_events("a2", second=1),
                      *arrival_events("c1", second=2),
                      ev(Offered(agent_id="a1", expires_at=at(30)), "c1", 3, source=ROUTER),
                      ev(OfferDeclined(agent_id="a1"), "c1", 4)])
    restored = decode(encode(model, MARKS), model.config).model
    assert restored.excluded == {"c1": {"a1": at(64)}}
    assert decide(restored, "default", at(5)) == decide(model, "default", at(5))
    assert [d.agent_id for d in decide(restored, "default", at(5))] == ["a2"]  # type: ignore[union-attr]


def test_a_snapshot_saved_by_a_child_process_reports_through_its_exit_status(
        tmp_path: Path) -> None:
    model = folded(LOG)
    path = tmp_path / "default.snapshot"
    _, status = os.waitpid(save_in_background(path, model, MARKS), 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again = restore(path, CONFIG)
    assert again is not None and again.model.state() == model.state()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    _, status = os.waitpid(save_in_background(blocked / "x.snapshot", model, MARKS), 0)
    assert os.waitstatus_to_exitcode(status) == 1
