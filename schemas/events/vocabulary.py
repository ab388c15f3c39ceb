"""Closed vocabularies shared by the event catalog."""

from typing import Literal, get_args

Channel = Literal["chat", "voice", "sms", "messaging", "email", "social"]
"""Where a conversation happens. chat and voice are synchronous."""

CHANNELS: tuple[str, ...] = get_args(Channel)

Mode = Literal["sync", "async"]

SYNC_CHANNELS: frozenset[str] = frozenset({"chat", "voice"})

Priority = int
"""0 (lowest) .. 10 (highest); VIP, negative sentiment and SLA risk raise it."""

StartedBy = Literal["bot", "customer"]
AuthorType = Literal["agent", "bot"]
Sentiment = Literal["negative", "neutral", "positive"]
ConversationStatus = Literal["open", "pending_customer", "on_hold"]
ResolvedBy = Literal["agent", "bot", "customer"]
AgentStatus = Literal["available", "busy", "away", "after_contact_work"]


def mode_of(channel: str) -> Mode:
    """The default mode of a channel: live chat and voice are one-at-a-time."""
    return "sync" if channel in SYNC_CHANNELS else "async"
