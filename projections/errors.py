"""The one error a reducer raises: an event that breaks the lifecycle."""

from __future__ import annotations


class LifecycleError(ValueError):
    """The event is valid on its own but impossible in the aggregate's current state
    (a message for an unknown conversation, a second resolve...). Shells dead-letter it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
