"""What-if replay over the demo trace, pending-work listing and batch processing in the lake."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from include.demo.metrics import metric_trace
from include.scaling import batches, metrics, whatif
from include.scaling.policy import PolicyConfig

CFG = PolicyConfig(min_replicas=1, max_replicas=8, target_queue_per_replica=4.0, target_pending_per_replica=None,
                   target_gpu_utilization=70.0, scale_down_stabilization_s=1800, scale_down_max_percent=50,
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


def test_pending_objects_split_and_process(lake):
    from include.platform import storage

    prefix = metrics.lake_prefix("raw/requests/pending")
    batches.write_requests(prefix, 7)
    storage.write_text(prefix / "nested" / "broken.json", "{not json")
    storage.write_text(prefix / ".partial.tmp", "ignored")
    uris = metrics.list_pending("raw/requests/pending")
    assert len(uris) == 8
    plan = batches.split(uris, 3)
    assert [len(b) for b in plan] == [3, 3, 2] and sorted(sum(plan, [])) == uris
    assert batches.split(uris, 20) == [[u] for u in uris]  # never an empty batch
    assert batches.split([], 4) == []

    results = [batches.process(b, "2026-11-22", i) for i, b in enumerate(plan)]
    assert sum(r["processed"] for r in results) == 7 and sum(r["quarantined"] for r in results) == 1
    assert metrics.list_pending("raw/requests/pending") == []
    done = lake / "lake" / "curated" / "requests" / "2026-11-22"
    lines = [json.loads(x) for f in sorted(done.glob("*.jsonl")) for x in f.read_text().splitlines()]
    assert len(lines) == 7 and all(r["tokens"] > 3 and r["device"] == "cpu" for r in lines)
    assert all(r["request"]["prompt"].startswith("Summarise customer ticket") for r in lines)  # kept before delete
    qdir = lake / "lake" / "quarantine" / "requests" / "2026-11-22" / "nested"
    assert (qdir / "broken.json").read_bytes() == b"{not json"  # byte-exact copy before the delete
    reason = json.loads((qdir / "broken.json.reason.json").read_text())
    assert reason["reason"].startswith("invalid JSON: Expecting property name") and reason["line"] == 1
    assert reason["source"].endswith("raw/requests/pending/nested/broken.json") and reason["bytes"] == 9
    # Rerunning a batch whose objects are gone changes nothing (idempotent retries).
    assert batches.process(plan[0], "2026-11-22", 0)["processed"] == 0


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
