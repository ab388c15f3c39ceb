"""Backlog: conversations open at an instant, per scope (pure).

A conversation is open from its start until it is resolved or abandoned, and again
from a reopen; it counts in the queue and channel of its latest fact before the
instant (an interval's backlog: open at its end, facts at the end itself belonging to
the next interval). Facts are taken in event-time order, so a late event counts where
its time says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from projections.kpi.facts import Fact

OPENS = frozenset({"started", "reopened"})
CLOSES = frozenset({"resolved", "abandoned"})


def open_at(facts: Iterable[Fact], scope_of: Callable[[Fact], str | None],
            instants: Iterable[datetime]) -> dict[tuple[str, datetime], int]:
    """(scope, instant) -> conversations open at the instant in that scope (scopes with
    none open are left out)."""
    ordered = sorted(facts, key=lambda f: f.at)
    where: dict[str, tuple[bool, str | None]] = {}
    counts: Counter[str] = Counter()
    found: dict[tuple[str, datetime], int] = {}
    i = 0
    for instant in sorted(set(instants)):
        while i < len(ordered) and ordered[i].at < instant:
            fact = ordered[i]
            i += 1
            was_open, was_scope = where.get(fact.conversation_id, (False, None))
            now_open = True if fact.kind in OPENS else False if fact.kind in CLOSES else was_open
            now_scope = scope_of(fact)
            if was_open and was_scope is not None:
                counts[was_scope] -= 1
            if now_open and now_scope is not None:
                counts[now_scope] += 1
            where[fact.conversation_id] = (now_open, now_scope)
        found.update(((scope, instant), n) for scope, n in counts.items() if n)
    return found
