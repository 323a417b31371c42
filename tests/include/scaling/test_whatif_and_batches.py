"""What-if replay over the demo trace, pending-work listing, batch planning and the batch figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from include.demo.metrics import metric_trace
from include.scaling import batches, metrics, whatif
from include.scaling.config import BatchInferenceConfig, ScalingPolicyConfig, WhatIfConfig

CFG = ScalingPolicyConfig(min_replicas=1, max_replicas=8, target_queue_per_replica=4.0,
                          target_pending_per_replica=None, target_gpu_utilization=70.0, scale_down_stabilization_s=1800, scale_down_max_percent=50,
                          cost_per_replica_hour=1.2, max_cost_per_hour=8.0)


def test_replay_follows_the_burst_and_respects_limits():
    trace = metric_trace(datetime(2026, 11, 22, 23, 45, tzinfo=UTC), hours=24, seed=7)
    result = whatif.replay(trace, CFG, throughput_per_replica=16)
    assert len(result) == 96
    assert result["policy_replicas"].between(1, 6).all()  # $8/h at $1.2 buys 6 (< max 8)
    burst = result.iloc[-20:-8]
    assert burst["policy_replicas"].max() > 1 and "cost_ceiling" in ",".join(result["limited_by"])
    summary = whatif.summarize(result)
    assert summary["policy"]["peak_backlog"] < summary["baseline"]["peak_backlog"]
    assert summary["policy"]["cost"] >= summary["baseline"]["cost"]
    assert summary["scale_events"] > 0
    # Scale-down is stabilised and stepped: never more than halved from one step to the next.
    prev = result["policy_replicas"].shift(1).dropna()
    assert (result["policy_replicas"].iloc[1:] >= (prev / 2).apply(lambda x: int(-(-x // 1)))).all()


def test_replay_rejects_a_trace_without_required_columns():
    with pytest.raises(ValueError, match="queue_depth"):
        whatif.replay(pd.DataFrame({"timestamp": [], "replicas": []}), CFG)


def test_report_is_written_to_the_lake(lake):
    from include.platform import storage

    trace = metric_trace(datetime(2026, 11, 22, 23, 45, tzinfo=UTC), hours=12, seed=3)
    out = storage.lake_path("reports", "scaling", "2026-11-22")
    res = whatif.run_report(trace, CFG, out, "file://trace.parquet")
    folder = lake / "lake" / "reports" / "scaling" / "2026-11-22"
    assert (folder / "what-if.png").read_bytes()[:4] == b"\x89PNG"
    md = (folder / "what-if.md").read_text()
    assert "![replicas, queue and cost](what-if.png)" in md and "| cost ($) |" in md
    assert json.loads((folder / "summary.json").read_text())["steps"] == 48
    assert res["summary"]["policy"]["max_replicas"] <= 6


def test_replay_day_skips_without_a_trace_and_once_reported(lake):
    from airflow.sdk.exceptions import AirflowSkipException

    from include.demo.writers import write_metric_trace

    day = datetime(2026, 11, 22).date()
    with pytest.raises(AirflowSkipException, match="no metrics trace"):
        whatif.replay_day(WhatIfConfig.defaults(), day)
    write_metric_trace(day, hours=6)
    first = whatif.replay_day(WhatIfConfig.defaults(), day)
    assert first["day"] == "2026-11-22" and first["summary"]["steps"] == 24
    with pytest.raises(AirflowSkipException, match="already exists"):
        whatif.replay_day(WhatIfConfig.defaults(), day)
    assert whatif.replay_day(WhatIfConfig.from_params({"overwrite": True}), day)["summary"]["steps"] == 24


def test_pending_requests_plan_and_claim(lake):
    from airflow.sdk.exceptions import AirflowSkipException

    from include.platform import storage

    cfg = BatchInferenceConfig.from_params({"items_per_batch": 3})
    with pytest.raises(AirflowSkipException, match="no pending requests"):
        batches.plan(cfg, datetime(2026, 11, 22).date(), "manual__1")
    prefix = metrics.lake_prefix("raw/requests/pending")
    batches.write_requests(prefix, 7)
    storage.write_text(prefix / "nested" / "broken.json", "{not json")
    storage.write_text(prefix / ".partial.tmp", "ignored")
    uris = metrics.list_pending("raw/requests/pending")
    assert len(uris) == 8
    plan = batches.plan(cfg, datetime(2026, 11, 22).date(), "manual__1")
    assert [len(b["uris"]) for b in plan] == [3, 3, 2] and sum((b["uris"] for b in plan), []) == uris
    assert plan[1]["batch_index"] == 1 and BatchInferenceConfig(**plan[1]["cfg"]) == cfg  # typed again in the batch
    assert batches.chunks([], 4) == []

    requests, quarantined = batches.claim(uris, "2026-11-22", "raw/requests/pending")
    assert len(requests) == 7 and quarantined == 1
    assert all(r["text"] and r["id"].startswith("req-") for _, r in requests)  # customer messages to classify
    qdir = lake / "lake" / "quarantine" / "requests" / "2026-11-22" / "nested"
    assert (qdir / "broken.json").read_bytes() == b"{not json"  # byte-exact copy before the delete
    reason = json.loads((qdir / "broken.json.reason.json").read_text())
    assert reason["reason"].startswith("invalid JSON: Expecting property name") and reason["line"] == 1
    assert reason["source"].endswith("raw/requests/pending/nested/broken.json") and reason["bytes"] == 9
    assert len(metrics.list_pending("raw/requests/pending")) == 7  # valid ones stay until scored


def test_item_latency_and_run_figures():
    # 5 items scored in sorted order [3, 0, 4, 1, 2], forward passes of 2 items: 0.1 s, 0.3 s, 0.05 s.
    assert batches.item_latencies([0.1, 0.3, 0.05], [3, 0, 4, 1, 2], 2) == [0.1, 0.3, 0.05, 0.1, 0.3]
    assert batches.percentile([], 50) is None
    assert batches.percentile([1, 2, 3, 4, 100], 50) == 3 and batches.percentile([1, 2, 3, 4, 100], 95) == 100
    cfg = BatchInferenceConfig.defaults()
    predictions = pd.DataFrame({"latency_ms": [10.0, 20.0, 30.0, 40.0]})
    stats = batches.run_stats(predictions, [
        {"items": 3, "infer_s": 0.5, "load_s": 1.0, "device": "cpu", "precision": "fp32", "model_version": "sentiment/1"},
        {"items": 1, "infer_s": 0.5, "load_s": 1.0, "device": "cuda:NVIDIA H200", "precision": "fp32",
         "model_version": "sentiment/1", "quarantined": 2},
        {"items": 0, "infer_s": 0.0, "load_s": 0.0, "device": None, "quarantined": 1}], cfg)
    assert (stats["items"], stats["batches"], stats["quarantined"], stats["items_per_s"]) == (4, 3, 3, 4.0)
    assert (stats["latency_p50_ms"], stats["latency_p95_ms"]) == (20.0, 40.0)
    assert stats["device"] == "cpu,cuda:NVIDIA H200"  # each batch priced by the device it ran on
    per_item = (0.192 * 0.5 + 1.006 * 0.5) / 3600 / 4
    assert stats["cost_per_item_usd"] == pytest.approx(per_item)
    assert stats["cost_usd"] == pytest.approx((0.192 * 1.5 + 1.006 * 1.5) / 3600, abs=1e-9)


def test_host_and_gpu_metrics_on_this_machine():
    host = metrics.host_metrics(sample_seconds=0.1)
    assert 0 <= host["cpu_percent"] <= 100 and 0 < host["memory_percent"] < 100
    gpu = metrics.gpu_metrics()
    if not gpu["gpu_available"]:
        assert gpu["gpu_util_mean"] is None and gpu["gpu_count"] == 0 and gpu["gpu_free_mib"] == []
        assert "NVML" in gpu["gpu_reason"]


def test_lake_prefix_needs_a_zone():
    with pytest.raises(ValueError):
        metrics.lake_prefix("/")
    assert str(metrics.lake_prefix("raw/requests/pending")).endswith("raw/requests/pending")
