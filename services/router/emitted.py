"""Decisions as the events the router writes: to `cc.conversations`, and an agent set away
after a missed offer to `cc.agents` (pure).

Event ids are derived from the conversation's position in the log (how many events
it has had) and the decision, so a standby that takes over and reaches the same
decision at the same point writes the same id, which every reducer drops as a
duplicate: a decision is never applied twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from schemas.envelope import Envelope, new_event
from schemas.events.agent import AgentStatusChanged
from schemas.events.conversation import Assigned, Offered, OfferExpired, Transferred
from services.router.model import Pending, RoutingModel
from services.router.policy import Assign, Decision, Expire, Offer, Overflow, SetAway

NAMESPACE = uuid.UUID("5b0c5a53-7d0e-4a8c-9c3e-3f1f9d2b7a10")


def decision_event(decision: Decision, model: RoutingModel, *, source: str,
                   now: datetime) -> tuple[Envelope[Any], Pending]:
    """The event that carries `decision`, and what it reserves until read back."""
    conv = model.conversations[decision.conversation_id]
    data: object
    agent: str | None = None
    subject: str = conv.conversation_id
    channel: str | None = conv.channel
    match decision:
        case Offer(agent_id=agent_id, expires_at=expires):
            data, agent = Offered(agent_id=agent_id, expires_at=expires), agent_id
        case Assign(agent_id=agent_id):
            data = Assigned(agent_id=agent_id)
            agent = agent_id if conv.phase == "queued" else None
        case Expire(agent_id=agent_id):
            data = OfferExpired(agent_id=agent_id)
        case Overflow(from_queue=from_queue, to_queue=to_queue):
            data = Transferred(from_queue=from_queue, to_queue=to_queue, reason="overflow")
        case SetAway(agent_id=agent_id):
            # The agent's event (on `cc.agents`); it holds the whole agent until read back.
            data = AgentStatusChanged(status="away",
                                      aux_code=model.config.routing.missed_offer_aux_code)
            agent, subject, channel = agent_id, agent_id, None
    name = f"{conv.conversation_id}/{conv.events}/{type(decision).__name__}/{agent or ''}"
    event: Envelope[Any] = new_event(data, subject=subject, source=source, time=now,
                                     id=str(uuid.uuid5(NAMESPACE, name)))
    return event, Pending(conv.conversation_id, agent, channel)
