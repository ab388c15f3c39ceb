"""The states a projector last wrote or read, with the write stamp of their row (pure).

Loading a batch's conversations and agents back from PostgreSQL (transfer and JSON
parse of every state) was a fifth of the projector's time, though almost every one was
the state it had itself written a batch earlier. Each row carries the stamp of the batch
that last wrote it (`migrations/004_write_stamps.sql`); inside the transaction, with the
rows locked, the store reads the stamps only and takes from here every state whose row
still holds the stamp it was remembered with. Any other write changes the stamp, so a
remembered state is used only while it is exactly what the row holds.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.postgres.batch import BatchRows

S = TypeVar("S")


class KnownStates(Generic[S]):
    """Up to `size` states by key with their row's stamp, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._states: OrderedDict[str, tuple[int, S]] = OrderedDict()

    def get(self, key: str, stamp: int | None) -> S | None:
        """The state remembered for `key` if its row holds `stamp`, else None."""
        hit = self.peek(key)
        return hit[1] if hit is not None and stamp is not None and hit[0] == stamp else None

    def peek(self, key: str) -> tuple[int, S] | None:
        """The stamp and state remembered for `key`, whatever its row holds now."""
        hit = self._states.get(key)
        if hit is not None:
            self._states.move_to_end(key)
        return hit

    def remember(self, states: Iterable[tuple[str, int | None, S]]) -> None:
        """(key, stamp, state): each state as now stored in a row holding that stamp
        (None: a row that cannot be recognised, so its state is forgotten)."""
        for key, stamp, state in states:
            if stamp is None:
                self._states.pop(key, None)
                continue
            self._states[key] = (stamp, state)
            self._states.move_to_end(key)
        while len(self._states) > self._size:
            self._states.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (what was remembered may not have been stored)."""
        self._states.clear()

    def __len__(self) -> int:
        return len(self._states)


CONVERSATIONS_KEPT = 16_384
"""Conversations remembered: a few batches' worth, the ones whose next events come soon."""
AGENTS_KEPT = 4_096
"""Agents remembered: every agent of a large center (an agent is touched by most batches)."""


@dataclass(slots=True)
class Known:
    """What one projector (or rebuild) remembers of the rows it wrote and read."""

    conversations: KnownStates[ConversationState] = field(
        default_factory=lambda: KnownStates(CONVERSATIONS_KEPT))
    agents: KnownStates[AgentState] = field(default_factory=lambda: KnownStates(AGENTS_KEPT))

    def wrote(self, rows: BatchRows, stamp: int) -> None:
        """Remember the states of `rows`, as written with `stamp`."""
        self.conversations.remember((s.conversation_id, stamp, s) for s in rows.conversations)
        self.agents.remember((a.agent_id, stamp, a) for a in rows.agents)

    def clear(self) -> None:
        """Forget both."""
        self.conversations.clear()
        self.agents.clear()
