"""Queue staffing: per queue, the agents eligible for what waits there and available for it
now, counted with the agents' own eligibility methods."""

from __future__ import annotations

import pytest

from projections.agents.state import AgentState
from projections.queues.staffing import Need, Staffing, staffing


def agent(agent_id: str = "a1", *, logged_in: bool = True, status: str = "available",
          skills: dict[str, int] | None = None, languages: tuple[str, ...] = (),
          capacity: dict[str, int] | None = None,
          holding: dict[str, tuple[str, ...]] | None = None) -> AgentState:
    return AgentState(agent_id=agent_id, logged_in=logged_in, status=status,
                      skills={"billing": 3} if skills is None else skills, languages=languages,
                      capacity={"voice": 1, "chat": 2, "messaging": 8} if capacity is None
                      else capacity, holding=holding or {})


def need(queue: str = "billing", channel: str = "chat", language: str = "en",
         skills: dict[str, int] | None = None) -> Need:
    return Need(queue, channel, language, {"billing": 3} if skills is None else skills)


CASES: list[tuple[str, list[AgentState], list[Need], dict[str, Staffing]]] = [
    ("an agent stating no language works in English",
     [agent()], [need(language="en")], {"billing": Staffing(1, 1)}),
    ("an agent stating no language does not work in French",
     [agent()], [need(language="fr")], {"billing": Staffing(0, 0)}),
    ("an agent stating French only does not work in English",
     [agent(languages=("fr",))], [need(language="en")], {"billing": Staffing(0, 0)}),
    ("a skill held at the required level fits",
     [agent(skills={"billing": 3})], [need(skills={"billing": 3})], {"billing": Staffing(1, 1)}),
    ("a skill held below the required level does not fit",
     [agent(skills={"billing": 2})], [need(skills={"billing": 3})], {"billing": Staffing(0, 0)}),
    ("a missing skill is proficiency 0",
     [agent(skills={})], [need(skills={"billing": 1})], {"billing": Staffing(0, 0)}),
    ("no required skill: any agent speaking the language fits",
     [agent(skills={})], [need(skills={})], {"billing": Staffing(1, 1)}),
    ("a logged-out agent has no slots and counts nowhere",
     [agent(logged_in=False)], [need()], {"billing": Staffing(0, 0)}),
    ("an agent not available is eligible but not available",
     [agent(status="busy")], [need()], {"billing": Staffing(1, 0)}),
    ("an agent on a voice call has no chat slot now",
     [agent(holding={"voice": ("v1",)})], [need(channel="chat")], {"billing": Staffing(1, 0)}),
    ("an agent on a live chat has no voice slot now",
     [agent(holding={"chat": ("c1",)})], [need(channel="voice")], {"billing": Staffing(1, 0)}),
    ("a call does not block asynchronous messaging",
     [agent(holding={"voice": ("v1",)})], [need(channel="messaging")],
     {"billing": Staffing(1, 1)}),
    ("messaging up to its capacity",
     [agent(capacity={"messaging": 2}, holding={"messaging": ("m1", "m2")})],
     [need(channel="messaging")], {"billing": Staffing(1, 0)}),
    ("no stated capacity on the channel: no slot",
     [agent(capacity={"chat": 1})], [need(channel="email")], {"billing": Staffing(1, 0)}),
    ("available through any waiting conversation it fits with a free slot",
     [agent(holding={"voice": ("v1",)})], [need(channel="chat"), need(channel="messaging")],
     {"billing": Staffing(1, 1)}),
    ("a free slot counts only on a conversation the agent fits",
     [agent(holding={"voice": ("v1",)})],
     [need(channel="chat"), need(channel="messaging", skills={"billing": 5})],
     {"billing": Staffing(1, 0)}),
    ("an agent fitting several conversations of a queue counts once there",
     [agent()], [need(language="en"), need(channel="messaging")], {"billing": Staffing(1, 1)}),
    ("an agent fitting several queues counts in each",
     [agent(skills={"billing": 3, "tech": 1})],
     [need(), need(queue="tech", skills={"tech": 1})],
     {"billing": Staffing(1, 1), "tech": Staffing(1, 1)}),
    ("agents are counted one by one",
     [agent("a1"), agent("a2", status="away"), agent("a3", skills={}), agent("a4")],
     [need()], {"billing": Staffing(3, 2)}),
    ("a queue with waiting work and no agents is listed with zeros",
     [], [need()], {"billing": Staffing(0, 0)}),
    ("nothing waiting: no queues", [agent()], [], {}),
]


@pytest.mark.parametrize(("agents", "needs", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_staffing_counts_the_agents_eligible_and_available_per_queue(
        agents: list[AgentState], needs: list[Need], expected: dict[str, Staffing]) -> None:
    assert staffing(agents, needs) == expected
