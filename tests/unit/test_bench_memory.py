"""The memory phase's pure parts: the corpus split by outcome and the cost per open
conversation."""

import pytest

from projections.conversations.state import TERMINAL_PHASES
from projections.replay import fold
from schemas.codec import decode
from schemas.topics import CONVERSATIONS
from services.bench.corpus import Variants, generate, split_by_outcome
from services.bench.memory_phase import per_10k_mb, total_mb


def test_the_corpus_splits_into_conversations_that_all_close_and_that_all_stay_open() -> None:
    base = generate(3000)
    outcomes = split_by_outcome(base)
    closed = fold(decode(e.raw) for e in outcomes.closed).conversations
    still_open = fold(decode(e.raw) for e in outcomes.open).conversations
    assert closed and still_open
    assert all(s.phase in TERMINAL_PHASES for s in closed.values())
    assert not any(s.phase in TERMINAL_PHASES for s in still_open.values())
    assert (len(closed), len(still_open)) == (outcomes.closed_conversations,
                                              outcomes.open_conversations)
    conversation_events = [e for e in base if e.topic == CONVERSATIONS]
    assert len(conversation_events) == sum(
        1 for e in outcomes.closed + outcomes.open if e.topic == CONVERSATIONS)


def test_variants_never_hand_out_the_same_copy_twice() -> None:
    base = generate(200)
    variants = Variants()
    first = list(variants.copies(base, 300))  # two copies
    second = list(variants.copies(base, 10))
    assert variants.next == 3
    assert not {e.subject for e in first} & {e.subject for e in second}


def test_rss_per_10000_open_conversations_is_the_slope_in_mb() -> None:
    points = [(0, 200 * 1024.0), (10_000, 225 * 1024.0), (20_000, 251 * 1024.0),
              (30_000, 275 * 1024.0)]
    assert per_10k_mb(points) == pytest.approx(25.1)
    assert total_mb({"worker": 1024, "worker-2": 2048}) == 3.0
