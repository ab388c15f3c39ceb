"""What happened to a conversation after it was resolved, and to its customer: the
knowledge FCR and containment need, gathered from every fact (pure).

- **FCR**: a resolution counts when its conversation had one agent at most, no
  transfer and no escalation, and neither a reopen of it nor a new conversation from
  the same customer started within the recontact window after the resolution.
- **Containment**: a resolution of a bot-started conversation counts when it never
  went to a human (no handoff, no queueing, no agent) and has no recontact within the
  window.

A resolution whose window has not ended at the time of the last fact read counts on
what is known so far (a later fold may take it back).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.kpi.facts import Fact


@dataclass(slots=True)
class _Conversation:
    agents: set[str] = field(default_factory=set)
    moved: bool = False
    """Transferred or escalated."""
    to_human: bool = False
    """Handed off by the bot, queued or answered."""
    reopened_at: list[datetime] = field(default_factory=list)


@dataclass(slots=True)
class Recontacts:
    conversations: dict[str, _Conversation] = field(default_factory=dict)
    starts: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    """Per customer, (start, conversation id), sorted."""


def gather(facts: Iterable[Fact]) -> Recontacts:
    conversations: dict[str, _Conversation] = defaultdict(_Conversation)
    starts: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for fact in facts:
        conv = conversations[fact.conversation_id]
        if fact.agent_id and fact.kind in ("answered", "handled", "first_response_agent"):
            conv.agents.add(fact.agent_id)
        if fact.kind in ("transferred", "escalated"):
            conv.moved = True
        if fact.kind in ("handoff", "queued", "answered"):
            conv.to_human = True
        if fact.kind == "reopened":
            conv.reopened_at.append(fact.at)
        if fact.kind == "started":
            starts[fact.customer_id].append((fact.at, fact.conversation_id))
    for found in starts.values():
        found.sort()
    return Recontacts(dict(conversations), dict(starts))


def recontacted(resolved: Fact, known: Recontacts, window_s: float) -> bool:
    """Whether the customer came back within the window after this resolution."""
    end = resolved.at + timedelta(seconds=window_s)
    conv = known.conversations.get(resolved.conversation_id, _Conversation())
    if any(resolved.at < t <= end for t in conv.reopened_at):
        return True
    starts = known.starts.get(resolved.customer_id, [])
    for t, cid in starts[bisect.bisect_right(starts, (resolved.at, "\uffff")):]:
        if t > end:
            return False
        if cid != resolved.conversation_id:
            return True
    return False


def first_contact(resolved: Fact, known: Recontacts, window_s: float) -> bool:
    conv = known.conversations.get(resolved.conversation_id, _Conversation())
    return len(conv.agents) <= 1 and not conv.moved and not recontacted(resolved, known, window_s)


def contained(resolved: Fact, known: Recontacts, window_s: float) -> bool:
    conv = known.conversations.get(resolved.conversation_id, _Conversation())
    return (resolved.started_by == "bot" and not conv.to_human and not conv.agents
            and not recontacted(resolved, known, window_s))
