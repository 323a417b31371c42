from __future__ import annotations

import pytest

from include.platform.settings import PROJECT_DIR, get_setting, resolve_project_path
from scripts.apply_airflow_settings import main as apply_settings


def test_env_variable_wins_then_default(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SOMETHING", "from-env")
    assert get_setting("something", "dflt") == "from-env"
    assert get_setting("not_set_anywhere", "dflt") == "dflt"


@pytest.mark.parametrize(("raw", "expected"), [
    ("data/w.duckdb", str(PROJECT_DIR / "data/w.duckdb")),
    ("/abs/w.duckdb", "/abs/w.duckdb"),
    (":memory:", ":memory:"),
    ("md:my_db", "md:my_db"),
])
def test_resolve_project_path(raw, expected):
    assert resolve_project_path(raw) == expected


def test_airflow_settings_yaml_applies_and_reapplies(airflow_db):
    from airflow.models import Connection, Pool  # noqa: AIR311 - reads the metadata DB the script wrote
    from airflow.utils.session import create_session

    for _ in range(2):  # idempotent
        assert apply_settings(str(PROJECT_DIR / "airflow_settings.yaml")) == 0
    with create_session() as session:
        conn = session.query(Connection).filter_by(conn_id="warehouse_default").one()  # noqa: AIR311
        assert (conn.conn_type, conn.host) == ("duckdb", "data/warehouse.duckdb")
        pools = {p.pool: p.slots for p in session.query(Pool)}
    assert pools["gpu"] == 1 and pools["llm_api"] == 2


def test_empty_variable_means_default(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SENTIMENT_BASE_MODEL", "")
    assert get_setting("sentiment_base_model", "local:all-minilm-l6-v2") == "local:all-minilm-l6-v2"
