"""Platform cost from task durations × rate card (the REST call itself is tested end to end)."""

from __future__ import annotations

import json

import pytest

from include.costs.sources import airflow as platform


def _ti(dag_id, run_id, duration, pool="default_pool", queue="default", slots=1, state="success",
        start="2026-11-22T08:00:00Z"):
    """A task instance as ``GET /api/v2/dags/~/dagRuns/~/taskInstances`` returns it (fields we use)."""
    return {"task_id": "t", "dag_id": dag_id, "dag_run_id": run_id, "map_index": -1, "start_date": start,
            "end_date": start, "duration": duration, "state": state, "pool": pool, "pool_slots": slots,
            "queue": queue, "try_number": 1}


def test_cost_is_duration_times_rate_card_per_pool_and_queue():
    card = platform.rate_card()
    tis = [
        _ti("customer_sentiment_analysis", "r1", 3600),                      # 1 h × 1 vCPU × 0.048
        _ti("customer_sentiment_analysis", "r2", 1800, slots=2),             # 0.5 h × 2 slots
        _ti("adaptive_retraining", "r1", 7200, pool="gpu"),                  # 2 h × (4 × 0.048 + 1 × 1.20)
        _ti("adaptive_retraining", "r1", 600, queue="gpu", start="2026-11-21T23:00:00Z"),
        _ti("adaptive_retraining", "r1", None, state="running"),            # not finished: not billed
    ]
    frame = platform.cost_rows(tis, card)
    assert len(frame) == 3
    sent = frame[frame["x_DagId"] == "customer_sentiment_analysis"].iloc[0]
    assert sent["BilledCost"] == pytest.approx(0.048 * 2)
    assert sent["ConsumedQuantity"] == pytest.approx(2.0) and sent["ConsumedUnit"] == "Hours"
    assert sent["x_DagRuns"] == 2 and sent["ServiceName"] == "Airflow workers (CPU)"
    gpu = frame[(frame["x_DagId"] == "adaptive_retraining") & (frame["ChargePeriodStart"].dt.day == 22)].iloc[0]
    assert gpu["BilledCost"] == pytest.approx(2 * (4 * 0.048 + 1.20))
    assert gpu["ServiceName"] == "Airflow workers (GPU)" and gpu["ResourceType"] == "pool=gpu; queue=default"
    assert json.loads(gpu["Tags"]) == {"dag_id": "adaptive_retraining", "pool": "gpu", "queue": "default"}
    assert (frame["ChargePeriodStart"].dt.day == 21).sum() == 1  # attributed to the day the task started


def test_rate_card_variable_overrides_only_what_it_names(monkeypatch):
    from include.costs.config import CostConfig

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_RATE_CARD",
                       json.dumps({"default": {"cpu_hour": 0.10}, "pools": {"gpu": {"gpu_hour": 3.0}}}))
    card = platform.rate_card(CostConfig.from_params({}).rate_card)
    assert card["default"]["cpu_hour"] == 0.10 and card["default"]["cpus"] == 1
    assert platform.resolve_rates(card, "gpu", "default") == {"cpus": 4.0, "gpus": 1.0, "cpu_hour": 0.10,
                                                              "gpu_hour": 3.0}


def test_unreachable_api_skips_the_source_with_the_reason(caplog):
    from datetime import date

    from include.platform.airflow_api import AirflowAPI, AirflowAPIUnavailable
    from tests.fixtures.emulators import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    api = AirflowAPI(url, timeout=2)
    with caplog.at_level("WARNING"):
        frame = platform.fetch(date(2026, 11, 1), date(2026, 11, 22), api=api)
    assert frame.empty and frame.attrs["status"].startswith(f"skipped: Airflow REST API at {url} not reachable")
    assert "make start" in frame.attrs["status"]
    assert "Source airflow_platform skipped" in caplog.text and url in caplog.text and "make start" in caplog.text
    with pytest.raises(AirflowAPIUnavailable, match="make start"):  # required=True surfaces it
        platform.fetch(date(2026, 11, 1), date(2026, 11, 22), api=api, required=True)


def test_cost_extract_step_skips_the_platform_source_without_an_api_server(lake, monkeypatch, caplog):
    """What cloud_cost_report's extract task runs for airflow_platform under `make run` without `make start`."""
    from datetime import date

    from include.costs.config import CostConfig
    from include.costs.pipeline import extract_source
    from tests.fixtures.emulators import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", url)
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    with caplog.at_level("WARNING"):
        out = extract_source(CostConfig.from_params({}), "airflow_platform", date(2026, 11, 22))
    assert out["status"].startswith(f"skipped: Airflow REST API at {url} not reachable") and out["rows"] == 0
    assert "make start" in caplog.text
