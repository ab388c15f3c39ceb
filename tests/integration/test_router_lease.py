"""Two routers of a new domain join its lease group: one holds the lease, and the group then
stays still. With two assignors aiokafka sent a JoinGroup per assignor, and the broker
rebalanced on each: the group rebalanced in a loop (aio-libs/aiokafka#1168)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from kafka import KafkaAdminClient
from tests_support import wait_for

from services.router.lease import Lease, group_of
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration
STILL_S = 4.0
"""How long the group is watched once settled: several heartbeats of both members."""


def _group(settings: Settings, domain: str) -> tuple[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        group = settings.group(group_of(domain))
        found = admin.describe_groups([group]).get(group, {})
        return found.get("group_state", ""), len(found.get("members", ()))
    finally:
        admin.close()


def _leases(settings: Settings, domain: str, stack: ExitStack) -> Iterator[Lease]:
    for name in ("a", "b"):
        lease = Lease(settings, domain, f"lease-test-{domain}-{name}")
        stack.callback(lease.close)
        yield lease


def test_two_routers_settle_on_one_holder_and_the_group_stays_still(settings: Settings) -> None:
    domain = f"lt{uuid.uuid4().hex[:6]}"
    with ExitStack() as stack:
        leases = list(_leases(settings, domain, stack))
        wait_for(lambda: _group(settings, domain) == ("Stable", 2)
                 and sum(lease.held() for lease in leases) == 1,
                 "both routers in a stable group, one holding the lease", 60)
        wins = [lease.generation for lease in leases]
        held = [lease.held() for lease in leases]
        deadline = time.monotonic() + STILL_S
        while time.monotonic() < deadline:  # watching for change, not waiting for one
            assert [lease.held() for lease in leases] == held
            time.sleep(0.05)
        assert [lease.generation for lease in leases] == wins, "the lease moved: a rebalance"
        assert _group(settings, domain) == ("Stable", 2)
        # Two members joining make at most two generations (the first alone, then both);
        # the loop made four and more (hundreds on a busy machine).
        assert max(lease.group_generation() for lease in leases) <= 2
