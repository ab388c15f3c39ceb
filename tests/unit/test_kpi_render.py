"""KPI rows rendered as JSON, CSV and a table, every figure with its parts."""

from __future__ import annotations

import csv
import io

import orjson

from projections.kpi.rows import Row, rows
from services.kpi.render import as_csv, as_json, as_table
from tests.unit.test_kpi_figures import DEFINITIONS, abandoned_after, answered_after


def _rows() -> list[Row]:
    facts = answered_after("c1", 10) + answered_after("c2", 30) + abandoned_after("c3", 40)
    return rows(facts, DEFINITIONS, by="queue", size="1h")


def test_json_gives_rates_with_their_parts_and_durations_with_n_mean_and_percentiles() -> None:
    [row] = orjson.loads(as_json(_rows()))
    assert row["scope"] == "queue:billing" and row["definition"] == "test.1"
    assert row["kpis"]["service_level"] == {"value": 1 / 3, "numerator": 1, "denominator": 3}
    assert row["kpis"]["asa"] == {"n": 2, "mean": 20.0, "p50": 20.0, "p90": 28.0}


def test_csv_has_one_column_per_part() -> None:
    [row] = list(csv.DictReader(io.StringIO(as_csv(_rows()))))
    assert row["service_level_num"] == "1" and row["service_level_den"] == "3"
    assert row["asa_p90"] == "28" and row["volume"] == "3"


def test_the_table_shows_the_headline_figures() -> None:
    text = as_table(_rows())
    assert "queue:billing" in text and "33.3%" in text
