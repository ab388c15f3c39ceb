"""The event catalog: one frozen dataclass per wire type (DESIGN.md §4)."""

from schemas.events.agent import AGENT_EVENTS
from schemas.events.conversation import CONVERSATION_EVENTS
from schemas.events.registry import EventData, wire_type_of

EVENT_TYPES: dict[str, type[EventData]] = {**CONVERSATION_EVENTS, **AGENT_EVENTS}
"""Every current wire type (with version suffix) mapped to its data class."""

__all__ = ["EVENT_TYPES", "EventData", "wire_type_of"]
