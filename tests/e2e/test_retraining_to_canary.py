"""End to end across two DAGs: adaptive_retraining hands a churn challenger to canary_deploy, which decides.

adaptive_retraining runs under ``dag.test()`` with ``promotion="canary"``: its gate passes the
challenger and emits ``challenger_registered``. canary_deploy then runs *as that event's consumer*:
the run is created with the real event among its consumed asset events (what the scheduler does for
an asset-triggered run; ``dag.test()`` has no argument for it, so the test hands the event to the
run it creates). The canary serves exactly the version the event names, with the churn loader, and
replays the challenger's labelled hold-out rows.

* the retrained (better) challenger passes every step on errors, latency and accuracy: promoted;
* a worse challenger (same trees' size and latency, trained on flipped labels) is rolled back at
  the first step by ``accuracy_vs_champion_ztest`` alone.

Registry statuses use the shared lifecycle vocabulary; the canary, not the trainer, moves the champion.
"""

from __future__ import annotations

import tempfile

import pendulum
import pytest

from tests.e2e.asset_events import run_events

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")  # the drifted batch: adaptive_retraining retrains
RETRAIN = {
    "run_date": "", "search_round": 1, "warm_start_trials": "", "force_retrain": False, "gate_metric": "log_loss",
    "n_calls": 3, "n_initial_points": 2, "bootstrap_samples": 300, "max_search_rounds": 1,
    "search_space": {"max_iter": [30, 120]}, "min_batch_rows": 200, "max_quarantined_share": 0.2,
    "insufficient_evidence": "fail", "promotion": "canary",
}
CANARY = {"model_name": "canary_demo", "bootstrap_demo": True, "bake_seconds": 1, "min_requests": 40,
          "max_step_seconds": 40, "load_rps": 80, "load_concurrency": 4, "recorded_requests": 2000,
          "challenger_error_rate": 0.0, "challenger_added_latency_ms": 0.0}


@pytest.fixture
def seeded(lake):
    from include.demo.writers import write_feature_batches
    from include.platform import storage
    from include.retraining import pipeline

    write_feature_batches(DAY.date(), rows=600, seed=42)
    reference = storage.read_parquet(storage.lake_path("raw", "features", "reference", "reference.parquet"))
    return pipeline.register_initial_champion(reference).version


def _states(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return {ti.task_id: ti.state for ti in s.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id)}


def _canary_consuming(dagbag, monkeypatch, event_id: int):
    """canary_deploy's run, created with asset event ``event_id`` consumed (as the scheduler would)."""
    from airflow.models import dagrun
    from airflow.models.asset import AssetEvent

    create = dagrun.get_or_create_dagrun

    def with_event(**kwargs):
        run = create(**kwargs)
        session = kwargs["session"]
        run.consumed_asset_events.append(session.get(AssetEvent, event_id))
        session.commit()
        return run

    monkeypatch.setattr(dagrun, "get_or_create_dagrun", with_event)
    return dagbag.get_dag("canary_deploy").test(logical_date=DAY, run_conf=CANARY)


def _event_id(source_run_id: str) -> int:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as s:
        (event,) = [e for e in s.query(AssetEvent).all()
                    if e.source_run_id == source_run_id and e.name == "challenger_registered"]
        return event.id


def _plan(run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as s:
        rows = s.query(XComModel).filter_by(dag_id="canary_deploy", run_id=run.run_id, task_id="plan").all()
        return {r.key: XComModel.deserialize_value(r) for r in rows}


def test_retrained_challenger_is_canaried_on_its_holdout_and_promoted(dagbag, seeded, monkeypatch):
    from include.platform import registry

    retrain = dagbag.get_dag("adaptive_retraining").test(logical_date=DAY, run_conf=RETRAIN)
    assert _states(retrain)["hand_to_canary"] == "success", _states(retrain)
    (extra,) = run_events(retrain.run_id, "challenger_registered")
    version = extra["version"]
    assert registry.aliases("churn") == {"champion": seeded, "challenger": version}  # the trainer did not promote

    run = _canary_consuming(dagbag, monkeypatch, _event_id(retrain.run_id))
    states = _states(run)
    assert run.state == "success" and states["rollout"] == "success", states
    plan = _plan(run)
    # (XCom reads "2" back as 2: the versions are compared as text)
    assert (plan["model"], str(plan["challenger"]), str(plan["champion"])) == ("churn", version, seeded)
    assert plan["kinds"] == {"champion": "churn_hgb", "challenger": "churn_hgb"}
    assert str(plan["event"]["version"]) == version  # the version the event named, not a hard-coded demo model

    assert registry.aliases("churn") == {"champion": version, "previous": seeded}
    promoted = registry.get_version("churn", version)
    assert promoted.status == "champion" and promoted.status_details["decided_by"] == "canary_deploy.rollout"
    assert registry.get_version("churn", seeded).status == "retired"
    steps = promoted.status_details["evidence"]["steps"]
    assert [s["weight"] for s in steps] == [10, 25, 50, 100] and all(s["status"] == "pass" for s in steps)
    # Labelled hold-out rows were replayed and graded for both models at every step below 100%.
    assert all(s["challenger"]["labelled"] >= 40 and s["challenger"]["accuracy"] > 0.5 for s in steps)
    assert all(s["champion"]["labelled"] >= 40 for s in steps[:-1])


def test_worse_accuracy_challenger_is_rolled_back_at_the_first_step(dagbag, seeded, monkeypatch):
    """Handed over the way adaptive_retraining's hand_to_canary does; equal latency, worse accuracy."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    from include.platform import lifecycle, registry, storage
    from include.retraining import data
    from include.retraining.churn_model import ChurnModel
    from include.retraining.features import TARGET

    batch = storage.read_parquet(data.batch_path(DAY.date()))
    train = batch[~data.in_holdout(batch[data.ID_COLUMN], 0.3)]
    with tempfile.TemporaryDirectory() as tmp:
        ChurnModel.fit(train.assign(**{TARGET: 1 - train[TARGET]})).save(tmp)  # learned the opposite of the truth
        mv = lifecycle.register("churn", tmp, challenger=True, registered_by="adaptive_retraining.tune_challenger",
                                metadata={"run_date": DAY.date().isoformat(), "holdout_share": 0.3})
    handed = lifecycle.apply_verdict("churn", mv.version, lifecycle.Verdict(
        "hand_to_canary", "adaptive_retraining.hand_to_canary", reasons=("gate passed",)))
    with create_session() as s:  # the event hand_to_canary's outlet would emit
        asset = s.query(AssetModel).filter_by(name="challenger_registered").one()
        event = AssetEvent(asset_id=asset.id, extra=handed.extra, source_dag_id="adaptive_retraining",
                           source_task_id="hand_to_canary", source_run_id="manual__worse")
        s.add(event)
        s.commit()
        event_id = event.id

    run = _canary_consuming(dagbag, monkeypatch, event_id)
    assert run.state == "success", _states(run)
    assert registry.aliases("churn") == {"champion": seeded}
    rolled = registry.get_version("churn", mv.version)
    assert rolled.status == "rolled_back" and rolled.status_details["decision"] == "rollback"
    assert rolled.status_details["evidence"]["failed_step"] == 1
    assert len(rolled.status_details["evidence"]["steps"]) == 1  # never went past 10%
    reasons = " ".join(rolled.status_details["reasons"])
    assert "accuracy_vs_champion_ztest" in reasons, reasons
    assert "error_rate" not in reasons and "p95_vs_champion" not in reasons, reasons
    step = rolled.status_details["evidence"]["steps"][0]
    assert step["challenger"]["accuracy"] < step["champion"]["accuracy"] - 0.02
