"""Which family and topic an event type belongs to (one function, for every type), and the
names topics and consumer groups have on the cluster (a prefix from the settings)."""

from __future__ import annotations

import pytest

from schemas.events import EVENT_TYPES
from schemas.events.agent import AGENT_EVENTS
from schemas.events.conversation import CONVERSATION_EVENTS
from schemas.topics import (
    AGENTS,
    ALERTS,
    ALL_TOPICS,
    CONVERSATIONS,
    Family,
    family_of,
    topic_for_type,
)
from services.runtime.settings import TOPIC_NAME_MAX, SettingsError, from_env


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


def test_without_a_prefix_the_names_on_the_cluster_are_the_logical_ones() -> None:
    settings = from_env({})
    assert settings.topic_prefix == ""
    assert settings.topic(CONVERSATIONS) == CONVERSATIONS
    assert settings.topic_for_type("cc.agent.logged_in.v1") == AGENTS
    assert settings.worker_group == settings.worker_app_id == "switchboard-worker"


def test_a_prefix_names_every_topic_and_group_on_the_cluster() -> None:
    settings = from_env({"SWITCHBOARD_TOPIC_PREFIX": "t-router_load.", "SWITCHBOARD_WORKER_ID": "w1"})
    assert [settings.topic(spec.name) for spec in ALL_TOPICS][:2] == [
        "t-router_load.cc.conversations", "t-router_load.cc.agents"]
    assert settings.topic_for_type("cc.conversation.started.v1") == "t-router_load.cc.conversations"
    assert settings.group("switchboard-router.default") == "t-router_load.switchboard-router.default"
    assert settings.worker_group == "t-router_load.w1"


@pytest.mark.parametrize("prefix", ["t mod-", "t/mod-", "t:mod", "tést-", "a*"])
def test_a_prefix_with_characters_kafka_refuses_in_topic_names_is_refused(prefix: str) -> None:
    with pytest.raises(SettingsError, match="SWITCHBOARD_TOPIC_PREFIX"):
        from_env({"SWITCHBOARD_TOPIC_PREFIX": prefix})


def test_a_prefix_that_makes_a_topic_name_too_long_for_kafka_is_refused() -> None:
    longest = max(len(spec.name) for spec in ALL_TOPICS)
    room = TOPIC_NAME_MAX - longest
    short_worker = {"SWITCHBOARD_WORKER_ID": "w"}  # its own topics then fit too
    assert from_env({"SWITCHBOARD_TOPIC_PREFIX": "p" * room, **short_worker}).topic_prefix \
        == "p" * room
    with pytest.raises(SettingsError, match="at most"):
        from_env({"SWITCHBOARD_TOPIC_PREFIX": "p" * (room + 1), **short_worker})
    # Faust's own topics are named after the worker id: the default one leaves less room.
    with pytest.raises(SettingsError, match="SWITCHBOARD_WORKER_ID is 18 characters"):
        from_env({"SWITCHBOARD_TOPIC_PREFIX": "p" * room})
