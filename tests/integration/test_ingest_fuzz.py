"""The ingest against a fuzzer driven by its own OpenAPI document (issue 12 §1).

Schemathesis generates requests for every route from `/openapi.json` (schema-valid ones,
and ones that break each constraint) and sends them to the real ingest process, which
produces to the real broker and reads from the real PostgreSQL. It checks every answer:
no server error, every status documented, every answer in its documented shape,
schema-valid requests accepted and schema-violating ones refused. Afterwards the
projector projects whatever was accepted, and every read endpoint still answers 200.

The seed is fixed so `make test` is repeatable; `SWITCHBOARD_FUZZ_SEED=random` (and
`SWITCHBOARD_FUZZ_EXAMPLES`, default 30 per route) explore further.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from tests_support import ROOT, child_env, start_ingest

from projections.postgres.migrate import DEFAULT_SCHEMA, migrate
from projections.postgres.projector import run_projector
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration
KEY = "fuzz-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SEED = "20261204"


@pytest.fixture
def fuzzed(settings: Settings, fresh_db: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    cfg = dataclasses.replace(settings, database_url=fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        migrate(conn, DEFAULT_SCHEMA)  # the read models exist, as after a projector's start
    env = child_env(cfg, SWITCHBOARD_API_KEYS=f"{KEY}=*")
    with start_ingest(env, tmp_path / "ingest.log") as url:
        yield cfg, url


def test_the_ingest_holds_against_its_own_openapi_fuzzer(
        fuzzed: tuple[Settings, str], tmp_path: Path) -> None:
    cfg, url = fuzzed
    seed = os.environ.get("SWITCHBOARD_FUZZ_SEED", SEED)
    examples = os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "30")
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
               "-H", f"Authorization: Bearer {KEY}", "--checks", "all",
               "--phases", "examples,coverage,fuzzing", "--max-examples", examples,
               # one worker: CPython 3.11's parser fails under Hypothesis's threads
               "--workers", "1", "--request-timeout", "30",
               *([] if seed == "random" else ["--seed", seed])]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1",
           "SCHEMATHESIS_HOOKS": "tests.fuzz.ingest_hooks"}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900, check=False)
    report = run.stdout + run.stderr
    counts = re.search(r"(\d+) generated, (\d+) passed", report)
    print(report[-1500:])
    assert run.returncode == 0, report[-12000:]
    assert counts is not None and int(counts.group(1)) > 1000, report[-3000:]

    run_projector(cfg, until_caught_up=True)  # whatever the fuzzer got accepted
    with psycopg.connect(cfg.database_url) as conn:
        row = conn.execute("SELECT conversation_id FROM readmodel.conversations"
                           " ORDER BY random() LIMIT 1").fetchone()
    assert row is not None, "the fuzzer started no conversation that the projector kept"
    for path in ("/v1/agents", "/v1/queues", "/v1/agents?status=available",
                 f"/v1/conversations/{row[0]}",
                 "/v1/kpis?from=1970-01-01T00:00:00Z&to=9000-01-01T00:00:00Z&by=queue"):
        response = httpx.get(url + path, headers=AUTH, timeout=30)
        assert response.status_code == 200, (path, response.text)
