from __future__ import annotations

import pandas as pd
import pytest

from include.platform import storage


def test_zones_live_under_the_configured_root(lake):
    path = storage.lake_path("raw", "feedback", "2026-11-22")
    assert str(path) == f"file://{lake}/lake/raw/feedback/2026-11-22"
    with pytest.raises(ValueError, match="unknown lake zone 'rwa'"):
        storage.zone("rwa")


def test_root_and_connection_come_from_variables(lake, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", "s3://my-bucket/lake/")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", "aws_lake")
    root = storage.lake_root()
    # The connection id travels inside the URI (as userinfo), so a path passed through XCom keeps it.
    assert root.protocol == "s3" and str(root) == "s3://aws_lake@my-bucket/lake"
    assert root.conn_id == "aws_lake"


def test_round_trips_and_listing(lake):
    base = storage.lake_path("curated", "demo")
    storage.write_text(base / "a.txt", "hello")
    storage.write_json(base / "b.json", {"x": 1})
    frame = pd.DataFrame({"id": [1, 2], "v": [0.5, None]})
    storage.write_parquet(base / "c.parquet", frame)
    assert storage.read_text(base / "a.txt") == "hello"
    assert storage.read_json(base / "b.json") == {"x": 1}
    pd.testing.assert_frame_equal(storage.read_parquet(base / "c.parquet"), frame)
    assert [p.name for p in storage.list_files(base)] == ["a.txt", "b.json", "c.parquet"]
    assert [p.name for p in storage.list_files(base, ".json")] == ["b.json"]
    assert storage.list_files(base / "missing") == []


def test_local_writes_are_atomic_and_leave_no_temp_files(lake):
    path = storage.lake_path("reports", "x", "report.md")
    storage.write_text(path, "v1")
    storage.write_text(path, "v2")
    assert storage.read_text(path) == "v2"
    assert sorted(p.name for p in (lake / "lake" / "reports" / "x").iterdir()) == ["report.md"]


def test_uri_round_trip_through_xcom(lake):
    path = storage.write_text(storage.lake_path("raw", "t.txt"), "x")
    assert storage.read_text(storage.path_from_uri(str(path))) == "x"
