"""An agent's load and offers after any sequence of conversation changes are what rebuilding
them from scratch after every change gives, to the byte: the reducer keeps what a change
does not touch instead of copying it, and that must not show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from projections.agents.reducer import apply_change
from projections.agents.state import AgentState
from projections.changes import ConversationChange, Placement
from projections.state_codec import dump

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENTS = st.sampled_from(("a1", "a2"))
CONVERSATIONS = st.sampled_from(("c1", "c2", "c3", "c4"))
CHANNELS = st.sampled_from(("voice", "chat", "messaging", "email"))


def rebuilt(state: AgentState | None, agent_id: str, change: ConversationChange) -> AgentState:
    """The reducer as it was: every channel and the offers rebuilt for each change."""
    s = state or AgentState(agent_id=agent_id)
    cid = change.conversation_id
    holding = {ch: tuple(c for c in convs if c != cid) for ch, convs in s.holding.items()}
    holding = {ch: convs for ch, convs in holding.items() if convs}
    offered = tuple(c for c in s.offered if c != cid)
    after = change.after
    held = any(cid in convs for convs in s.holding.values())
    gained = after.holder == agent_id and not held
    released = held and after.holder != agent_id
    if after.holder == agent_id:
        holding[change.channel] = tuple(sorted((*holding.get(change.channel, ()), cid)))
    if after.offered_to == agent_id:
        offered = tuple(sorted((*offered, cid)))
    latest = (lambda a, b: b if a is None or b > a else a)  # noqa: E731
    moved = held != (after.holder == agent_id) or (cid in s.offered) != (after.offered_to == agent_id)
    return replace(
        s, holding=dict(sorted(holding.items())), offered=offered,
        last_moved_at=latest(s.last_moved_at, change.time) if moved else s.last_moved_at,
        last_assigned_at=latest(s.last_assigned_at, change.time) if gained else s.last_assigned_at,
        last_released_at=latest(s.last_released_at, change.time) if released
        else s.last_released_at,
    )


placements = st.builds(Placement, phase=st.sampled_from(("queued", "offered", "assigned")),
                       queue=st.none() | st.just("billing"), holder=st.none() | AGENTS,
                       offered_to=st.none() | AGENTS)
changes = st.builds(ConversationChange, conversation_id=CONVERSATIONS, event_id=st.just("e"),
                    time=st.integers(0, 100).map(lambda s: T0 + timedelta(seconds=s)),
                    channel=CHANNELS, priority=st.just(0), waiting_since=st.none(),
                    before=st.none() | placements, after=placements)
# Stored states need not be in the reducer's order (written by hand, or by another version).
stored = st.none() | st.builds(
    AgentState, agent_id=st.just("a1"),
    holding=st.dictionaries(CHANNELS, st.lists(CONVERSATIONS, max_size=3).map(tuple), max_size=3),
    offered=st.lists(CONVERSATIONS, max_size=3).map(tuple))


@given(stored, st.lists(changes, max_size=12))
def test_changes_fold_as_rebuilding_after_each_one_does(state: AgentState | None,
                                                        folded: list[ConversationChange]) -> None:
    fast, slow = state, state
    for change in folded:
        fast, slow = apply_change(fast, "a1", change), rebuilt(slow, "a1", change)
        assert dump(fast) == dump(slow)
