"""Active engagement of an asynchronous hold: the time it was the agent's turn (pure).

DESIGN §8: for async conversations the handle time is reported together with the
active-engagement time, the sum of agent-turn intervals. An agent turn runs from the
moment the agent owes a reply (its assignment, or an unanswered customer message) to
that reply; the facts measuring exactly these are `first_response_agent` (assignment →
first reply) and `next_response` (oldest unanswered customer message → next human
reply). A hold's engagement is the sum of those facts for its conversation and agent
filed inside the hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from projections.kpi.facts import Fact

TURNS = frozenset({"first_response_agent", "next_response"})

Turns = dict[str, list[Fact]]
"""Per conversation, its agent-turn facts."""


def turns_of(facts: Iterable[Fact]) -> Turns:
    """The agent-turn facts of every conversation (from every fact read, since a hold's
    turns may be filed in an earlier interval than its end)."""
    found: Turns = defaultdict(list)
    for fact in facts:
        if fact.kind in TURNS and fact.seconds is not None:
            found[fact.conversation_id].append(fact)
    return found


def engagement(hold: Fact, turns: Turns) -> float:
    """Seconds of agent turns inside the hold (`hold`: a `handled` fact, which ends it)."""
    end = hold.at
    start = end - timedelta(seconds=hold.seconds or 0.0)
    return sum(t.seconds or 0.0 for t in turns.get(hold.conversation_id, ())
               if t.agent_id == hold.agent_id and start <= t.at <= end)
