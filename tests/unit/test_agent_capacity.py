"""Agent load against capacity: sync channels take a whole slot, async ones share."""

from __future__ import annotations

from projections.agents.state import AgentState


def agent(**holding: tuple[str, ...]) -> AgentState:
    return AgentState(agent_id="a1", logged_in=True, status="available",
                      capacity={"voice": 1, "chat": 2, "messaging": 8}, holding=dict(holding))


def test_async_messaging_holds_up_to_its_capacity() -> None:
    assert agent(messaging=("m1", "m2", "m3")).free_slots("messaging") == 5
    assert agent(messaging=tuple(f"m{i}" for i in range(8))).free_slots("messaging") == 0


def test_a_voice_call_blocks_live_chat_but_not_messaging() -> None:
    on_call = agent(voice=("v1",))
    assert on_call.free_slots("chat") == 0
    assert on_call.free_slots("voice") == 0
    assert on_call.free_slots("messaging") == 8


def test_logged_out_agents_have_no_free_slots() -> None:
    assert AgentState(agent_id="a1", capacity={"chat": 2}).free_slots("chat") == 0


def test_channels_without_capacity_take_nothing() -> None:
    assert agent().free_slots("email") == 0
