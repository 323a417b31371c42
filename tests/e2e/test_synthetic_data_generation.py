"""End to end: synthetic_data_generation trains, validates, gates and publishes (or rejects) for real.

Small table (1,500 rows) and few epochs through Params keep each run short on 2 shared cores.
"""

from __future__ import annotations

import json

import pendulum
import pytest

from tests.e2e.asset_events import run_events

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.slow]

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")
ROWS = 1_500
FAST = {"epochs": 40, "batch_size": 100, "rows_to_generate": 600, "dcr_rows": 200, "embedding_dim": 64,
        "device": "cpu", "threads": 1,
        # 1,200 training rows give a noisy hold-out AUC (~0.6): the usefulness ratio is checked, with slack.
        "min_tstr_ratio": 0.5,
        # dag.test() keeps a previous run's conf on the shared DAG object: reset what other tests change.
        "source_path": "raw/customers/customers.parquet"}


def _states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return {ti.task_id: ti.state for ti in s.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id)}


@pytest.fixture
def customers(lake):
    from include.demo.writers import write_customers

    write_customers(rows=ROWS, seed=7)
    return lake


def test_publish_path_writes_curated_set_augmented_table_card_and_report(dagbag, customers):
    import pandas as pd

    from include.platform import registry, warehouse

    dag = dagbag.get_dag("synthetic_data_generation")
    run = dag.test(logical_date=DAY, run_conf=FAST)
    assert run.state == "success"
    states = _states(dag.dag_id, run.run_id)
    assert states["publish"] == "success" and states["reject"] == "skipped", states

    lake = customers / "lake"
    curated = lake / "curated" / "synthetic" / "2026-11-22"
    synthetic = pd.read_parquet(curated / "synthetic.parquet")
    assert len(synthetic) == 600
    assert synthetic["customer_id"].str.startswith("syn-20261122-").all()
    card = json.loads((curated / "dataset_card.json").read_text())
    reports = lake / "reports" / "synthetic" / "2026-11-22"
    metrics = json.loads((reports / "metrics.json").read_text())["headline"]
    assert card["metrics"]["overall_quality"] == pytest.approx(metrics["overall_quality"])
    assert card["metrics"]["overall_quality"] >= 0.8
    assert card["generator"]["seed"] == 42 and card["generator"]["epochs"] == 40
    assert card["rows"] == {"synthetic": 600, "real": ROWS, "written": ROWS + 600}
    assert card["source"]["rows"] == ROWS and len(card["source"]["sha256"]) == 64

    # Warehouse: original + synthetic rows.
    assert warehouse.query("SELECT COUNT(*) AS n FROM customers_augmented")["n"].iloc[0] == ROWS + 600
    # The candidate left quarantine; GX result and the report are stored with the run.
    assert not (lake / "quarantine" / "synthetic" / "2026-11-22" / "candidate.parquet").exists()
    gx = json.loads((reports / "gx_result.json").read_text())
    assert gx["success"] is True and gx["statistics"]["evaluated_expectations"] > 20
    for name in ("report.md", "marginals.png", "correlations.png", "metrics.png", "decision.json"):
        assert (reports / name).stat().st_size > 500, name
    assert "PUBLISHED" in (reports / "report.md").read_text()

    # Registry: the generator is a safetensors artifact; publishing made it champion (lifecycle, kind dataset).
    mv = registry.resolve("synthetic_customers_tvae@champion")
    assert set(mv.files) == {"model.safetensors", "config.json"} and mv.status == "champion"
    assert mv.status_details["kind"] == "dataset" and mv.status_details["decided_by"] == "synthetic_data_generation.gate"
    assert mv.status_details["metrics"]["overall_quality"] == pytest.approx(card["metrics"]["overall_quality"])
    assert (card["model"], card["version"], card["status"], card["kind"]) == (
        "synthetic_customers_tvae", mv.version, "champion", "dataset")

    # The Asset event carries the dataset card.
    events = run_events(run.run_id, "synthetic_dataset")
    assert len(events) == 1 and events[0]["metrics"]["overall_quality"] == card["metrics"]["overall_quality"]
    assert (events[0]["model"], events[0]["version"], events[0]["status"]) == (mv.name, mv.version, "champion")
    assert (events[0]["dataset"], events[0]["kind"], events[0]["decision"]) == ("synthetic_customers", "dataset", "promote")
    # ... and the report task tells cloud_cost_report what the run spent (the TVAE fit, measured).
    (spent,) = run_events(run.run_id, "compute_spent")
    assert (spent["dag_id"], spent["emitted_by"], spent["device"]) == ("synthetic_data_generation", "report", "cpu")
    assert spent["steps_s"]["fit"] > 0 and spent["run_wall_s"] >= spent["steps_s"]["fit"]

    # A rerun of the same day rewrites, never duplicates; same seed on CPU -> the same published rows.
    run2 = dag.test(logical_date=DAY, run_conf=FAST)
    assert run2.state == "success"
    assert warehouse.query("SELECT COUNT(*) AS n FROM customers_augmented")["n"].iloc[0] == ROWS + 600
    pd.testing.assert_frame_equal(pd.read_parquet(curated / "synthetic.parquet"), synthetic)
    # The rerun's generator is champion now; the first one retired behind it.
    assert registry.aliases("synthetic_customers_tvae") == {"champion": str(int(mv.version) + 1),
                                                            "previous": mv.version}
    assert registry.get_version("synthetic_customers_tvae", mv.version).status == "retired"


def test_reject_path_publishes_nothing_and_records_reasons(dagbag, customers):
    """Unreachable quality threshold (Param) + the out-of-range drill (GX failure), in one run."""
    import pandas as pd

    from include.platform import registry, warehouse

    real_min_age = int(pd.read_parquet(customers / "lake" / "raw" / "customers" / "customers.parquet")["age"].min())
    dag = dagbag.get_dag("synthetic_data_generation")
    # The drill pushes 5 % of the sampled ages (the table's first continuous column) below the real minimum.
    run = dag.test(logical_date=DAY, run_conf=FAST | {"min_quality": 0.999, "epochs": 5,
                                                     "drill_out_of_range_share": 0.05})
    assert run.state == "success"
    states = _states(dag.dag_id, run.run_id)
    assert states["reject"] == "success" and states["publish"] == "skipped", states
    assert states["report"] == "success"

    lake = customers / "lake"
    assert not (lake / "curated" / "synthetic").exists()
    assert not warehouse.table_exists("customers_augmented")
    reports = lake / "reports" / "synthetic" / "2026-11-22"
    rejection = json.loads((reports / "rejection.json").read_text())
    failed = [c["name"] for c in rejection["failed_checks"]]
    assert failed[:2] == ["gx_validation", "overall_quality"], failed
    gx_reason = rejection["reasons"][0]
    assert "expect_column_values_to_be_between failed on column 'age'" in gx_reason
    assert "30 of 600 rows (5.0%) unexpected" in gx_reason and f"e.g. [{real_min_age - 1}" in gx_reason
    assert any("below the threshold 0.9990" in r for r in rejection["reasons"])
    gx = json.loads((reports / "gx_result.json").read_text())
    assert gx["success"] is False
    quarantine = lake / "quarantine" / "synthetic" / "2026-11-22"
    assert (quarantine / "candidate.parquet").exists()
    # The shared quarantine format: every candidate row, where it came from and why it was refused.
    rows = [json.loads(line) for line in (quarantine / "candidate.jsonl").read_text().splitlines()]
    assert len(rows) == 600 and {r["line"] for r in rows} == {None}
    assert all(r["source_file"].endswith("quarantine/synthetic/2026-11-22/candidate.parquet") for r in rows)
    own = [r for r in rows if not r["reason"].startswith("set rejected by the gate: ")]
    assert [r["customer_id"] for r in own] == [f"syn-20261122-{i:06d}" for i in range(30)]
    assert all(r["reason"].startswith(f"age {real_min_age - 1} outside the real range") for r in own), own[0]
    assert " | ".join(rejection["reasons"]) in rows[-1]["reason"]
    report = (reports / "report.md").read_text()
    assert "REJECTED" in report and "**FAIL**" in report
    mv = registry.list_versions("synthetic_customers_tvae")[-1]
    assert mv.status == "rejected" and "champion" not in registry.aliases("synthetic_customers_tvae")
    assert mv.status_details["kind"] == "dataset" and mv.status_details["reasons"] == rejection["reasons"]
    assert mv.status_details["evidence"]["failed_checks"][:2] == ["gx_validation", "overall_quality"]
    assert mv.status_details["evidence"]["quarantine"].endswith("quarantine/synthetic/2026-11-22/candidate.jsonl")


@pytest.mark.parametrize("bad", ["../../etc/x", "/etc/passwd", "models/synthetic_customers_tvae/1/config.json"])
def test_source_path_outside_the_raw_zone_is_refused_before_anything_runs(dagbag, customers, bad):
    from airflow.sdk.exceptions import ParamValidationError

    from include.platform import registry

    dag = dagbag.get_dag("synthetic_data_generation")
    with pytest.raises(ParamValidationError, match="source_path"):
        dag.test(logical_date=DAY, run_conf=FAST | {"source_path": bad})
    assert registry.list_versions("synthetic_customers_tvae") == []


def test_a_raw_zone_link_to_a_file_outside_fails_at_once_with_path_refused(dagbag, customers, tmp_path):
    """The Param pattern passes a name; the task's own guard still resolves it and refuses the escape."""
    import os

    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    from include.platform import registry

    outside = tmp_path / "secret.parquet"
    outside.write_bytes((customers / "lake" / "raw" / "customers" / "customers.parquet").read_bytes())
    os.symlink(outside, customers / "lake" / "raw" / "customers" / "link.parquet")
    dag = dagbag.get_dag("synthetic_data_generation")
    run = dag.test(logical_date=DAY, run_conf=FAST | {"source_path": "raw/customers/link.parquet"})
    assert run.state == "failed"
    with create_session() as s:
        ti = s.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id, task_id="train_generator").one()
        assert ti.state == "failed" and ti.try_number == 1  # PathRefused: no retry
    assert registry.list_versions("synthetic_customers_tvae") == []
