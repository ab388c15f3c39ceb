"""Topic names and which event family goes where (DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

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


def topic_for_type(wire_type: str) -> str:
    """The topic an event type belongs to, by its family prefix."""
    if wire_type.startswith("cc.conversation."):
        return CONVERSATIONS
    if wire_type.startswith("cc.agent."):
        return AGENTS
    if wire_type.startswith("cc.sla."):
        return ALERTS
    raise ValueError(f"no topic for event type {wire_type!r}")
