"""The AsyncAPI 3.0 document of the topics, derived from the catalog and topic list."""

from __future__ import annotations

from typing import Any

from schemas import deadletter
from schemas.events import EVENT_TYPES
from schemas.topics import (
    AGENTS,
    ALERTS,
    CONVERSATIONS,
    DEADLETTER,
    KPI,
    PROJECTION_AGENTS,
    PROJECTION_CONVERSATIONS,
    PROJECTION_QUEUES,
    topic_for_type,
)

TOPIC_DOCS: dict[str, str] = {
    CONVERSATIONS: "The whole conversation lifecycle, routing decisions and surveys. "
                   "Key: conversation id. Retention: forever.",
    AGENTS: "Agent sessions, status, capacity and skills. Key: agent id. Retention: forever.",
    ALERTS: "SLA warnings, breaches, acknowledgements, escalations. Key: conversation id.",
    KPI: "KPI snapshots for dashboards and subscribers. Key: scope (e.g. queue:billing).",
    DEADLETTER: "Records that failed validation or processing: the original key and bytes, "
                "with the reason in headers (" + ", ".join(
                    (deadletter.REASON, deadletter.DETAIL, deadletter.TOPIC,
                     deadletter.PARTITION, deadletter.OFFSET, deadletter.COMPONENT)) + ").",
    PROJECTION_CONVERSATIONS: "Latest state of each conversation (compacted). Key: conversation id.",
    PROJECTION_QUEUES: "Waiting conversations per queue in routing order (compacted). Key: queue.",
    PROJECTION_AGENTS: "Agent status, skills, capacity and load per channel (compacted). "
                       "Key: agent id.",
}


def _message_name(wire_type: str) -> str:
    return wire_type.replace(".", "_")


def document() -> dict[str, Any]:
    """The AsyncAPI document as a JSON object."""
    messages: dict[str, dict[str, Any]] = {}
    channels: dict[str, dict[str, Any]] = {}
    for name, doc in TOPIC_DOCS.items():
        channels[name.replace(".", "_")] = {"address": name, "description": doc, "messages": {}}
    for wire_type, cls in sorted(EVENT_TYPES.items()):
        message = {
            "name": wire_type,
            "title": wire_type,
            "summary": (cls.__doc__ or "").strip(),
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"./json/{wire_type}.json"},
        }
        key = _message_name(wire_type)
        messages[key] = message
        channel = channels[topic_for_type(wire_type).replace(".", "_")]
        channel["messages"][key] = {"$ref": f"#/components/messages/{key}"}
    operations = {
        f"publish_{cid}": {"action": "send", "channel": {"$ref": f"#/channels/{cid}"}}
        for cid, ch in channels.items() if ch["messages"]
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard events",
            "version": "1.0.0",
            "description": "Every fact of the contact center as a CloudEvent 1.0 (structured JSON "
                           "mode) on Apache Kafka. Producers are idempotent with acks=all; one key, "
                           "one partition: total order per conversation and per agent.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "The broker `switchboard dev` starts."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
