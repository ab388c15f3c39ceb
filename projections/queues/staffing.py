"""Who could take each queue's work: the agents eligible for it and available for it now.

Eligibility is `AgentState.speaks`, `has_skills` and `free_slots`, the methods the
router's policy decides with; this module only counts with them, so the read API's
numbers and the router's choices cannot drift apart.

The counts are computed when they are read, from the agents' states and what waits,
rather than stored by the projector: staffing changes with every agent event (a
login, a status change, an assignment that fills a slot), so a stored figure would
make the projector rewrite every queue an agent could serve on nearly every batch,
while a reader needs it only for the queues it shows.

The figures are the agents' own skills, languages and stated capacities, before a
router's domain filter, bullseye relaxation or mixing rules (the read side knows no
routing configuration).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projections.agents.state import AgentState

AVAILABLE = "available"
"""The status in which an agent takes new work."""


@dataclass(frozen=True, slots=True)
class Need:
    """What one kind of waiting conversation asks of an agent: in `queue`, on `channel`,
    in `language`, with each skill of `required_skills` at least at its level."""

    queue: str
    channel: str
    language: str
    required_skills: dict[str, int]


@dataclass(frozen=True, slots=True)
class Staffing:
    """One queue's agents: `eligible` (logged in, with the skills and language of a
    conversation waiting there) and `available` (of those, status available with a free
    slot on that conversation's channel)."""

    eligible: int = 0
    available: int = 0


def staffing(agents: Iterable[AgentState], needs: Iterable[Need]) -> dict[str, Staffing]:
    """Per queue named by `needs`, how many of `agents` are eligible for its work and how
    many are available for it now (an agent counts once per queue, in several queues)."""
    by_queue: dict[str, list[Need]] = {}
    for need in needs:
        by_queue.setdefault(need.queue, []).append(need)
    counts = {queue: [0, 0] for queue in by_queue}
    for agent in agents:
        if not agent.logged_in:
            continue
        for queue, queue_needs in by_queue.items():
            fits = [n for n in queue_needs if _fits(agent, n)]
            if fits:
                counts[queue][0] += 1
                counts[queue][1] += _available_for(agent, fits)
    return {queue: Staffing(eligible, available) for queue, (eligible, available) in counts.items()}


def _fits(agent: AgentState, need: Need) -> bool:
    return agent.speaks(need.language) and agent.has_skills(need.required_skills)


def _available_for(agent: AgentState, fits: list[Need]) -> bool:
    return agent.status == AVAILABLE and any(agent.free_slots(n.channel) > 0 for n in fits)
