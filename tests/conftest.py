"""Test session set-up: an isolated, migrated Airflow home per session and a fresh lake per test.

Airflow reads its configuration when first imported, so the environment is set here, at import
time of the root conftest, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.emulators", "tests.fixtures.services_local"]

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

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


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 - pytest hook signature
    shutil.rmtree(_HOME, ignore_errors=True)
