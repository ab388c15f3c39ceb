"""Copies of the base corpus are new aggregates: every id changes, nothing else does."""

import re

import orjson
import pytest

from services.bench.variants import MAX_VARIANTS, rewrite, rewrite_subject

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EVENT = orjson.dumps({
    "id": "0f8e3c1a-1b2c-4d3e-9f00-112233445566",
    "subject": "7a6b5c4d-0000-4111-a222-333344445555",
    "type": "cc.conversation.assigned.v1",
    "data": {"agent_id": "sim7-agent-003", "note": "sim7-cust-000042"},
})


def test_variant_zero_is_the_original() -> None:
    assert rewrite(EVENT, 0, b"sim7-") == EVENT


def test_a_copy_changes_every_id_and_keeps_the_rest() -> None:
    copy = orjson.loads(rewrite(EVENT, 3, b"sim7-"))
    original = orjson.loads(EVENT)
    assert copy["id"] != original["id"] and UUID.fullmatch(copy["id"])
    assert copy["subject"] != original["subject"] and UUID.fullmatch(copy["subject"])
    assert copy["data"]["agent_id"] == "sim7v3-agent-003"
    assert copy["data"]["note"] == "sim7v3-cust-000042"
    assert copy["type"] == original["type"]


def test_every_variant_gives_distinct_ids() -> None:
    ids = {orjson.loads(rewrite(EVENT, v, b"sim7-"))["id"] for v in range(MAX_VARIANTS)}
    assert len(ids) == MAX_VARIANTS


def test_subject_rewrite_matches_the_event_rewrite() -> None:
    subject = orjson.loads(EVENT)["subject"]
    copied = orjson.loads(rewrite(EVENT, 5, b"sim7-"))
    assert rewrite_subject(subject, 5, "sim7-") == copied["subject"]
    assert rewrite_subject("sim7-agent-001", 5, "sim7-") == "sim7v5-agent-001"


def test_out_of_range_variants_are_refused() -> None:
    with pytest.raises(ValueError):
        rewrite(EVENT, MAX_VARIANTS, b"sim7-")
