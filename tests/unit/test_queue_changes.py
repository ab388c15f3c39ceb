"""A queue's waiting list after any sequence of conversation changes is what sorting the
whole list again after every change gives, to the byte: the reducer inserts each entry
where that sort would put it instead of sorting again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.changes import ConversationChange, Placement
from projections.queues.reducer import QueueState, Waiting, _order, apply_change
from projections.state_codec import dump

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMES = st.integers(0, 20).map(lambda s: T0 + timedelta(seconds=s))


def resorted(state: QueueState | None, queue: str, change: ConversationChange) -> QueueState:
    """The reducer as it was: the whole list sorted again for each entry."""
    state = state or QueueState(queue=queue)
    rest = tuple(w for w in state.waiting if w.conversation_id != change.conversation_id)
    after = change.after
    if after.queue == queue:
        assert change.waiting_since is not None
        entry = Waiting(change.conversation_id, change.priority, change.channel,
                        change.waiting_since, after.offered_to)
        rest = tuple(sorted((*rest, entry), key=_order))
    return replace(state, waiting=rest)


placements = st.builds(Placement, phase=st.sampled_from(("queued", "offered", "assigned")),
                       queue=st.sampled_from(("billing", "billing", "billing", "tech", None)),
                       holder=st.none(),
                       offered_to=st.none() | st.sampled_from(("a1", "a2")))
changes = st.builds(
    ConversationChange, conversation_id=st.sampled_from([f"c{i}" for i in range(12)]),
    event_id=st.just("e"), time=TIMES, channel=st.sampled_from(("chat", "voice")),
    priority=st.integers(0, 3), waiting_since=TIMES, before=st.none() | placements,
    after=placements)


@given(st.lists(changes, max_size=60))
@settings(max_examples=300)
def test_changes_fold_as_sorting_the_whole_list_after_each_one_does(
        folded: list[ConversationChange]) -> None:
    fast: QueueState | None = None
    slow: QueueState | None = None
    for change in folded:
        fast, slow = apply_change(fast, "billing", change), resorted(slow, "billing", change)
        assert dump(fast) == dump(slow)
