"""Agent load against capacity: sync channels take a whole slot, async ones share."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.agents.reducer import apply_change
from projections.agents.state import AgentState
from projections.changes import ConversationChange, Placement


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


def test_a_change_sent_again_without_before_does_not_move_the_assignment_time() -> None:
    t8, t9 = datetime(2026, 1, 1, 0, 0, 8, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 9, tzinfo=UTC)
    queued = Placement("queued", "billing", None, None)
    held = Placement("assigned", None, "a1", None)
    first = apply_change(None, "a1", ConversationChange("c1", "e1", t8, "chat", 0, t8, queued, held))
    again = apply_change(first, "a1", ConversationChange("c1", "e2", t9, "chat", 0, t8, None, held))
    assert again.last_assigned_at == t8
    assert again.holding == {"chat": ("c1",)}
