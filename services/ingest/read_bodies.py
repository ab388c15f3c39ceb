"""The answers of the read API, for its OpenAPI document (the routes write the rows
straight from PostgreSQL with orjson; these models say what those rows hold)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

UNREADABLE = Field(default=None, description=(
    "JSON Pointers of stored values JSON cannot carry, served as null (present only then)"))
UNREADABLE_ROWS = Field(description="how many rows of this answer carry `unreadable`")


class ConversationView(BaseModel):
    """One conversation: its columns and the useful parts of its state."""

    conversation_id: str
    channel: str
    mode: str
    customer_id: str
    queue: str
    priority: int
    phase: str
    substatus: str
    agent_id: str | None
    started_at: datetime
    first_queued_at: datetime | None
    queued_at: datetime | None
    first_assigned_at: datetime | None
    first_customer_message_at: datetime | None
    first_human_reply_at: datetime | None
    resolved_at: datetime | None
    abandoned_at: datetime | None
    resolved_by: str | None
    messages_in: int
    messages_out_agent: int
    messages_out_bot: int
    offers: int
    transfers: int
    escalations: int
    reopens: int
    csat: int | None
    nps: int | None
    ces: int | None
    last_event_at: datetime
    language: Any
    started_by: Any
    tier: Any
    resolution_code: Any
    offered_agent_id: Any
    offer_expires_at: Any
    agents_seen: Any
    sentiment: Any
    handoff_reason: Any
    required_skills: Any
    assigned_at: Any
    survey_sent_at: Any
    events: Any
    unreadable: list[str] | None = UNREADABLE


class QueueView(BaseModel):
    queue: str
    waiting: int
    offered: int
    oldest_since: datetime | None
    oldest_wait_s: float | None
    by_priority: dict[str, int] | None
    by_channel: dict[str, int] | None
    agents_eligible: int
    agents_available: int
    unreadable: list[str] | None = UNREADABLE


class QueuesView(BaseModel):
    """Every queue with waiting conversations."""

    queues: list[QueueView]
    unreadable_rows: int = UNREADABLE_ROWS


class ChannelLoad(BaseModel):
    load: int
    capacity: int | None = Field(description="null when the stored capacity is unreadable")


class AgentView(BaseModel):
    agent_id: str
    logged_in: bool
    status: str
    status_since: datetime | None
    time_in_status_s: float | None
    skills: dict[str, int | None]
    capacity: dict[str, int | None]
    load: dict[str, int]
    channels: dict[str, ChannelLoad]
    total_load: int
    offers_pending: int
    unreadable: list[str] | None = UNREADABLE


class AgentsView(BaseModel):
    """Agents: status, time in status, load per channel against capacity."""

    agents: list[AgentView]
    unreadable_rows: int = UNREADABLE_ROWS


class KpiRowView(BaseModel):
    scope: str = Field(description="`center`, `queue:<name>`, `channel:<name>` or `agent:<id>`")
    start: datetime
    end: datetime
    definition: str = Field(description="the version of the definitions it was computed with")
    kpis: dict[str, Any] = Field(description=(
        "figure name -> a count or seconds (number), a rate {value, numerator, denominator} "
        "(value null when the denominator is 0), a duration {n, mean, p50, p90} in seconds, "
        "or a map of rates (channel_mix, slot_utilization); formulas in "
        "projections/kpi/README.md"))


class KpisView(BaseModel):
    """The KPI rows of a period from the durable store, one per scope and interval."""

    definition: str
    rows: list[KpiRowView]
    unreadable_rows: int = Field(description="stored facts that could not be read, left out")
