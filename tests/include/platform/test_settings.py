from __future__ import annotations

import pytest

from include.platform.settings import PROJECT_DIR, get_setting, resolve_project_path
from scripts.apply_airflow_settings import main as apply_settings
from tests.fixtures.secrets_backends import denied_variables


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


# -- a Variable backend error inside a task propagates; outside a task it means the default --------
@pytest.fixture
def denying_backend(monkeypatch):
    """Every ``genai_lake*`` Variable denied, as AWS Secrets Manager does without IAM permission."""
    with denied_variables(monkeypatch, "genai_lake"):
        yield


def test_backend_error_outside_a_task_means_the_default(lake, denying_backend):
    from include.platform.settings import in_task

    assert in_task() is False
    assert get_setting("lake_root", "fallback") == "fallback"


#: A tiny DAG written into its own bundle: dag.test() only runs DAGs it can serialize from a bundle.
PROBE_DAG = '''
import json, os
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="genai_test_settings_backend_denied", schedule=None,
     start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, default_args={"retries": 0})
def genai_test_settings_backend_denied():
    @task
    def write_to_lake():
        from include.platform import storage

        storage.write_text(storage.lake_path("raw", "denied.txt"), "must not land on local disk")

    @task
    def probe():
        from include.platform.settings import get_setting, in_task

        record = {"in_task": in_task(), "unknown": get_setting("not_a_real_setting", "dflt")}
        try:
            get_setting("lake_root", "file:///tmp/fallback")
        except Exception as exc:
            record.update(error=type(exc).__name__, message=str(exc), notes=getattr(exc, "__notes__", []))
        with open(os.environ["GENAI_TEST_PROBE_FILE"], "w") as fh:
            json.dump(record, fh)

    write_to_lake()
    probe()


genai_test_settings_backend_denied()
'''


def test_backend_error_inside_a_task_propagates(airflow_db, lake, denying_backend, tmp_path, monkeypatch):
    """Under dag.test() (SUPERVISOR_COMMS set) a denied Variable fails the task; nothing lands on local disk."""
    import json

    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from tests.e2e.sentiment_fixtures import task_states

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "probe_dag.py").write_text(PROBE_DAG)
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
        {"name": "genai-settings-test", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(bundle)}},
    ]))
    probe_file = tmp_path / "probe.json"
    monkeypatch.setenv("GENAI_TEST_PROBE_FILE", str(probe_file))

    dag = DagBag(dag_folder=str(bundle)).get_dag("genai_test_settings_backend_denied")
    run = dag.test(logical_date=pendulum.datetime(2026, 1, 2, tz="UTC"))

    assert task_states(dag.dag_id, run.run_id) == {"write_to_lake": "failed", "probe": "success"}
    assert run.state == "failed"
    assert not (lake / "lake").exists() or not any((lake / "lake").rglob("*")), "wrote to the local fallback lake"
    record = json.loads(probe_file.read_text())
    assert record["in_task"] is True and record["unknown"] == "dflt"  # not found still means the default
    assert record["error"] == "AirflowSecretsBackendAccessDenied"
    assert "genai_lake_root denied" in record["message"]
    assert any("not falling back" in n and "genai_lake_root" in n for n in record["notes"])
