"""Topic names and which event family goes where (DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

CONVERSATIONS = "cc.conversations"
AGENTS = "cc.agents"
ALERTS = "cc.alerts"
KPI = "cc.kpi"
DEADLETTER = "cc.deadletter"
PROJECTION_QUEUES = "cc.projections.queues"
PROJECTION_AGENTS = "cc.projections.agents"
PROJECTION_CONVERSATIONS = "cc.projections.conversations"
ROUTER_LEASE = "cc.router.lease"
"""Carries no events: routers of a domain join one consumer group on it, and the member
assigned partition 0 is the domain's active router."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    compacted: bool
    """Compacted topics keep the latest value per key; domain topics keep everything."""


DOMAIN_TOPICS = (CONVERSATIONS, AGENTS, ALERTS)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(CONVERSATIONS, compacted=False),
    TopicSpec(AGENTS, compacted=False),
    TopicSpec(ALERTS, compacted=False),
    TopicSpec(KPI, compacted=False),
    TopicSpec(DEADLETTER, compacted=False),
    TopicSpec(PROJECTION_QUEUES, compacted=True),
    TopicSpec(PROJECTION_AGENTS, compacted=True),
    TopicSpec(PROJECTION_CONVERSATIONS, compacted=True),
    TopicSpec(ROUTER_LEASE, compacted=False),
)


class Family(StrEnum):
    """An event family: the `cc.<family>.` prefix of its wire types; each has one topic."""

    CONVERSATION = "conversation"
    AGENT = "agent"
    SLA = "sla"


FAMILY_TOPICS: dict[Family, str] = {
    Family.CONVERSATION: CONVERSATIONS,
    Family.AGENT: AGENTS,
    Family.SLA: ALERTS,
}


@lru_cache(maxsize=1024)
def family_of(wire_type: str) -> Family:
    """The family of an event type (`cc.agent.logged_in.v1` -> `Family.AGENT`): the one
    place that reads it from the type; ValueError when it names none."""
    prefix, _, rest = wire_type.partition(".")
    name, dot, _ = rest.partition(".")
    if prefix == "cc" and dot:
        try:
            return Family(name)
        except ValueError:
            pass
    raise ValueError(f"no event family for type {wire_type!r}")


def topic_for_type(wire_type: str) -> str:
    """The (logical) topic an event type belongs to: its family's."""
    return FAMILY_TOPICS[family_of(wire_type)]
