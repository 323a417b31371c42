"""A file dropped into the watched lake prefix starts its consumer DAG, through the real scheduler.

The stack is ``make start``'s (scripts/start.sh: api-server, scheduler, dag-processor, triggerer),
private to this test, without the first-start seed. The chain under test is the one a user gets:
dag-processor registers adaptive_retraining's AssetWatcher → the triggerer runs LakePrefixTrigger
→ a file lands under ``raw/features/<day>/`` → one ``feature_batch`` asset event → the scheduler
creates an asset-triggered run of adaptive_retraining, whose upstream event names the file.
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path

from tests.fixtures.local_stack import local_stack

DAG_ID = "adaptive_retraining"
BASELINE_LINE = "LakePrefixTrigger watching raw/features"


def _wait(what: str, check, timeout: float, logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(2)
    tail = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(logs.glob("*.log"))
                     if p.name in ("triggerer.log", "scheduler.log", "dag-processor.log"))
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def test_a_file_landing_in_the_lake_starts_a_run_of_its_consumer(tmp_path):
    logs = tmp_path / "logs"
    with local_stack(tmp_path, first_start_seed=False,
                     extra_env={"AIRFLOW_VAR_GENAI_LAKE_WATCH_POLL_S": "2"}) as stack:
        stack.wait_parsed(DAG_ID)
        stack.pause(DAG_ID, False)  # watchers run for assets that an active DAG is scheduled on
        triggerer_log = logs / "triggerer.log"
        _wait("the watcher's baseline in the triggerer log",
              lambda: triggerer_log.exists() and BASELINE_LINE in triggerer_log.read_text(errors="replace"),
              240, logs)
        assert stack.run_ids(DAG_ID) == []  # an empty lake: the baseline fired nothing

        landed = tmp_path / "data" / "lake" / "raw" / "features" / "2026-11-22" / "batch.parquet"
        landed.parent.mkdir(parents=True)
        landed.write_bytes(b"PAR1 not really a batch")  # what matters here is that it arrived
        run_id = _wait(f"a run of {DAG_ID}", lambda: (stack.run_ids(DAG_ID) or [None])[0], 180, logs)
        run_path = f"dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}"
        # Airflow 3.3's event serializer declares a referenced run's start_date non-nullable: while the
        # run is still queued (start_date null) upstreamAssetEvents and assets/events answer 500. So the
        # DAG stays active until the scheduler has started the run, and is paused only then.
        run = _wait(f"{run_id} to start", lambda: (r := stack.request("GET", run_path))["start_date"] and r,
                    180, logs)
        stack.pause(DAG_ID)

        assert run["run_type"] == "asset_triggered", run
        events = stack.request("GET", f"{run_path}/upstreamAssetEvents")
        (event,) = events["asset_events"]
        assert event["asset_id"] and event["extra"]["from_trigger"] is True
        assert event["extra"]["payload"]["key"] == "2026-11-22/batch.parquet"
        assert event["extra"]["payload"]["uri"] == f"file://{landed}"
        # One file, one event, one run: no refire on later polls.
        time.sleep(8)
        assert stack.run_ids(DAG_ID) == [run_id]
        assets = stack.request("GET", "assets/events?asset_id=" + str(event["asset_id"]))
        assert assets["total_entries"] == 1, assets
        stack.request("PATCH", run_path, {"state": "failed"})
