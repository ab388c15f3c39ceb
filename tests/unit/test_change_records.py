"""A re-keyed change record the worker wrote is not parsed again when it reads it back:
what it remembers equals, field types included, what parsing the bytes gives; and a
change that parsing would not rebuild exactly (a priority of 2.0, an offset with seconds)
is parsed as before."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
from event_strategies import T0
from hypothesis import given, settings
from test_live_equals_replay import logs

from projections.changes import ConversationChange, Placement
from projections.replay import Sourced
from projections.state_codec import load, recall_record
from schemas.codec import encode
from schemas.topics import Family, family_of
from streams.batches import BatchOutcome, Record, conversation_batch
from streams.steps import parse_changes

WAITING = Placement("queued", "billing", None, None)


def parsed(raw: bytes) -> list[ConversationChange]:
    """`parse_changes` without the memory of records written."""
    obj = orjson.loads(raw)
    return [load(ConversationChange, item) for item in (obj if isinstance(obj, list) else [obj])]


def records(out: BatchOutcome) -> list[bytes]:
    by_queue, by_agent = out.rekeyed()
    return [r.value for r in (*by_queue, *by_agent)]


@given(logs())
@settings(max_examples=100, deadline=None)
def test_a_record_read_back_gives_what_parsing_it_gives(log: list[Sourced]) -> None:
    convs: dict[bytes, bytes] = {}
    batch = [Record(e.subject.encode(), encode(e), p) for e, p in log
             if family_of(e.type) is Family.CONVERSATION]
    out = conversation_batch(batch, convs.get)
    for raw in records(out):
        assert recall_record(raw) is not None
        assert repr(parse_changes(raw)) == repr(parsed(raw))


def test_changes_that_would_not_parse_back_as_themselves_are_parsed() -> None:
    odd_offset = timezone(timedelta(hours=5, minutes=30, seconds=15))
    for change in (
            ConversationChange("c1", "e1", T0, "chat", 2.0, T0, None, WAITING),  # type: ignore[arg-type]
            ConversationChange("c2", "e2", datetime(2026, 1, 1, tzinfo=odd_offset), "chat", 2,
                               T0, None, WAITING),
            ConversationChange("c3", "e3", T0, "chat", 2,
                               datetime(2026, 1, 1, tzinfo=odd_offset), None, WAITING)):
        out = BatchOutcome()
        out.add_change(change)
        (raw,) = records(out)
        assert recall_record(raw) is None
        assert repr(parse_changes(raw)) == repr(parsed(raw)) != repr([change])


def test_changes_in_whole_minute_offsets_are_remembered() -> None:
    india = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    change = ConversationChange("c4", "e4", india, "chat", 3, india, None, WAITING)
    out = BatchOutcome()
    out.add_change(change)
    (raw,) = records(out)
    assert parse_changes(raw) == [change] == parsed(raw)
    assert repr(parse_changes(raw)) == repr(parsed(raw))
