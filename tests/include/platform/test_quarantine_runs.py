"""The shared quarantine format, run/day paths and slugs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from include.platform import quarantine, runs, storage
from include.platform.errors import PathRefused

DAY = date(2026, 3, 1)


def test_rejected_records_lead_with_where_and_why_and_reruns_replace(lake):
    uri = quarantine.write_rejected("costs", DAY, "focus_rows", [
        {"reason": "negative cost", "line": 3, "source_file": "raw/a.csv", "cost": float("inf")},
        {"source_file": "raw/b.parquet", "line": None, "reason": "missing id", "nested": {"k": [1]}},
    ])
    assert uri.endswith("quarantine/costs/2026-03-01/focus_rows.jsonl")
    lines = storage.read_text(storage.path_from_uri(uri)).splitlines()
    assert list(json.loads(lines[0])) == ["source_file", "line", "reason", "cost"]
    assert json.loads(lines[0])["cost"] == "inf"
    assert quarantine.read_rejected("costs", DAY, "focus_rows")[1]["nested"] == {"k": [1]}
    assert quarantine.write_rejected("costs", DAY, "focus_rows", []) is None  # the fixed rerun clears it
    assert quarantine.read_rejected("costs", DAY, "focus_rows") == []


def test_line_and_paragraph_separators_inside_a_record_stay_in_it(lake):
    """The file is split on "\n" only: a raw U+2028 / U+2029 / U+0085 in feedback text is not a line break."""
    text = "Terrible delivery,\u2028the parcel\u2029arrived\x85broken"
    uri = quarantine.write_rejected("sentiment", DAY, "rejected", [
        {"source_file": "export.jsonl", "line": 1, "reason": "rating: too high", "raw": text},
        {"source_file": "export.jsonl", "line": 2, "reason": "invalid JSON", "raw": "\u2028"},
    ])
    assert "\u2028" in storage.read_text(storage.path_from_uri(uri))  # written as is, not escaped
    rows = quarantine.read_rejected("sentiment", DAY, "rejected")
    assert [(r["line"], r["raw"]) for r in rows] == [(1, text), (2, "\u2028")]


def test_record_without_location_is_a_caller_bug(lake):
    with pytest.raises(ValueError, match="without \\['line'\\]"):
        quarantine.write_rejected("costs", DAY, "x", [{"source_file": "f", "reason": "r"}])


def test_keep_copy_is_byte_exact(lake):
    src = storage.lake_path("raw", "costs", "broken.csv")
    storage.write_bytes(src, b"\xff\xfe broken")
    dest = quarantine.keep_copy("costs", DAY, src, "aws")
    assert dest.endswith("quarantine/costs/2026-03-01/files/aws/broken.csv")
    assert storage.read_bytes(storage.path_from_uri(dest)) == b"\xff\xfe broken"


def test_slugs_and_paths():
    assert runs.slug("manual__2026-01-01T00:00:00+00:00") == "manual__2026-01-01T00_00_00_00_00"
    assert runs.slug("../..", "run") == "run"
    assert runs.slug("...///") == "_"


def test_day_and_run_paths_stay_in_the_lake(lake):
    assert str(runs.day_path("reports", "cost", DAY, "report.md")).endswith("reports/cost/2026-03-01/report.md")
    assert "runs/manual__x_y" in str(runs.run_path("curated", "canary", "manual__x/y", "a.json"))
    with pytest.raises(PathRefused):
        runs.day_path("reports", "..", DAY)


def test_connection_lookup(monkeypatch):
    from include.platform.connections import connection_exists, connection_type

    monkeypatch.setenv("AIRFLOW_CONN_GENAI_TEST_AWS", '{"conn_type": "aws"}')
    assert connection_exists("genai_test_aws") and connection_type("genai_test_aws") == "aws"
    assert not connection_exists("genai_test_absent") and connection_type("genai_test_absent") is None
