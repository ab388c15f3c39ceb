"""The router's model saved to a local file now and then, so that a restart reads the log
from where the snapshot was taken instead of from offset 0.

A snapshot is the model's state (`ModelState`) and the feed's mark on every
partition it reads (the next offset, and the timestamp of the record before it),
taken between two polls, so the two agree. Decisions in flight
are not in it: they are on the log past those marks and are read back from
there. A snapshot that cannot be read, was written by another format, names
partitions the log no longer has, or whose records before its marks are not the
ones it saw (a log recreated since) is refused with its reason, and the router
replays from offset 0 as without one.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from projections.state_codec import dump, load
from services.router.config import RoutingConfig
from services.router.feed import Mark, Marks
from services.router.model import ModelState, RoutingModel

FORMAT = 1
WRITE_SLICE = 1 << 20


class SnapshotError(ValueError):
    """The snapshot cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    model: RoutingModel
    marks: Marks


def encode(model: RoutingModel, marks: Marks) -> bytes:
    head = orjson.dumps({"format": FORMAT, "marks": [
        [topic, partition, mark.offset, mark.before_ms]
        for (topic, partition), mark in sorted(marks.items())]})
    # One line of header, then the state: the header can be checked before the bulk is parsed.
    # zlib at level 1 makes the state a fifth of its JSON for a third of a second per 60 MB:
    # less to write next to a database that fsyncs.
    return head + b"\n" + zlib.compress(dump(model.state()), 1)


def decode(raw: bytes, config: RoutingConfig) -> Snapshot:
    head, sep, body = raw.partition(b"\n")
    try:
        header: Any = orjson.loads(head)
        if not sep or not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SnapshotError(f"not a format-{FORMAT} router snapshot")
        marks = {(str(t), int(p)): Mark(int(o), None if b is None else int(b))
                 for t, p, o, b in header["marks"]}
        state = load(ModelState, zlib.decompress(body))
    except SnapshotError:
        raise
    except (orjson.JSONDecodeError, zlib.error, KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"unreadable ({type(exc).__name__}: {exc})") from exc
    return Snapshot(RoutingModel.from_state(config, state), marks)


def save(path: Path, model: RoutingModel, marks: Marks) -> int:
    """Write the snapshot atomically (a crash mid-write leaves the previous one); bytes
    written."""
    raw = encode(model, marks)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Routers of one domain may share the file (a standby's snapshot is as good as the
    # active one's: both fold the same log), so each writes its own partial file.
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with open(partial, "wb") as out:
        # On ext4 a database's fsync also waits for other files' dirty data: written and
        # synced a slice at a time, the snapshot never holds one of its commits for long.
        for start in range(0, len(raw), WRITE_SLICE):
            out.write(raw[start:start + WRITE_SLICE])
            out.flush()
            os.fdatasync(out.fileno())
    os.replace(partial, path)
    return len(raw)


def save_in_background(path: Path, model: RoutingModel, marks: Marks) -> int:
    """Fork a child that saves the snapshot and exits (0 when written): its pid.

    Serialising a large model takes a fifth of a second per 20,000 conversations; the
    child does it on a copy-on-write image of the parent's memory while the parent goes
    on routing. The child touches nothing but the model and the file (no Kafka client, no
    logging: their threads and locks did not come along)."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            # Last in line for the CPU: a snapshot can wait, the routing and the stream
            # processors on the same host cannot.
            os.nice(19)
            save(path, model, marks)
        except BaseException as exc:  # noqa: BLE001 - reported through the exit status
            os.write(2, f"router snapshot: could not write {path}: {exc!r}\n".encode())
            code = 1
        os._exit(code)
    return pid


def restore(path: Path, config: RoutingConfig) -> Snapshot | None:
    """The snapshot at `path`, or None when there is none yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return decode(raw, config)
