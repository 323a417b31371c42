"""Where demo data may go (include/demo/guard.py) and what the first start does about it (scripts/first_run.py)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from include.demo import guard, writers
from include.platform.airflow_api import AirflowAPIError
from include.platform.errors import ConfigError


@pytest.mark.parametrize(("root", "expected"), [
    (None, True),
    ("", True),
    ("  ", True),
    ("file://{data}/lake", True),
    ("{data}/lake/", True),
    ("file://{data}/other-lake", False),
    ("/srv/lake", False),
    ("s3://bucket/lake", False),
    ("gs://bucket/lake", False),
    ("abfs://container/lake", False),
])
def test_only_the_data_folders_lake_is_the_default_one(tmp_path, root, expected):
    value = root.format(data=tmp_path) if root else root
    assert guard.is_default_local_lake(value, tmp_path) is expected


def test_a_foreign_lake_is_refused_with_the_fix(lake, monkeypatch):
    assert guard.require_seedable_lake() == f"file://{lake / 'lake'}"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", "s3://real-bucket/lake")
    with pytest.raises(ConfigError, match="not the project's default local lake") as err:
        guard.require_seedable_lake()
    assert "allow_other_lake=true" in str(err.value)
    assert guard.require_seedable_lake(allow_other_lake=True) == "s3://real-bucket/lake"


def test_writers_skip_and_log_existing_objects(lake, caplog):
    metrics = lake / "lake" / "raw" / "metrics" / "trace-2026-11-22.parquet"
    metrics.parent.mkdir(parents=True)
    metrics.write_bytes(b"real trace")
    with caplog.at_level(logging.WARNING, logger="include.demo.writers"):
        assert writers.write_metric_trace(date(2026, 11, 22), hours=2) == []
        written = writers.write_feature_batches(date(2026, 11, 22), rows=100)
    assert metrics.read_bytes() == b"real trace"
    assert any(str(metrics) in r.getMessage() and "left untouched" in r.getMessage() for r in caplog.records)
    assert len(written) == 3
    assert writers.write_feature_batches(date(2026, 11, 22), rows=100) == []  # rerun: nothing new


def test_first_run_skips_a_foreign_lake_before_calling_the_api(lake, monkeypatch, capsys):
    from scripts import first_run

    # Nothing listens on port 9: the decision comes from the environment, before any REST call.
    monkeypatch.setenv("GENAI_API_CLIENT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("GENAI_STACK_AUTH", raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", "s3://real-bucket/lake")
    assert first_run.main() == first_run.SKIPPED
    assert "s3://real-bucket/lake" in capsys.readouterr().out
    # Unset in the environment: the metadata DB decides, and a server that cannot be asked is no "unset".
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_LAKE_ROOT")
    import requests

    with pytest.raises((AirflowAPIError, requests.ConnectionError)):
        first_run.lake_refusal(first_run.client())
