"""An agent fed its re-keyed changes again from an earlier offset (what a worker does after
a rebalance: it reads the change topic from the committed offset, while its table already
holds what came after) ends where folding each change once does, to the byte; and a
change re-sent for a redelivered event (its conversation's latest placement, no `before`)
changes nothing the agent has already been through."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.agents.reducer import apply_change
from projections.agents.state import AgentState
from projections.changes import ConversationChange, Placement
from projections.state_codec import dump, load

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENT = "a1"
QUEUED = Placement("queued", "billing", None, None)
OFFERED = Placement("offered", "billing", None, AGENT)
HELD = Placement("assigned", None, AGENT, None)
ELSEWHERE = Placement("assigned", None, "a2", None)
CLOSED = Placement("closed", None, None, None)

steps = st.lists(st.tuples(st.sampled_from(("c1", "c2", "c3")),
                           st.sampled_from((QUEUED, OFFERED, HELD, ELSEWHERE, CLOSED))),
                 min_size=1, max_size=30)


def _log(picked: list[tuple[str, Placement]]) -> list[ConversationChange]:
    """The changes of the picked placements in order, each conversation's versions
    counting up and its `before` the placement it left."""
    where: dict[str, Placement] = {}
    versions: dict[str, int] = {}
    log = []
    for i, (cid, after) in enumerate(picked):
        versions[cid] = versions.get(cid, 0) + 1
        log.append(ConversationChange(cid, f"e{i}", T0 + timedelta(seconds=i), "messaging", 0,
                                      None, where.get(cid), after, versions[cid]))
        where[cid] = after
    return log


def _fold(state: AgentState | None, log: list[ConversationChange]) -> AgentState | None:
    for change in log:
        if AGENT in change.agents():
            state = apply_change(state, AGENT, change)
    return state


@settings(max_examples=1000, deadline=None)
@given(steps, st.data())
def test_replaying_from_an_earlier_offset_ends_where_folding_once_does(
        picked: list[tuple[str, Placement]], data: st.DataObject) -> None:
    log = _log(picked)
    stopped = data.draw(st.integers(0, len(log)), label="changes applied before the rebalance")
    committed = data.draw(st.integers(0, stopped), label="committed offset")
    once = _fold(None, log)
    replayed = _fold(_fold(None, log[:stopped]), log[committed:])
    assert dump(replayed) == dump(once)


@given(steps, st.data())
def test_a_change_resent_for_a_redelivered_event_changes_nothing(
        picked: list[tuple[str, Placement]], data: st.DataObject) -> None:
    log = _log(picked)
    at = data.draw(st.integers(1, len(log)), label="changes before the resend")
    last = log[at - 1]
    # What the worker sends for a redelivered event: where the conversation is now.
    resent = replace(last, event_id="redelivered", time=T0 + timedelta(days=1), before=None)
    assert dump(_fold(None, [*log[:at], resent, *log[at:]])) == dump(_fold(None, log))


def test_an_older_change_read_again_does_not_release_what_the_agent_now_holds() -> None:
    """The sequence found in a rebalance run: the agent holds the conversation, a replay
    meets the change from before the assignment, then the assignment again."""
    queued, offered, held = _log([("c1", QUEUED), ("c1", OFFERED), ("c1", HELD)])
    state = _fold(None, [queued, offered, held])
    assert state is not None
    again = _fold(state, [offered, held])
    assert again == state
    assert again.last_released_at is None and again.holding == {"messaging": ("c1",)}


def test_a_record_without_versions_is_folded_on_its_content() -> None:
    held = ConversationChange("c1", "e1", T0, "chat", 0, None, None, HELD)
    state = apply_change(None, AGENT, held)
    assert state.holding == {"chat": ("c1",)} and state.versions == ()
    released = apply_change(state, AGENT, replace(held, after=QUEUED, before=HELD))
    assert released.holding == {} and released.last_released_at == T0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([f"c{i}" for i in range(40)]),
                          st.sampled_from((QUEUED, OFFERED, HELD, ELSEWHERE, CLOSED))),
                min_size=1, max_size=120), st.data())
def test_a_state_stored_as_jsonb_folds_on_as_the_one_kept_in_memory(
        picked: list[tuple[str, Placement]], data: st.DataObject) -> None:
    """The projector stores agents in `jsonb`, which keeps no object's key order, and
    folds on from what it loads: the versions must not depend on an order that does not
    survive."""
    log = _log(picked)
    at = data.draw(st.integers(0, len(log)), label="changes before the restart")
    stored = _fold(None, log[:at])
    if stored is not None:  # as jsonb gives it back: every object's keys reordered
        stored = load(AgentState, orjson.dumps(orjson.loads(dump(stored)),
                                               option=orjson.OPT_SORT_KEYS))
    assert dump(_fold(stored, log[at:])) == dump(_fold(None, log))
