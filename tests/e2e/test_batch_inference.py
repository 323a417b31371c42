"""End to end: pending requests -> batch_inference scores each with the session's REAL sentiment champion in
mapped GPUJobOperator batches (CPU fallback here) -> one prediction per request, run figures, compute_spent."""

from __future__ import annotations

import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import (  # noqa: F401 - trained_sentiment is a fixture
    install_champion,
    task_states,
    trained_sentiment,
)

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.slow]

DAY = pendulum.datetime(2026, 11, 22, 12, 0, tz="UTC")
REQUESTS = 25
PER_BATCH = 10  # 25 valid + 1 malformed request -> batches of 10, 10, 6


def test_batch_inference_scores_every_pending_request(dagbag, lake, trained_sentiment):  # noqa: F811
    from include.platform import storage, warehouse
    from include.scaling.batches import write_requests
    from include.scaling.metrics import lake_prefix, list_pending
    from include.sentiment import LABELS
    from include.sentiment.labeled_set import labeled_examples

    champion = install_champion(trained_sentiment)
    prefix = lake_prefix("raw/requests/pending")
    write_requests(prefix, REQUESTS)
    storage.write_text(prefix / "broken.json", '{"id": "x", "text": ')
    dag = dagbag.get_dag("batch_inference")

    run = dag.test(logical_date=DAY, run_conf={"items_per_batch": PER_BATCH})
    assert run.state == "success"
    states = task_states("batch_inference", run.run_id)
    assert [states[f"infer_batch[{i}]"] for i in range(3)] == ["success"] * 3
    assert states["record"] == "success" and states["wait_for_gpu_headroom"] == "success"  # no GPU: proceed
    assert list_pending("raw/requests/pending") == []  # drained: scored or quarantined

    # One prediction per request, by the real champion, with its device and latency.
    rows = warehouse.query("SELECT * FROM batch_predictions ORDER BY request_id")
    assert rows["request_id"].tolist() == [f"req-{i:05d}" for i in range(REQUESTS)]
    assert set(rows["label"]) <= set(LABELS) and rows["model_version"].eq(champion.ref).all()
    assert rows["device"].eq("cpu").all() and (rows["latency_ms"] > 0).all()
    assert ((rows["p_negative"] + rows["p_neutral"] + rows["p_positive"]) - 1).abs().max() < 1e-4
    truth = [label for _text, label in labeled_examples(REQUESTS, seed=11)]
    accuracy = (rows["label"] == truth).mean()
    assert accuracy >= 0.7, f"champion accuracy on the demo requests {accuracy:.2f}"

    stats = warehouse.query("SELECT * FROM batch_inference_runs WHERE run_id = ?", [run.run_id]).iloc[0]
    assert (stats["items"], stats["batches"], stats["quarantined"], stats["device"]) == (REQUESTS, 3, 1, "cpu")
    assert 0 < stats["latency_p50_ms"] <= stats["latency_p95_ms"] and stats["items_per_s"] > 0
    assert stats["cost_per_item_usd"] == pytest.approx(0.192 / 3600 / stats["items_per_s"], rel=0.02)
    print(f"batch_inference on this machine: {stats['items_per_s']:.1f} items/s, p50 {stats['latency_p50_ms']:.0f} ms, "
          f"p95 {stats['latency_p95_ms']:.0f} ms, ${stats['cost_per_item_usd']:.2e}/item, load {stats['load_s']:.1f}s")

    spent = run_events(run.run_id, "compute_spent")
    assert len(spent) == 1 and spent[0]["device"] == "cpu" and spent[0]["items"] == REQUESTS
    assert spent[0]["cost_usd"] > 0 and set(spent[0]["steps_s"]) == {"model_load", "inference"}
    quarantined = lake / "lake" / "quarantine" / "requests" / DAY.date().isoformat()
    assert (quarantined / "broken.json").read_bytes() == b'{"id": "x", "text": '
    _assert_batch_ui(run.run_id)

    # Nothing pending: the next run is skipped, no model loaded, nothing recorded twice.
    again = dag.test(logical_date=DAY.add(hours=1), run_conf={"items_per_batch": PER_BATCH})
    assert again.state == "success" and task_states("batch_inference", again.run_id)["plan"] == "skipped"
    assert len(warehouse.query("SELECT run_id FROM batch_inference_runs")) == 1


def _assert_batch_ui(run_id: str) -> None:
    """Mapped batches are named "batch N" and carry the GPU extra links (stored as XCom by the worker)."""
    from airflow.models import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as s:
        names = sorted(ti.rendered_map_index for ti in s.query(TaskInstance).filter_by(
            dag_id="batch_inference", run_id=run_id, task_id="infer_batch"))
        tis = s.query(TaskInstance).filter_by(dag_id="batch_inference", run_id=run_id, task_id="infer_batch").all()
        links = {x.key: x.value for x in s.query(XComModel).filter_by(
            dag_id="batch_inference", run_id=run_id, task_id="infer_batch", map_index=0)}
    assert names == [f"batch {i}" for i in range(3)]
    assert {ti.pool for ti in tis} == {"inference"}  # the pool autoscaling_monitor sizes
    assert str(links["_link_GPUPoolLink"]).strip('"').endswith("/pools")
    assert "gpu_placement" in links  # where the batch ran (mode cpu here), for the GPU dashboard link
