"""The generated state loaders give what the generic one gave: the same state, or the same
error, for stored states of every kind, with fields missing, extra, renamed or of the
wrong type, and for what is not a JSON object at all."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, get_args, get_origin, get_type_hints

import orjson
from damage import damaged
from hypothesis import given, settings
from hypothesis import strategies as st
from test_live_equals_replay import logs

from projections import state_codec
from projections.agents.state import AgentState
from projections.changes import ConversationChange, change_between
from projections.conversations import reducer as conversations
from projections.conversations.state import ConversationState
from projections.evolve import evolve
from projections.queues.reducer import QueueState
from projections.replay import Sourced, fold_log
from projections.state_codec import dump, load
from schemas.topics import Family, family_of

CLASSES: tuple[type, ...] = (ConversationState, AgentState, QueueState, ConversationChange)
JUNK = st.sampled_from([None, "x", "", 1, 1.5, True, [], {}, ["a"], {"a": 1},
                        "2026-01-01T00:00:00Z", "not a time"])


def reference(hint: Any) -> Callable[[Any], Any]:
    """The generic loader as it was before the generated ones (the specification)."""
    origin = get_origin(hint)
    if hint is datetime:
        return datetime.fromisoformat
    if dataclasses.is_dataclass(hint):
        hints = get_type_hints(hint)
        fields = [(f.name, reference(hints[f.name])) for f in dataclasses.fields(hint)]
        former: dict[str, str] = getattr(hint, "FORMER_NAMES", {})
        cls: Any = hint

        def build(obj: Any) -> Any:
            renamed = {new: obj[old] for old, new in former.items()
                       if old in obj and new not in obj}
            obj = {**obj, **renamed} if renamed else obj
            return cls(**{name: conv(obj[name]) for name, conv in fields if name in obj})
        return build
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        conv = reference(inner)
        return lambda v: None if v is None else conv(v)
    if origin is tuple:
        item = reference(get_args(hint)[0])
        return lambda v: tuple(item(x) for x in v)
    if origin is dict:
        key_hint, value_hint = get_args(hint)
        key, value = reference(key_hint), reference(value_hint)
        return lambda v: {key(k): value(x) for k, x in v.items()}
    if hint is int:
        return int
    return lambda v: v


def outcome(load_: Callable[[Any], Any], obj: Any) -> tuple[str, Any, str]:
    """What loading gives: the value (and its repr, which tells 1 from 1.0), or the error."""
    try:
        value = load_(obj)
    except Exception as exc:  # noqa: BLE001 - the very error is what is compared
        return ("error", type(exc), str(exc))
    return ("ok", value, repr(value))


def stored(log: list[Sourced]) -> list[tuple[type, Any]]:
    """Every state the fold of `log` ends with, and every change it made, as JSON objects."""
    models = fold_log(log)
    out: list[tuple[type, Any]] = [(type(s), s) for s in (
        *models.conversations.values(), *models.agents.values(), *models.queues.values())]
    states: dict[str, ConversationState] = {}
    for event, position in log:
        if family_of(event.type) is not Family.CONVERSATION:
            continue
        before = states.get(event.subject)
        try:
            after = conversations.apply(before, event, position)
        except Exception:  # noqa: BLE001, S112 - rejected events change nothing
            continue
        states[event.subject] = after
        if change := change_between(before, after, event.id, event.time):
            out.append((ConversationChange, change))
    return [(cls, orjson.loads(dump(s))) for cls, s in out]


EXTRA_KEYS = ("extra", "seen_ids")


@given(logs())
@settings(max_examples=60, deadline=None)
def test_stored_states_and_changes_load_as_the_generic_loader_loads_them(log: list[Sourced],
                                                                         ) -> None:
    for cls, obj in stored(log):
        assert outcome(partial(load, cls), obj) == outcome(reference(cls), obj)
        assert load(cls, obj) == load(cls, orjson.dumps(obj))


@given(logs(), st.data())
@settings(max_examples=100, deadline=None)
def test_damaged_states_load_or_fail_as_the_generic_loader_does(log: list[Sourced],
                                                                data: st.DataObject) -> None:
    for cls, obj in stored(log)[:6]:
        broken = data.draw(damaged(obj, JUNK | st.just(["i1"]), EXTRA_KEYS))
        assert outcome(partial(load, cls), broken) == outcome(reference(cls), broken)


@given(st.sampled_from(CLASSES), JUNK | st.lists(st.sampled_from(("queue", "agent_id", "x"))))
def test_what_is_not_a_json_object_fails_as_it_did(cls: type, obj: Any) -> None:
    assert outcome(lambda o: load(cls, orjson.dumps(o)), obj) == outcome(reference(cls), obj)


def test_evolve_copies_every_field_and_changes_only_those_named() -> None:
    state = AgentState(agent_id="a1", name="Ann", skills={"billing": 3}, offered=("c1",))
    changed = evolve(state, name="Bea", offered=())
    assert changed == dataclasses.replace(state, name="Bea", offered=())
    assert state.name == "Ann" and changed is not state


def test_the_memo_forgets_the_oldest_state_first(monkeypatch: Any) -> None:
    monkeypatch.setattr(state_codec, "MEMO_SIZE", 3)
    monkeypatch.setattr(state_codec, "_memo", type(state_codec._memo)())
    states = [AgentState(agent_id=f"a{i}") for i in range(5)]
    stored = [state_codec.dump_remembered(s, s.agent_id.encode()) for s in states]
    assert [state_codec.load_remembered(AgentState, raw, s.agent_id.encode()) is s
            for s, raw in zip(states, stored, strict=True)] == [False, False, True, True, True]


def test_the_memo_keeps_one_state_per_key_and_only_for_its_bytes(monkeypatch: Any) -> None:
    monkeypatch.setattr(state_codec, "MEMO_SIZE", 3)
    monkeypatch.setattr(state_codec, "_memo", type(state_codec._memo)())
    old, new = AgentState(agent_id="a1"), AgentState(agent_id="a1", name="Ann")
    old_raw = state_codec.dump_remembered(old, b"a1")
    new_raw = state_codec.dump_remembered(new, b"a1")
    assert len(state_codec._memo) == 1  # a key's earlier versions are not kept
    assert state_codec.load_remembered(AgentState, bytes(new_raw), b"a1") is new  # equal bytes
    reloaded = state_codec.load_remembered(AgentState, old_raw, b"a1")  # not the latest
    assert reloaded == old and reloaded is not old
    assert state_codec.load_remembered(AgentState, new_raw, b"a2") is not new  # another key


def test_dumped_states_take_only_the_memory_of_their_length() -> None:
    # orjson's own bytes hold its whole ~16 KiB write buffer; a table holds one per key.
    import tracemalloc

    from projections.state_codec import dump
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [dump({"conversation_id": f"c-{n}", "messages_in": n}) for n in range(500)]
        grew = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grew < 500 * 512, f"{grew / 500:.0f} bytes per {len(kept[0])}-byte state"
