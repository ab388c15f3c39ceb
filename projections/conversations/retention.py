"""When a closed conversation may leave the live tables (pure: the shell supplies the clock).

A resolved or abandoned conversation stays live for a horizon after its last event (long
enough for a reopen, a late survey and the FCR window), then leaves the worker's tables
and the router's memory; PostgreSQL keeps its whole history. An event for it after that
finds no conversation and is dead-lettered as `unknown_conversation`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from projections.conversations.state import TERMINAL_PHASES, ConversationState

CLOSED_MARKERS: tuple[bytes, ...] = tuple(
    f'"phase":"{phase}"'.encode() for phase in sorted(TERMINAL_PHASES))
"""How a closed phase reads in a stored state's JSON (`state_codec.dump`). A quote inside
a string value is escaped, so no other field can contain these bytes."""


_LAST_EVENT_AT = b'"last_event_at":"'


def may_be_closed(raw: bytes) -> bool:
    """Whether a stored state can be a closed conversation, from its bytes (no decoding):
    False means certainly open."""
    return any(marker in raw for marker in CLOSED_MARKERS)


def may_have_expired(raw: bytes, now: datetime, horizon: timedelta) -> bool:
    """`expired` read off a stored state's bytes without decoding it: False means it
    certainly has not (open, or closed within the horizon); True, decode and ask `expired`."""
    if not may_be_closed(raw):
        return False
    at = raw.find(_LAST_EVENT_AT)
    if at < 0:
        return True
    start = at + len(_LAST_EVENT_AT)
    try:
        last = datetime.fromisoformat(raw[start:raw.index(b'"', start)].decode())
    except ValueError:
        return True
    return now - last > horizon


def expired(state: ConversationState, now: datetime, horizon: timedelta) -> bool:
    """Whether a closed conversation's last event lies more than `horizon` before `now`."""
    return state.phase in TERMINAL_PHASES and now - state.last_event_at > horizon


def behind(state: ConversationState, committed: int | None) -> bool:
    """Whether every record of the conversation lies before `committed` (the next offset
    to read of its partition, as committed), so that no redelivery can bring one back
    once it is gone. A state stored before positions were recorded is old enough."""
    if state.position is None:
        return True
    return committed is not None and state.position.offset < committed
