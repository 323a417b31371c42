"""load_inputs + assess_evidence on a real lake and warehouse: thin batches fail at once or branch."""

from __future__ import annotations

from datetime import date

import pytest

from include.demo.customers import customer_table
from include.platform import quarantine, storage, warehouse
from include.platform.errors import PermanentError
from include.retraining import data, pipeline
from include.retraining.config import RetrainingConfig

DAY = date(2026, 11, 22)
FAIL = RetrainingConfig(min_batch_rows=200, max_quarantined_share=0.2, insufficient_evidence="fail")
ALERT = RetrainingConfig(min_batch_rows=200, max_quarantined_share=0.2, insufficient_evidence="alert")


def _write(batch):
    storage.write_parquet(data.reference_path(), customer_table(1200, seed=42))
    storage.write_parquet(data.batch_path(DAY), batch)
    return pipeline.load_inputs(DAY)


def _row(run_id):
    return warehouse.query("SELECT * FROM retraining_evidence WHERE run_id = ?", [run_id]).iloc[0]


def test_a_full_batch_passes_and_is_recorded(lake):
    inputs = _write(customer_table(600, seed=43))
    verdict = pipeline.assess_evidence(DAY, inputs, FAIL, "run-ok")
    assert verdict["sufficient"] and verdict["valid_rows"] == 600
    row = _row("run-ok")
    assert bool(row["sufficient"]) and row["problems"] == "" and row["min_batch_rows"] == 200


def test_fully_quarantined_batch_fails_at_once_naming_the_fix(lake):
    batch = customer_table(300, seed=43).assign(churned=7)  # every label invalid
    inputs = _write(batch)
    assert inputs["rows"] == 0 and inputs["quarantined_rows"] == 300 and inputs["quarantine_uri"]
    with pytest.raises(pipeline.InsufficientEvidence) as err:
        pipeline.assess_evidence(DAY, inputs, FAIL, "run-bad")
    assert isinstance(err.value, PermanentError)  # an AirflowFailException: no retries
    message = str(err.value)
    assert "all 300 rows of the batch were quarantined" in message and "drift was not assessed" in message
    assert "fix: correct the rejected rows (reasons in " in message and "feature_batch.jsonl" in message
    # The shared quarantine format: one JSON line per rejected row, saying where it came from and why.
    rejected = quarantine.read_rejected(pipeline.DAG_ID, DAY, "feature_batch")
    assert len(rejected) == 300 and inputs["quarantine_uri"].endswith("quarantine/adaptive_retraining/2026-11-22/"
                                                                      "feature_batch.jsonl")
    assert rejected[0]["source_file"].endswith("raw/features/2026-11-22/batch.parquet")
    assert rejected[0]["line"] is None and rejected[0]["row"] == 0 and rejected[0]["reason"] == "churned is not 0/1"
    assert [r["row"] for r in rejected] == list(range(300))
    row = _row("run-bad")  # recorded before failing: the warehouse says why the run stopped
    assert not bool(row["sufficient"]) and row["quarantined_share"] == 1.0 and "correct the rejected" in row["fix"]


def test_alert_mode_returns_the_verdict_instead_of_raising(lake):
    inputs = _write(customer_table(3, seed=43))
    verdict = pipeline.assess_evidence(DAY, inputs, ALERT, "run-alert")
    assert not verdict["sufficient"] and verdict["problems"] == ["3 valid rows < min_batch_rows 200"]
    alert = pipeline.insufficient_evidence_alert(verdict)
    assert "insufficient evidence, drift not assessed" in alert.subject
    assert "Fix: wait for / export a batch with at least 200 valid rows" in alert.body
    assert "Nothing was retrained, registered or promoted" in alert.body


def test_drift_check_on_an_empty_batch_is_a_permanent_error_not_no_drift(lake):
    inputs = _write(customer_table(600, seed=43).iloc[0:0])
    with pytest.raises(pipeline.InsufficientEvidence, match="current batch has no rows"):
        pipeline.check_drift(DAY, inputs, FAIL)


def test_a_corrected_rerun_removes_the_stale_quarantine(lake):
    batch = customer_table(600, seed=43)
    batch.loc[batch.index[:10], "churned"] = 7
    first = _write(batch)
    assert first["quarantined_rows"] == 10 and quarantine.read_rejected(pipeline.DAG_ID, DAY, "feature_batch")
    second = _write(customer_table(600, seed=43))
    assert second["quarantined_rows"] == 0 and second["quarantine_uri"] is None
    assert quarantine.read_rejected(pipeline.DAG_ID, DAY, "feature_batch") == []


def test_a_batch_without_the_required_columns_fails_at_once(lake):
    with pytest.raises(data.BatchSchemaError, match="lacks columns") as err:
        _write(customer_table(600, seed=43).drop(columns=["plan"]))
    assert isinstance(err.value, PermanentError) and "fix: re-export it with the columns" in str(err.value)
