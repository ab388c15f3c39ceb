"""Which family and topic an event type belongs to: one function, for every type."""

from __future__ import annotations

import pytest

from schemas.events import EVENT_TYPES
from schemas.events.agent import AGENT_EVENTS
from schemas.events.conversation import CONVERSATION_EVENTS
from schemas.topics import AGENTS, ALERTS, CONVERSATIONS, Family, family_of, topic_for_type


def test_every_registered_type_has_the_family_its_module_declares() -> None:
    agent_types, conversation_types = set(AGENT_EVENTS), set(CONVERSATION_EVENTS)
    assert agent_types and conversation_types
    assert agent_types | conversation_types == set(EVENT_TYPES)
    assert {family_of(t) for t in agent_types} == {Family.AGENT}
    assert {family_of(t) for t in conversation_types} == {Family.CONVERSATION}
    assert {topic_for_type(t) for t in agent_types} == {AGENTS}
    assert {topic_for_type(t) for t in conversation_types} == {CONVERSATIONS}


def test_sla_types_go_to_the_alerts_topic() -> None:
    assert (family_of("cc.sla.warning.v1"), topic_for_type("cc.sla.warning.v1")) == (
        Family.SLA, ALERTS)


@pytest.mark.parametrize("wire_type", [
    "", "cc", "cc.agent", "cc.agents.logged_in.v1", "cc.conversations.started.v1",
    "xx.agent.logged_in.v1", "cc..v1", "agent.logged_in.v1"])
def test_a_type_of_no_family_is_refused(wire_type: str) -> None:
    with pytest.raises(ValueError, match="no event family"):
        family_of(wire_type)
