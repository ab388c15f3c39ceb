"""The fan-out of a conversation change to the queues and agents it touches (pure).

A conversation event is folded where its conversation is; what it changed for queues
and agents (`projections.changes.ConversationChange`) then goes to each queue and agent
in `change.queues()` and `change.agents()`, and each folds it with its own reducer. The
worker re-keys the change to those keys (`streams.batches`); replay, the projector and
the router fold it in memory here.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from projections.agents import reducer as agents_reducer
from projections.agents.state import AgentState
from projections.changes import ConversationChange
from projections.queues import reducer as queues_reducer
from projections.queues.reducer import QueueState


def to_queues(queues: MutableMapping[str, QueueState], change: ConversationChange,
              ) -> tuple[str, ...]:
    """Fold the change into every queue it touches (created when new); those queues."""
    touched = change.queues()
    for queue in touched:
        queues[queue] = queues_reducer.apply_change(queues.get(queue), queue, change)
    return touched


def to_agents(agents: MutableMapping[str, AgentState], change: ConversationChange,
              ) -> tuple[str, ...]:
    """Fold the change into every agent it touches (created when new); those agents."""
    touched = change.agents()
    for agent in touched:
        agents[agent] = agents_reducer.apply_change(agents.get(agent), agent, change)
    return touched


def fan_out(queues: MutableMapping[str, QueueState], agents: MutableMapping[str, AgentState],
            change: ConversationChange) -> None:
    """Fold the change into every queue and every agent it touches."""
    to_queues(queues, change)
    to_agents(agents, change)
