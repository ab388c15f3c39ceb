"""KPI figures of one scope and interval, from its facts and the definitions (pure).

The formulas, each as implemented (T: the queue's service-level threshold, S: its
short-abandon limit; a fact belongs to the interval holding its instant `at`):

- volume: conversations started.
- channel_mix: started per channel ÷ volume.
- service_level (Genesys): answered with wait ≤ T ÷ (answered + abandoned with wait
  > T); abandons with wait < S are excluded from both.
- service_level_connect (Amazon Connect): (answered with wait ≤ T + abandoned with
  wait ≤ T) ÷ queued.
- abandonment_rate: abandoned with wait ≥ S ÷ queued; short_abandons: wait < S, apart.
- asa: wait of each answer (first queued → first assigned).
- first_response_customer: first customer message → first human reply.
- first_response_agent: first assignment → that agent's first reply.
- next_response: oldest unanswered customer message → the next human reply, for
  replies after the first.
- aht: assignment → the agent's end of it (resolved, transferred or re-queued).
- async_engagement: of async holds, the seconds it was the agent's turn
  (`projections.kpi.engagement`).
- resolution_time: first customer message (else start) → resolved; resolved: count.
- transfer_rate, escalation_rate: transfers, escalations ÷ handled (ended holds).
- reopen_rate: reopens ÷ resolved.
- fcr: resolutions with one agent at most, no transfer or escalation and no recontact
  (reopen, or a new conversation from the customer) within the recontact window ÷
  resolutions (`projections.kpi.recontact`).
- containment: resolutions of bot-started conversations that never reached a human and
  had no recontact within the window ÷ resolutions of bot-started conversations.
- csat: answers scoring 4-5 ÷ answers with a CSAT score; nps: (answers 9-10 − answers
  0-6) ÷ answers with an NPS score; ces: mean and percentiles of CES scores;
  survey_response_rate: surveys answered ÷ surveys sent.

Waits are in seconds; rates carry numerator and denominator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from projections.kpi.definitions import Definitions
from projections.kpi.durations import DurationSummary, summarize
from projections.kpi.engagement import Turns, engagement, turns_of
from projections.kpi.facts import Fact
from projections.kpi.recontact import Recontacts, contained, first_contact, gather


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        """numerator ÷ denominator; None when there is nothing to divide by."""
        return self.numerator / self.denominator if self.denominator else None


Figure = int | float | Rate | DurationSummary | dict[str, Rate]


def figures(facts: Iterable[Fact], definitions: Definitions,
            known: Recontacts | None = None, turns: Turns | None = None) -> dict[str, Figure]:
    """Every conversation KPI of the facts of one scope and interval; `known` and `turns`:
    what the whole log says of recontacts and agent turns (gathered from these facts
    alone when not given)."""
    facts = list(facts)
    known = gather(facts) if known is None else known
    turns = turns_of(facts) if turns is None else turns
    by_kind: dict[str, list[Fact]] = {}
    for fact in facts:
        by_kind.setdefault(fact.kind, []).append(fact)

    def of(kind: str) -> list[Fact]:
        return by_kind.get(kind, [])

    def waits(kind: str) -> DurationSummary:
        return summarize(f.seconds for f in of(kind) if f.seconds is not None)

    started, queued, handled, resolved = of("started"), of("queued"), of("handled"), of("resolved")
    bot_resolved = [f for f in resolved if f.started_by == "bot"]
    answered_in_t = sum(1 for f in of("answered") if _within(f, definitions))
    abandons = [(f, definitions.of(f.queue)) for f in of("abandoned")]
    short = sum(1 for f, d in abandons if (f.seconds or 0.0) < d.short_abandon_s)
    counted_abandons = [(f, d) for f, d in abandons if (f.seconds or 0.0) >= d.short_abandon_s]
    late_abandons = sum(1 for f, d in counted_abandons
                        if (f.seconds or 0.0) > d.service_level_threshold_s)
    early_abandons = sum(1 for f, d in abandons
                         if (f.seconds or 0.0) <= d.service_level_threshold_s)
    channels = Counter(f.channel for f in started)
    csat = [f.scores[0] for f in of("survey_answered") if f.scores[0] is not None]
    nps = [f.scores[1] for f in of("survey_answered") if f.scores[1] is not None]
    ces = [float(f.scores[2]) for f in of("survey_answered") if f.scores[2] is not None]
    return {
        "volume": len(started),
        "channel_mix": {c: Rate(n, len(started)) for c, n in sorted(channels.items())},
        "service_level": Rate(answered_in_t, len(of("answered")) + late_abandons),
        "service_level_connect": Rate(answered_in_t + early_abandons, len(queued)),
        "abandonment_rate": Rate(len(counted_abandons), len(queued)),
        "short_abandons": short,
        "asa": waits("answered"),
        "first_response_customer": waits("first_response_customer"),
        "first_response_agent": waits("first_response_agent"),
        "next_response": waits("next_response"),
        "aht": waits("handled"),
        "async_engagement": summarize(engagement(f, turns) for f in handled
                                      if f.mode == "async"),
        "resolution_time": waits("resolved"),
        "resolved": len(resolved),
        "transfer_rate": Rate(len(of("transferred")), len(handled)),
        "escalation_rate": Rate(len(of("escalated")), len(handled)),
        "reopen_rate": Rate(len(of("reopened")), len(resolved)),
        "fcr": Rate(sum(1 for f in resolved if first_contact(
            f, known, definitions.of(f.queue).recontact_window_s)), len(resolved)),
        "containment": Rate(sum(1 for f in bot_resolved if contained(
            f, known, definitions.of(f.queue).recontact_window_s)), len(bot_resolved)),
        "csat": Rate(sum(1 for s in csat if s >= 4), len(csat)),
        "nps": Rate(sum(1 for s in nps if s >= 9) - sum(1 for s in nps if s <= 6), len(nps)),
        "ces": summarize(ces),
        "survey_response_rate": Rate(len(of("survey_answered")), len(of("survey_sent"))),
    }


def _within(answer: Fact, definitions: Definitions) -> bool:
    threshold = definitions.of(answer.queue).service_level_threshold_s
    return answer.seconds is not None and answer.seconds <= threshold
