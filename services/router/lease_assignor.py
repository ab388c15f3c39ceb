"""Who gets the lease when the routers of a domain join: the one that held it last.

With aiokafka's assignors the lease goes to whichever member sorts first. A router
that was paused past its session timeout, and so replaced by a standby, would then
take the lease back as soon as it rejoins: a second takeover (fencing the standby,
reading the log up to its end again) for nothing. Each router instead tells the group
the generation in which it last held the lease, and the group's leader gives it to the
most recent holder still present; a group of newcomers gives it to the first by member
id. (aiokafka's sticky assignor would do this, but aiokafka never tells it the
generation, so two claims cannot be ordered.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

NEVER = -1
"""The claim of a router that has not held the lease."""


def lease_holder(claims: Mapping[str, int]) -> str:
    """The member that gets the lease: the latest generation claimed, ties (newcomers)
    to the lowest member id (pure)."""
    return min(claims, key=lambda member: (-claims[member], member))


def claim_of(user_data: bytes | None) -> int:
    """The generation a member says it last held the lease in (NEVER if it says nothing
    this module wrote)."""
    try:
        return int((user_data or b"").decode("ascii"))
    except ValueError:
        return NEVER


class LeaseAssignor(AbstractPartitionAssignor):
    """All of the lease topic to one member (`lease_holder`), nothing to the others.
    Use `for_process()`: the claim is state of one consumer, kept on its own class."""

    name = "switchboard-lease"
    version = 0
    held_in = NEVER
    """The group generation in which this process last got the lease."""

    @classmethod
    def for_process(cls) -> type[LeaseAssignor]:
        return type("LeaseAssignor", (cls,), {"held_in": NEVER})

    @classmethod
    def metadata(cls, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        return ConsumerProtocolMemberMetadata(cls.version, sorted(topics),
                                              str(cls.held_in).encode("ascii"))

    @classmethod
    def assign(cls, cluster: ClusterMetadata, members: Mapping[str, ConsumerProtocolMemberMetadata],
               ) -> dict[str, ConsumerProtocolMemberAssignment]:
        holder = lease_holder({m: claim_of(meta.user_data) for m, meta in members.items()})
        assignments = {}
        for member, meta in members.items():
            parts = ([(topic, sorted(cluster.partitions_for_topic(topic) or ()))
                      for topic in sorted(meta.subscription)] if member == holder else [])
            assignments[member] = ConsumerProtocolMemberAssignment(cls.version, parts, b"")
        return assignments

    @classmethod
    def on_assignment(cls, assignment: ConsumerProtocolMemberAssignment) -> None:
        """The claim is recorded by the lease's rebalance listener, which knows the
        generation (this callback is not told it)."""
