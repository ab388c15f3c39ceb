"""The router process: fold the log, hold the lease, decide, write decisions.

One thread, one loop: read what is new, fold it, and if this instance holds the
domain's lease and has read the log up to where it stood when the lease was won,
run a policy pass (after every batch of events, and at least once per tick for
timeouts) and write the pass's decisions in one transaction of the domain's fenced
writer (`services.router.fenced_writer`: a paused ex-leader's writes are refused by
the broker). A decision counts as pending from its commit until it is read back.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kafka.errors import KafkaError

from projections.dedupe import Position
from schemas.codec import encode
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import Family, family_of
from services.router import snapshot
from services.router.config import ConfigError, RoutingConfig, default_config, parse_config
from services.router.emitted import decision_event
from services.router.feed import Feed, Offsets
from services.router.fenced_writer import Fenced, FencedWriter
from services.router.lease import Lease
from services.router.model import RoutingModel, serves, shared_with
from services.router.policy import Decision, decide
from services.router.snapshot import SnapshotError
from services.runtime.file_watch import FileWatch
from services.runtime.kafka_clients import BrokerUnavailable, ensure_topics
from services.runtime.settings import CLOSED_HORIZON_S, Settings
from services.runtime.stop_signals import forward_early_stop

log = logging.getLogger("switchboard.router")

REPORT_EVERY_S = 5.0
SNAPSHOT_EVERY_S = 60.0
"""How often the model is saved when the router is given a snapshot file."""


def load_config(path: Path | None, closed_horizon_s: float = CLOSED_HORIZON_S) -> RoutingConfig:
    """The configuration in `path` (the defaults when None), with the settings' horizon of
    closed conversations; ConfigError says what is wrong."""
    if path is None:
        return default_config(closed_horizon_s)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    return parse_config(text, closed_horizon_s)


@dataclass(slots=True)
class RouterStats:
    decisions: int = 0
    passes: int = 0
    produce_errors: int = 0
    fenced: int = 0
    """Passes whose decisions the broker refused because another router took over."""
    leader: bool = False
    caught_up: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)


class Router:
    def __init__(self, settings: Settings, domain: str, instance: str, config_path: Path | None,
                 config: RoutingConfig, snapshot_path: Path | None = None,
                 snapshot_every_s: float = SNAPSHOT_EVERY_S) -> None:
        if domain not in config.domains:
            raise ConfigError([f"domains: no domain {domain!r} (have {sorted(config.domains)})"])
        self.domain, self.instance = domain, instance
        self.source = f"switchboard/router/{domain}/{instance}"
        self.model = RoutingModel(config)
        self.watch = FileWatch(config_path, lambda p: load_config(p, settings.closed_horizon_s),
                               "routing config")
        client = f"switchboard-router-{domain}-{instance}"
        self.feed = Feed(settings, client)
        self.snapshot_path, self.snapshot_every_s = snapshot_path, snapshot_every_s
        self._last_snapshot = time.monotonic()
        self._shared_agents: set[str] = set()
        """Agents already warned about as served by more than one domain."""
        self._saving: tuple[int, int] | None = None
        """The child writing a snapshot, and how many events it holds."""
        if snapshot_path is not None:
            self._restore(snapshot_path, config)
        self.lease = Lease(settings, domain, client)
        self.writer = FencedWriter(settings, domain, client)
        self.topic_of = settings.topic_for_type
        """The topic on the cluster a decision of a type goes to."""
        self.tick_s = config.routing.tick_ms / 1000
        self.stats = RouterStats()
        self._target: Offsets | None = None
        self._last_pass = 0.0
        self._fenced_in: int | None = None
        """The lease generation in which the broker fenced this router's writer."""
        self.stopping = False

    def run(self) -> None:
        last_report = time.monotonic()
        while not self.stopping:
            try:
                events = self.feed.poll(timeout_ms=max(1, int(self.tick_s * 1000 / 2)))
            except KafkaError as exc:
                log.error("cannot read the log (%s); retrying in 1 s", exc)
                time.sleep(1.0)  # back-off while the broker is away
                continue
            relevant = False
            for event, position in events:
                self._fold(event, position)
                relevant = relevant or self._concerns_domain(event)
            if (config := self.watch.changed()) is not None:
                self._reconfigure(config)
            self._route(relevant)
            if time.monotonic() - last_report >= REPORT_EVERY_S:
                last_report = time.monotonic()
                self._report()
            self._reap_snapshot()
            if time.monotonic() - self._last_snapshot >= self.snapshot_every_s:
                self._snapshot()

    def _restore(self, path: Path, config: RoutingConfig) -> None:
        try:
            taken = snapshot.restore(path, config)
            refused = None if taken is None else self.feed.resume(taken.marks)
        except SnapshotError as exc:
            taken, refused = None, str(exc)
        if taken is None or refused is not None:
            log.warning("%s; reading the log from offset 0",
                        f"no snapshot at {path} yet" if refused is None
                        else f"snapshot {path} not used: {refused}")
            return
        self.model = taken.model
        log.warning("restored snapshot %s (%d events folded, %d conversations, %d agents); "
                    "reading the log on from there", path, self.model.applied,
                    len(self.model.conversations), len(self.model.agents))

    def _snapshot(self) -> None:
        """Start saving the model and the feed's marks in a child process (taken between
        polls, so they agree); one at a time."""
        if self.snapshot_path is None or self._saving is not None:
            return
        self._last_snapshot = time.monotonic()
        try:
            marks = self.feed.marks()
            pid = snapshot.save_in_background(self.snapshot_path, self.model, marks)
        except (OSError, KafkaError) as exc:
            log.error("could not start a snapshot to %s (%s); routing goes on, and the next "
                      "try is in %.0f s", self.snapshot_path, exc, self.snapshot_every_s)
            return
        self._saving = (pid, self.model.applied)

    def _reap_snapshot(self, wait: bool = False) -> None:
        if self._saving is None:
            return
        pid, applied = self._saving
        done, status = os.waitpid(pid, 0 if wait else os.WNOHANG)
        if not done:
            return
        self._saving = None
        took_ms = (time.monotonic() - self._last_snapshot) * 1000
        if os.waitstatus_to_exitcode(status) == 0:
            log.info("snapshot %s: %d events folded, written in %.0f ms", self.snapshot_path,
                     applied, took_ms)
        else:
            log.error("snapshot to %s failed (see the error above); the previous one stays, "
                      "and the next try is in %.0f s", self.snapshot_path, self.snapshot_every_s)

    def _final_snapshot(self) -> None:
        """On the way out: wait for a snapshot being written, then write the last one."""
        self._reap_snapshot(wait=True)
        self._snapshot()
        self._reap_snapshot(wait=True)

    def _fold(self, event: Envelope[EventData], position: Position) -> None:
        try:
            self.model.apply(event, position)
        except Exception:  # noqa: BLE001 - one bad event must not stop routing
            self.model.rejected["internal_error"] += 1
            log.exception("event %s (%s) could not be folded; skipped", event.id, event.type)
            return
        if family_of(event.type) is Family.AGENT and event.subject not in self._shared_agents:
            self._warn_if_shared(event.subject)

    def _warn_if_shared(self, agent_id: str) -> None:
        agent = self.model.agents.get(agent_id)
        domains = [] if agent is None else shared_with(self.model.config, self.domain, agent)
        if domains:
            self._shared_agents.add(agent_id)
            log.warning("agent %s is served by domains %s: their routers may both fill its last "
                        "slot for a moment; give it the skills of one domain's agent_skills only "
                        "(warned once per agent)", agent_id, ", ".join(domains))

    def _concerns_domain(self, event: Envelope[EventData]) -> bool:
        """Whether the event may change a decision of this domain (other domains' traffic
        waits for the next tick instead of triggering a pass)."""
        if family_of(event.type) is Family.AGENT:
            agent = self.model.agents.get(event.subject)
            return agent is not None and serves(self.model.config.domains[self.domain], agent)
        conv = self.model.conversations.get(event.subject)
        return conv is not None and self.model.config.domain_of(conv.queue) == self.domain

    def _reconfigure(self, config: RoutingConfig) -> None:
        if self.domain not in config.domains:
            log.error("routing config not applied: it no longer has domain %r (has %s); keeping "
                      "the previous one", self.domain, sorted(config.domains))
            return
        self.model.reconfigure(config)
        self.tick_s = config.routing.tick_ms / 1000

    def _route(self, news: bool) -> None:
        leader = self.lease.held() and self.lease.generation != self._fenced_in
        if leader != self.stats.leader:
            self.stats.leader, self.stats.caught_up, self._target = leader, False, None
            log.warning("%s %s the lease of domain %s", self.instance,
                        "holds" if leader else "does not hold", self.domain)
            if not leader:
                self.writer.release()
        if not leader:
            return
        if self._target is None and not self._take_over():
            return
        if not self.stats.caught_up:
            if self._target is None or not self.feed.reached(self._target):
                return
            self.stats.caught_up = True
            # Everything folded so far lives long: keep it out of the collector's full
            # passes, which otherwise pause routing for as long as the model is large.
            gc.collect()
            gc.freeze()
            log.warning("%s caught up with the log; routing domain %s", self.instance, self.domain)
        if not news and time.monotonic() - self._last_pass < self.tick_s:
            return
        self._last_pass = time.monotonic()
        self.stats.passes += 1
        now = datetime.now(UTC)
        decisions = decide(self.model, self.domain, now)
        if decisions:
            self._write(decisions, now)

    def _take_over(self) -> bool:
        """Fence the previous writer, then note where the log ends: all it ever committed
        is before that, and this router decides nothing before it has read that far."""
        began = time.monotonic()
        try:
            self.writer.acquire()
            self._target = self.feed.end_offsets()
        except KafkaError as exc:
            log.error("could not take over the writes of domain %s after %.1f s (%s); retrying",
                      self.domain, time.monotonic() - began, exc)
            return False
        log.info("%s took over the writes of domain %s in %.1f s", self.instance, self.domain,
                 time.monotonic() - began)
        return True

    def _write(self, decisions: list[Decision], now: datetime) -> None:
        made = [decision_event(d, self.model, source=self.source, now=now) for d in decisions]
        try:
            if not self.writer.ready:
                self.writer.acquire()  # after a failed write, while still holding the lease
            self.writer.write([(self.topic_of(e.type), e.subject.encode(), encode(e))
                               for e, _ in made])
        except Fenced:
            self.stats.fenced += 1
            self._fenced_in = self.lease.generation
            log.error("%s was fenced: another router took over domain %s, and the broker "
                      "refused this pass's %d decisions; standing by", self.instance,
                      self.domain, len(made))
            return
        except KafkaError as exc:
            # Nothing is marked pending: the next pass decides again, and the same
            # decision carries the same id, so one that did land is not doubled.
            self.stats.produce_errors += 1
            log.error("could not write %d decisions (%s); retrying next pass", len(made), exc)
            return
        for (event, pending), decision in zip(made, decisions, strict=True):
            self.model.expect(event.id, pending)
            kind = type(decision).__name__
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        self.stats.decisions += len(made)

    def _report(self) -> None:
        s, m = self.stats, self.model
        role = ("active" if s.caught_up else "catching up") if s.leader else "standby"
        log.info("%s %s: %d events folded (%d skipped as not for routing), %d waiting, "
                 "%d decisions %s in %d passes, %d failed writes, %d fenced, lag %d, rejected %s, "
                 "undecodable %s", self.instance, role, m.applied, self.feed.skipped,
                 len(m.waiting), s.decisions, s.by_kind, s.passes, s.produce_errors, s.fenced,
                 self.feed.lag(), dict(m.rejected), dict(self.feed.undecodable))

    def close(self) -> None:
        for closer in (self._final_snapshot, self.lease.close, self.feed.close,
                       self.writer.release):
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing is best effort on the way out
                log.exception("while closing")


def run_router(settings: Settings, domain: str, instance: str, config_path: Path | None,
               snapshot_path: Path | None = None,
               snapshot_every_s: float = SNAPSHOT_EVERY_S) -> int:
    """Run until SIGINT/SIGTERM; 2 on a bad configuration, 1 when Kafka cannot be reached."""
    try:
        config = load_config(config_path, settings.closed_horizon_s)
        ensure_topics(settings)
        router = Router(settings, domain, instance, config_path, config, snapshot_path,
                        snapshot_every_s)
    except ConfigError as exc:
        log.error("%s\nFix the file and start again (see README, Routing configuration).", exc)
        return 2
    except (BrokerUnavailable, KafkaError) as exc:
        log.error("cannot reach Kafka at %s: %s\nStart it with `switchboard infra up` or set "
                  "KAFKA_BOOTSTRAP_SERVERS.", settings.kafka_bootstrap_servers, exc)
        return 1

    def stop(signum: int, frame: object) -> None:
        router.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    forward_early_stop()
    try:
        router.run()
    finally:
        router.close()
    return 0
