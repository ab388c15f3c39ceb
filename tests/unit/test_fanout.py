"""The fan-out of a conversation change: which queues and agents it touches
(`ConversationChange.queues/agents`) and their folds (`projections.fanout`), the one
definition the worker, replay, the projector and the router use."""

from __future__ import annotations

from datetime import timedelta

from event_strategies import AGENTS, T0, data_of
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.agents.state import AgentState
from projections.changes import ConversationChange, Placement, agents_of, queues_of
from projections.fanout import fan_out, to_agents, to_queues
from projections.queues.reducer import QueueState, Waiting
from projections.replay import ReadModels, apply_event
from schemas.envelope import new_event
from schemas.events import EventData
from schemas.events.agent import AGENT_EVENTS
from schemas.events.conversation import (
    CONVERSATION_EVENTS,
    Assigned,
    ConversationStarted,
    OfferDeclined,
    Offered,
    Queued,
        Transferred,
)
from services.router.config import default_config
from services.router.model import RoutingModel

QUEUED = Placement("queued", "tech", None, None)
OFFERED = Placement("offered", "billing", None, "a2")
HELD = Placement("assigned", None, "a1", None)


def change(before: Placement | None, after: Placement) -> ConversationChange:
    return ConversationChange("c1", "e1", T0, "chat", 3,
                              T0 if after.queue else None, before, after)


def test_a_change_touches_the_queues_and_agents_of_both_placements_sorted() -> None:
    assert change(QUEUED, OFFERED).queues() == ("billing", "tech")
    assert change(QUEUED, OFFERED).agents() == ("a2",)
    assert change(OFFERED, HELD).queues() == ("billing",)
    assert change(OFFERED, HELD).agents() == ("a1", "a2")
    assert change(None, HELD).agents() == ("a1",)  # resent: only where it is now
    assert queues_of(HELD) == () and agents_of(HELD, HELD) == ("a1",)


def test_fan_out_folds_the_change_into_every_queue_and_agent_it_touches() -> None:
    queues: dict[str, QueueState] = {"tech": QueueState("tech", (Waiting("c1", 3, "chat", T0),))}
    agents: dict[str, AgentState] = {}
    fan_out(queues, agents, change(QUEUED, OFFERED))
    assert queues == {"tech": QueueState("tech"),
                      "billing": QueueState("billing", (Waiting("c1", 3, "chat", T0, "a2"),))}
    assert agents == {"a2": AgentState(agent_id="a2", offered=("c1",), last_moved_at=T0)}


def test_to_queues_and_to_agents_say_which_they_folded() -> None:
    queues: dict[str, QueueState] = {}
    agents: dict[str, AgentState] = {}
    assert to_queues(queues, change(OFFERED, HELD)) == ("billing",)
    assert to_agents(agents, change(OFFERED, HELD)) == ("a1", "a2")
    assert (agents["a1"].holding, agents["a2"].offered) == ({"chat": ("c1",)}, ())
    assert agents["a1"].last_assigned_at == T0


STARTED = ConversationStarted(channel="chat", mode="sync", customer_id="x", queue="billing")
conversation_data = st.one_of(*(data_of(c) for c in CONVERSATION_EVENTS.values()
                                if c is not ConversationStarted))
placing_data = st.one_of(*(data_of(c) for c in (Queued, Offered, OfferDeclined, Assigned,
                                                 Transferred)))
"""The events that move conversations between queues and agents, drawn more often."""
agent_data = st.one_of(*(data_of(c) for c in AGENT_EVENTS.values()))
conversations = st.sampled_from(("c1", "c2", "c3"))
steps = st.one_of(st.tuples(conversations, conversation_data),
                  st.tuples(conversations, placing_data), st.tuples(conversations, placing_data),
                  st.tuples(st.sampled_from(AGENTS), agent_data))


@given(st.lists(steps, min_size=5, max_size=40))
@settings(max_examples=200, deadline=None)
def test_the_router_sees_the_agents_and_waiting_lists_of_the_offline_fold(
        log: list[tuple[str, EventData]]) -> None:
    started = [(cid, STARTED) for cid in ("c1", "c2", "c3")]
    router, offline = RoutingModel(default_config()), ReadModels()
    for i, (subject, data) in enumerate([*started, *log]):
        event = new_event(data, subject=subject, source="t", time=T0 + timedelta(seconds=i))
        router.apply(event)
        apply_event(offline, event)
        assert router.agents == offline.agents
        assert router.waiting_by_queue == {q: {w.conversation_id for w in state.waiting}
                                           for q, state in offline.queues.items() if state.waiting}
