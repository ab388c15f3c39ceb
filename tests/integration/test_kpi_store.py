"""The durable KPI store: the projector writes the facts with the read models, and
`GET /v1/kpis` computes from them exactly what the offline fold computes from the log."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from log_support import produce
from tests_support import wait_for

from projections.kpi.definitions import read_definitions
from projections.kpi.log_fold import fold_log
from projections.kpi.rows import rows
from projections.postgres.projector import run_projector
from projections.postgres.sample_log import sample_log
from services.ingest.app import create_app
from services.kpi.render import row_json
from services.runtime.settings import ApiKey, Settings

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer reader"}


def test_the_stored_facts_give_the_kpis_the_log_gives(settings: Settings, fresh_db: str,
                                                      tmp_path: Path) -> None:
    definitions = tmp_path / "kpi.toml"
    definitions.write_text('version = "strict"\n[center]\nservice_level_threshold_s = 5\n')
    cfg = dataclasses.replace(settings, database_url=fresh_db,
                              api_keys=(ApiKey("reader", frozenset({"read"})),),
                              kpi_definitions=read_definitions(definitions),
                              kpi_definitions_path=definitions)
    day = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    events = sample_log(80, 6, seed=5, start=day, prefix=f"k{uuid.uuid4().hex[:6]}-")
    produce(cfg, list(events), "test-kpi-store")
    run_projector(cfg, until_caught_up=True)
    run_projector(cfg, until_caught_up=True)  # a second pass stores nothing twice
    inputs = fold_log((e, None) for e in events)
    with psycopg.connect(fresh_db) as conn:
        stored = conn.execute("SELECT count(*) FROM readmodel.kpi_facts").fetchone()
    assert stored == (len(inputs.facts),)

    period = {"from": day.isoformat(), "to": (day + timedelta(days=2)).isoformat()}
    with TestClient(create_app(cfg)) as client:
        for by, interval in (("center", "1h"), ("agent", "1d"), ("queue", "15m"),
                             ("channel", "1h")):
            got = client.get("/v1/kpis", params={**period, "by": by, "interval": interval},
                             headers=AUTH)
            assert got.status_code == 200, got.text
            body = got.json()
            expected = rows(inputs.facts, cfg.kpi_definitions, by=by, size=interval,
                            start=day, end=day + timedelta(days=2), points=inputs.points)
            assert expected and body["unreadable_rows"] == 0
            assert body["rows"] == json.loads(orjson.dumps(
                [row_json(r) for r in expected], option=orjson.OPT_UTC_Z))

        bad = client.get("/v1/kpis", params={"from": "yesterday", "to": period["to"]},
                         headers=AUTH)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "schema_violation"
        empty = client.get("/v1/kpis", params={"from": period["to"], "to": period["from"]},
                           headers=AUTH)
        assert empty.status_code == 200 and empty.json()["rows"] == []

        # A new version of the file: every period is then computed under it, no restart.
        def center(**extra: str) -> dict[str, object]:
            return client.get("/v1/kpis", params={**period, **extra}, headers=AUTH).json()
        strict = center()
        assert strict["definition"] == "strict"
        definitions.write_text('version = "lenient"\n[center]\nservice_level_threshold_s = 600\n')
        lenient = wait_for(lambda: (got := center())["definition"] == "lenient" and got,
                           "the new definitions to be used", 30)
        met = [(r["kpis"]["service_level"]["numerator"], s["kpis"]["service_level"]["numerator"])
               for r, s in zip(lenient["rows"], strict["rows"], strict=True)]
        assert all(a >= b for a, b in met) and any(a > b for a, b in met)
