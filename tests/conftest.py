"""Test session set-up: an isolated, migrated Airflow home per session and a fresh lake per test.

Airflow reads its configuration when first imported, so the environment is set here, at import
time of the root conftest, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.emulators", "tests.fixtures.services_local", "tests.fixtures.pgvector_server"]

ROOT = Path(__file__).resolve().parents[1]

_HOME = Path(tempfile.mkdtemp(prefix="genai-airflow-test-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
os.environ["AIRFLOW_VAR_GENAI_DATA_DIR"] = str(_HOME / "data")
os.environ.setdefault("GENAI_TEST_ROOT", str(ROOT))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata DB for this session (``dag.test()`` needs one); about 3 s."""
    from airflow.utils.db import initdb

    initdb()
    return _HOME


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder (lake + DuckDB warehouse) for one test; nothing leaks between tests."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_DATA_DIR", str(data))
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", raising=False)
    return data


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(autouse=True)
def _fresh_dag_params(request):
    """Undo what ``dag.test(run_conf=...)`` leaves in the session DagBag's Params.

    Airflow 3.3 merges a run's conf into the DAG's *shared* ``Param`` objects (``ParamsDict.update``
    resolves the new value in place), so a later ``dag.test()`` that leaves a key out silently gets the
    earlier test's value (a ``days=1`` from one seed test made the flaky-S3 test seed one day). Each
    test that uses ``dagbag`` starts from the DAG files' defaults again.
    """
    if "dagbag" not in request.fixturenames:
        yield
        return
    import copy

    bag = request.getfixturevalue("dagbag")
    saved = []
    for dag in bag.dags.values():
        holders = [dag.params, *(t.params for t in dag.tasks if t.params)]
        for holder in holders:
            for key in list(holder.keys()):
                param = holder.get_param(key)
                saved.append((param, copy.deepcopy(param.value)))
    yield
    for param, value in saved:
        param.value = value


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 - pytest hook signature
    shutil.rmtree(_HOME, ignore_errors=True)
