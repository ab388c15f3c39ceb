"""Every setting is checked when a process starts: a value that cannot be used is refused
with a message naming the variable and what it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.runtime.settings import SettingsError, from_env


@pytest.mark.parametrize(("env", "names"), [
    ({"SWITCHBOARD_WORKER_ID": ""}, "SWITCHBOARD_WORKER_ID"),
    ({"SWITCHBOARD_WORKER_ID": "two words"}, "SWITCHBOARD_WORKER_ID"),
    ({"SWITCHBOARD_INGEST_PORT": "0"}, "SWITCHBOARD_INGEST_PORT='0' must be between 1 and 65,535"),
    ({"SWITCHBOARD_INGEST_PORT": "70000"}, "SWITCHBOARD_INGEST_PORT"),
    ({"SWITCHBOARD_KAFKA_PORT": "-1"}, "SWITCHBOARD_KAFKA_PORT"),
    ({"SWITCHBOARD_PG_PORT": "eight"}, "SWITCHBOARD_PG_PORT='eight' is not a whole number"),
    ({"SWITCHBOARD_PARTITIONS": "0"}, "SWITCHBOARD_PARTITIONS"),
    ({"SWITCHBOARD_REPLICATION": "0"}, "SWITCHBOARD_REPLICATION"),
    ({"SWITCHBOARD_MAX_BODY_BYTES": "10"}, "SWITCHBOARD_MAX_BODY_BYTES"),
    ({"SWITCHBOARD_MAX_BATCH": "0"}, "SWITCHBOARD_MAX_BATCH"),
    ({"SWITCHBOARD_INGEST_HOST": " "}, "SWITCHBOARD_INGEST_HOST is empty"),
    ({"KAFKA_BOOTSTRAP_SERVERS": "broker"}, "KAFKA_BOOTSTRAP_SERVERS='broker'"),
    ({"KAFKA_BOOTSTRAP_SERVERS": "a:9092,b:port"}, "'b:port' is not host:port"),
    ({"KAFKA_BOOTSTRAP_SERVERS": "a:99999"}, "KAFKA_BOOTSTRAP_SERVERS"),
    ({"DATABASE_URL": "postgresql://h:notaport/db"}, "DATABASE_URL"),
    ({"DATABASE_URL": "host=h port"}, "DATABASE_URL"),
    ({"SWITCHBOARD_KPI_DEFINITIONS": "/no/such/kpi.toml"},
     "SWITCHBOARD_KPI_DEFINITIONS='/no/such/kpi.toml' cannot be read"),
])
def test_a_setting_that_cannot_be_used_is_refused_by_name(env: dict[str, str], names: str,
                                                           ) -> None:
    with pytest.raises(SettingsError) as refused:
        from_env(env)
    assert names in str(refused.value)


def test_usable_settings_are_taken_as_given() -> None:
    settings = from_env({
        "SWITCHBOARD_WORKER_ID": "desk.worker_2", "KAFKA_BOOTSTRAP_SERVERS": "a:9092, b:9093",
        "DATABASE_URL": "host=db port=5433 dbname=cc", "SWITCHBOARD_INGEST_PORT": "65535",
        "SWITCHBOARD_PARTITIONS": "12"})
    assert (settings.worker_app_id, settings.kafka_bootstrap_servers, settings.database_url,
            settings.ingest_port, settings.topic_partitions) == (
        "desk.worker_2", "a:9092, b:9093", "host=db port=5433 dbname=cc", 65535, 12)
    assert from_env({}).worker_app_id == "switchboard-worker"


def test_a_kpi_definitions_file_is_checked_at_start_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "kpi.toml"
    bad.write_text("[center]\nshort_abandon_s = -1\ntime_zone = 'Mars/Base'\n")
    with pytest.raises(SettingsError) as refused:
        from_env({"SWITCHBOARD_KPI_DEFINITIONS": str(bad)})
    assert all(part in str(refused.value) for part in (
        "SWITCHBOARD_KPI_DEFINITIONS", "version", "short_abandon_s", "Mars/Base"))
    good = tmp_path / "good.toml"
    good.write_text('version = "v7"\n')
    settings = from_env({"SWITCHBOARD_KPI_DEFINITIONS": str(good)})
    assert settings.kpi_definitions.version == "v7" and settings.kpi_definitions_path == good
