"""Whether an agent can take a conversation's work by skills and language."""

from __future__ import annotations

from projections.agents.state import AgentState


def test_every_required_skill_must_be_held_at_the_required_proficiency() -> None:
    agent = AgentState(agent_id="a1", skills={"billing": 3, "fr": 5})
    assert agent.has_skills({})
    assert agent.has_skills({"billing": 3})
    assert agent.has_skills({"billing": 2, "fr": 5})
    assert not agent.has_skills({"billing": 4})
    assert not agent.has_skills({"billing": 1, "tech": 1})


def test_an_agent_stating_no_language_works_in_english() -> None:
    assert AgentState(agent_id="a1").speaks("en")
    assert not AgentState(agent_id="a1").speaks("es")
    bilingual = AgentState(agent_id="a2", languages=("es", "fr"))
    assert bilingual.speaks("fr")
    assert not bilingual.speaks("en")
