"""CPython's cyclic garbage collector, set for processes that fold events in batches.

The worker and the projector fold up to 2,000 records at a time, and the states, events
and changes of a batch live until the batch is stored. With the default young
generation (700 objects) most of them outlive two young collections and reach the old
generation, whose full collections then walk every long-lived object again (the
worker's memo of decoded states, the projector's loaded states, Faust's and the
consumers' own objects): 10-35 % of the folds' time in the bench. A young generation
larger than what a batch keeps alive lets those objects die young, and what start-up
built is frozen out of every later collection.

Nothing is freed later than before except garbage in reference cycles: reference
counting still frees everything else at once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 50_000
"""Objects allocated (net) before a young collection; CPython's default is 700."""


def for_batches() -> None:
    """Set this process up for batch folds: freeze what exists now (imports, the app and
    its wiring) and enlarge the young generation. Called once, when start-up is done."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, older, oldest)


@contextmanager
def batch_folds() -> Iterator[None]:
    """`for_batches` for the span of a measurement, then as before: the bench times the
    folds as the worker and the projector run them, and its own data (the corpus in
    memory) stays out of their collections, as it is out of those processes."""
    thresholds = gc.get_threshold()
    for_batches()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
