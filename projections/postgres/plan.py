"""Fold a batch ahead, from remembered states, while PostgreSQL writes the one before (pure).

The projector's writes wait on PostgreSQL for about a third of a batch's time. So it
folds the next batch meanwhile, from the states it remembers having written
(`known_states`), and records which row stamps that fold assumed. The writer then
locks those rows and checks the stamps before writing (`writer.write_planned`): if
any row or offset is not as assumed (another writer, a write that failed), nothing
is written and the batch is folded again from what is stored. Rows equal what the
batch path (`batch.project`) would write: the same folds over the same states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.postgres.batch import (
    BatchRows,
    DecodedBatch,
    TopicPartition,
    agent_ids,
    conversation_ids,
    fold_conversations,
    project,
)
from projections.postgres.known_states import Known
from schemas.events.conversation import ConversationStarted


@dataclass(frozen=True, slots=True)
class Planned:
    """A batch folded ahead: its rows and what the fold assumed PostgreSQL holds."""

    batch: DecodedBatch
    rows: BatchRows
    stamp: int
    """The stamp its conversation and agent rows are written with."""
    conversations: Mapping[str, int | None]
    """Each conversation's row stamp as assumed (None: no row: it starts in this batch)."""
    agents: Mapping[str, int]
    """Each agent's row stamp as assumed."""
    first_offsets: Mapping[TopicPartition, int]
    """The batch's lowest offset per partition: none of it may be projected already."""


def plan(batch: DecodedBatch, known: Known, stamp: int) -> Planned | None:
    """The batch folded over the remembered states, or None when it needs a state that is
    not remembered (then it is projected the ordinary way, loading what it needs)."""
    starting = _starting(batch)
    conversations: dict[str, ConversationState] = {}
    assumed: dict[str, int | None] = {}
    for cid in conversation_ids(batch):
        hit = known.conversations.peek(cid)
        if hit is not None:
            assumed[cid], conversations[cid] = hit
        elif cid in starting:
            assumed[cid] = None
        else:
            return None
    folded = fold_conversations(batch, conversations)
    agents: dict[str, AgentState] = {}
    agent_stamps: dict[str, int] = {}
    for aid in agent_ids(folded):
        agent = known.agents.peek(aid)
        if agent is None:
            return None
        agent_stamps[aid], agents[aid] = agent
    return Planned(batch, project(folded, agents), stamp, assumed, agent_stamps,
                   _first_offsets(batch))


def _starting(batch: DecodedBatch) -> set[str]:
    """Conversations whose first event in the batch starts them (assumed not stored)."""
    first: dict[str, bool] = {}
    for _, event in batch.events:
        if event.subject not in first:
            first[event.subject] = isinstance(event.data, ConversationStarted)
    return {cid for cid, starts in first.items() if starts}


def _first_offsets(batch: DecodedBatch) -> dict[TopicPartition, int]:
    positions = [(r.topic, r.partition, r.offset) for r, _ in batch.events]
    positions += [(r.topic, r.partition, r.offset) for r in batch.rejects]
    out: dict[TopicPartition, int] = {}
    for topic, partition, offset in positions:
        out[(topic, partition)] = min(offset, out.get((topic, partition), offset))
    return out
