"""Post-resolution surveys: who gets one, who answers, and what they answer.

Scores follow the skew real CSAT data shows (most 4-5, a tail of 1s); a
conversation that was transferred or escalated scores lower. NPS and CES are
drawn around the CSAT so the three agree the way real answers do.
"""

from __future__ import annotations

from schemas.events.conversation import SurveyAnswered, SurveySent
from services.simulator import lines
from services.simulator.world import ConversationState, World

CSAT_WEIGHTS = (0.06, 0.05, 0.10, 0.29, 0.50)
CSAT_WEIGHTS_TROUBLED = (0.20, 0.15, 0.20, 0.25, 0.20)


def plan_survey(world: World, conv: ConversationState) -> None:
    """Send a survey shortly after resolution; a share of customers answer it later."""
    survey_id = f"{conv.id}:survey"

    def send() -> None:
        world.emit(conv.id, SurveySent(survey_id=survey_id))
        if world.chance(world.config.survey_response_share):
            delay = world.rng.expovariate(1 / 600) + 30
            world.after(delay, world.guarded(conv, answer))

    def answer() -> None:
        world.emit(conv.id, answers(world, conv, survey_id))

    world.after(world.rng.uniform(5, 60), world.guarded(conv, send))


def answers(world: World, conv: ConversationState, survey_id: str) -> SurveyAnswered:
    """One customer's CSAT (always), NPS and CES (often) and a comment (sometimes)."""
    rng = world.rng
    weights = CSAT_WEIGHTS_TROUBLED if conv.troubled else CSAT_WEIGHTS
    csat = rng.choices(range(1, 6), weights=weights)[0]
    nps = min(10, max(0, 2 * csat + rng.randint(-2, 1))) if world.chance(0.6) else None
    ces = min(7, max(1, csat + rng.randint(0, 2))) if world.chance(0.5) else None
    comment = rng.choice(lines.SURVEY_COMMENTS) if world.chance(0.25) else ""
    return SurveyAnswered(survey_id=survey_id, csat=csat, nps=nps, ces=ces, comment=comment)
