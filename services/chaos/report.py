"""The chaos run's table (pure)."""

from __future__ import annotations

from collections import Counter

from services.chaos.run import Outcome


def table(outcome: Outcome) -> str:
    kinds = Counter(kind for _, kind, _ in outcome.faults)
    rate = outcome.offered / outcome.traffic_s if outcome.traffic_s else 0.0
    refused = sum(n for answer, n in outcome.answers.items() if answer != "202")
    rows = [(f"fault: {kind}", f"{n:,}") for kind, n in sorted(kinds.items())]
    rows += [
        ("traffic", f"{outcome.traffic_s:,.0f} s, {rate:,.0f} events/s offered"),
        ("events offered", f"{outcome.offered:,}"),
        ("events accepted (202)", f"{outcome.offered - outcome.duplicates_answered:,}"),
        ("events answered as duplicates of a write in doubt", f"{outcome.duplicates_answered:,}"),
        ("requests refused with 503", f"{outcome.answers.get('503', 0):,}"),
        ("requests refused otherwise or cut off", f"{refused - outcome.answers.get('503', 0):,} "
         f"{dict((a, n) for a, n in outcome.answers.items() if a not in ('202', '503'))}"),
        ("offered events on the log", f"{outcome.on_log:,}"),
        ("events on the log (with the router's and the desks' end)", f"{outcome.log_events:,}"),
    ]
    rows += [(f"differences: {what}", f"{len(found):,}")
             for what, found in outcome.differences.items()]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def clean(outcome: Outcome) -> bool:
    return not any(outcome.differences.values())
