"""The lease goes to the router that held it last, never back to a paused ex-leader."""

from __future__ import annotations

from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

from services.router.lease_assignor import NEVER, LeaseAssignor, claim_of, lease_holder


class _Cluster:
    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}


def test_the_latest_holder_keeps_the_lease_and_newcomers_go_by_member_id() -> None:
    assert lease_holder({"a-1": 3, "b-1": 7}) == "b-1"  # a paused ex-leader stays a standby
    assert lease_holder({"b-1": NEVER, "a-1": NEVER}) == "a-1"
    assert lease_holder({"a-1": NEVER, "b-1": 2}) == "b-1"


def test_claims_that_are_not_ours_count_as_never() -> None:
    assert claim_of(b"12") == 12
    assert claim_of(b"") == claim_of(None) == claim_of(b"\xff junk") == NEVER


def test_the_assignment_gives_the_whole_topic_to_one_member() -> None:
    a, b = LeaseAssignor.for_process(), LeaseAssignor.for_process()
    a.held_in, b.held_in = 4, 9
    assert LeaseAssignor.held_in == NEVER  # each process's claim is its own
    members = {"a-1": a.metadata(["lease"]), "b-1": b.metadata(["lease"]),
               "c-1": ConsumerProtocolMemberMetadata(0, ["lease"], b"")}
    assigned = a.assign(_Cluster(), members)  # type: ignore[arg-type]
    assert {m: x.partitions() for m, x in assigned.items()} == {
        "a-1": [], "b-1": [("lease", 0)], "c-1": []}
