"""End to end: adaptive_retraining under dag.test() on seeded feature batches.

Small on purpose (600-row batches, 3-4 search calls, 300 bootstrap resamples) so the whole file
stays within a few minutes on a shared 2-core machine; every assertion is on real outputs: task
states, registry aliases and statuses, warehouse rows, lake files.
"""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pendulum
import pytest

from tests.e2e.asset_events import run_events

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")   # drifted batch
STABLE_DAY = DAY - timedelta(days=1)              # stable batch
DAG_ID = "adaptive_retraining"

# Every key any test changes is listed here and every run passes FAST | overrides: dag.test() keeps
# the params of the previous run on the session's (shared) DAG object for keys a conf leaves out.
FAST = {
    "run_date": "", "search_round": 1, "warm_start_trials": "", "force_retrain": False, "gate_metric": "log_loss",
    "n_calls": 3, "n_initial_points": 2, "bootstrap_samples": 300, "max_search_rounds": 1,
    # Cheaper trees keep each objective call around a second here; the declared space is otherwise unchanged.
    "search_space": {"max_iter": [30, 120]},
    "min_batch_rows": 200, "max_quarantined_share": 0.2, "insufficient_evidence": "fail",
    # The gate's own promotion path; the default (canary: hand over) has its own test below.
    "promotion": "gate",
}
GOOD_CHAMPION = {"learning_rate": 0.05, "max_iter": 120, "max_leaf_nodes": 8, "min_samples_leaf": 40,
                 "l2_regularization": 0.0}


@pytest.fixture
def seeded(lake):
    """Reference (1200 rows: the large-reference tests) + a stable and a drifted 600-row batch."""
    from include.demo.writers import write_feature_batches

    write_feature_batches(DAY.date(), rows=600, seed=42)
    return lake


def _champion(params=None):
    from include.platform import storage
    from include.retraining import pipeline

    reference = storage.read_parquet(storage.lake_path("raw", "features", "reference", "reference.parquet"))
    return pipeline.register_initial_champion(reference, params)


def _states(run):
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return {ti.task_id: ti.state for ti in s.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=run.run_id)}


def _tries(run, task_id):
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return s.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id=task_id).one().try_number


def _aliases():
    from include.platform import registry

    return registry.aliases("churn")


def test_no_drift_takes_the_skip_path_and_still_produces_analytics(dagbag, seeded):
    from include.platform import warehouse

    first = _champion()
    run = dagbag.get_dag(DAG_ID).test(logical_date=STABLE_DAY, run_conf=FAST)
    assert run.state == "success"
    states = _states(run)
    assert states["skip_retraining"] == "success"
    assert states["tune_challenger"] == "skipped" and states["quality_gate"] == "skipped"
    assert states["join"] == "success" and states["analytics"] == "success"
    assert _aliases() == {"champion": first.version}

    day = STABLE_DAY.date().isoformat()
    reports = seeded / "lake" / "reports" / DAG_ID / day
    assert (reports / "drift" / "drift.md").exists()
    assert len(list((reports / "drift" / "plots").glob("*.png"))) == 12  # 10 features + target + prediction
    assert (reports / "analytics" / "analytics.md").exists()
    scores = warehouse.query("SELECT count(*) AS n, min(model_version) AS v FROM churn_scores WHERE run_date = ?",
                             [day])
    assert scores["n"][0] == 600 and scores["v"][0] == first.version
    decision = warehouse.query("SELECT retrain, reason FROM retraining_decisions WHERE run_date = ?", [day])
    assert not decision["retrain"][0] and "no drift" in decision["reason"][0]


def test_drift_retrains_promotes_then_cooldown_holds_next_day(dagbag, seeded):
    from include.demo.customers import customer_table
    from include.platform import registry, storage, warehouse

    first = _champion()
    dag = dagbag.get_dag(DAG_ID)
    run = dag.test(logical_date=DAY, run_conf=FAST)
    assert run.state == "success"
    states = _states(run)
    assert states["tune_challenger"] == "success" and states["promote_challenger"] == "success"
    assert states["keep_champion"] == "skipped" and states["skip_retraining"] == "skipped"
    assert states["analytics"] == "success"

    versions = registry.list_versions("churn")
    challenger = versions[-1]
    # The shared lifecycle vocabulary: champion now, the one it replaced retired (alias previous).
    assert challenger.status == "champion" and challenger.metadata["run_date"] == DAY.date().isoformat()
    assert challenger.status_details["decided_by"] == "adaptive_retraining.quality_gate"
    assert challenger.status_details["decision"] == "promote" and challenger.status_details["from"] == "challenger"
    assert challenger.status_details["metrics"]["ci_low"] > 0
    assert registry.get_version("churn", first.version).status == "retired"
    assert run_events(run.run_id, "challenger_registered") == []  # promotion=gate: no hand-off to the canary
    assert challenger.metadata["search"]["n_evaluations"] == 3
    assert {"holdout_log_loss", "holdout_roc_auc", "validation_log_loss"} <= set(challenger.metrics)
    assert _aliases() == {"champion": challenger.version, "previous": first.version}
    gate_row = warehouse.query("SELECT promote, improvement, ci_low FROM retraining_gate WHERE run_id = ?",
                               [run.run_id])
    assert gate_row["promote"][0] and gate_row["ci_low"][0] > 0
    scored = warehouse.query("SELECT DISTINCT model_version FROM churn_scores WHERE run_date = ?",
                             [DAY.date().isoformat()])
    assert list(scored["model_version"]) == [challenger.version]  # analytics used the new champion

    # Next day, another drifted batch: drift is detected, but the cool-down holds.
    next_day = DAY + timedelta(days=1)
    storage.write_parquet(storage.lake_path("raw", "features", next_day.date().isoformat(), "batch.parquet"),
                          customer_table(600, seed=77, drift=0.6))
    second = dag.test(logical_date=next_day, run_conf=FAST)
    assert second.state == "success"
    states = _states(second)
    assert states["skip_retraining"] == "success" and states["tune_challenger"] == "skipped"
    assert states["analytics"] == "success"
    decision = warehouse.query("SELECT retrain, reason FROM retraining_decisions WHERE run_id = ?",
                               [second.run_id])
    assert not decision["retrain"][0] and "cool-down" in decision["reason"][0]
    assert _aliases()["champion"] == challenger.version
    assert len(registry.list_versions("churn")) == len(versions)


def test_worse_challenger_is_not_promoted_and_says_why(dagbag, seeded):
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    from include.platform import registry, warehouse

    champion = _champion(GOOD_CHAMPION)
    # A search space that can only produce a nearly untrained model: a genuinely worse challenger.
    conf = FAST | {"force_retrain": True, "gate_metric": "roc_auc", "max_search_rounds": 2,
                   "search_space": {"max_iter": [1, 2], "learning_rate": [0.001, 0.002], "max_leaf_nodes": [4, 5]}}
    run = dagbag.get_dag(DAG_ID).test(logical_date=STABLE_DAY, run_conf=conf)
    assert run.state == "success"
    states = _states(run)
    assert states["keep_champion"] == "success" and states["promote_challenger"] == "skipped"
    assert states["analytics"] == "success"
    assert _aliases()["champion"] == champion.version

    rejected = registry.list_versions("churn")[-1]
    assert rejected.status == "rejected"
    assert rejected.status_details["decided_by"] == "adaptive_retraining.quality_gate"
    reasons = rejected.status_details["reasons"]
    assert any("below the required" in r for r in reasons)
    assert "challenger" not in _aliases()  # nothing serves a rejected version
    assert registry.get_version("churn", champion.version).status == "champion"
    row = warehouse.query("SELECT promote, reasons, improvement FROM retraining_gate WHERE run_id = ?", [run.run_id])
    assert not row["promote"][0] and row["improvement"][0] < 0 and "roc_auc" in row["reasons"][0]

    # The article's "loop back to retrain" = a bounded follow-up run, warm-started from this round.
    assert states["request_follow_up_search"] == "success"
    with create_session() as s:
        follow = s.query(DagRun).filter_by(dag_id=DAG_ID, run_id=f"follow_up__{run.run_id}").one()
        assert follow.conf["search_round"] == 2 and follow.conf["run_date"] == STABLE_DAY.date().isoformat()
        assert follow.conf["warm_start_trials"].endswith(".json")
        follow_conf = dict(follow.conf)

    # Run that round (dag.test() does not pick up queued runs): it continues the same search from
    # round 1's points, is still rejected, and being the last round asks for no further one.
    second = dagbag.get_dag(DAG_ID).test(logical_date=STABLE_DAY + timedelta(hours=1), run_conf=FAST | follow_conf)
    assert second.state == "success"
    states = _states(second)
    assert states["keep_champion"] == "success" and states["request_follow_up_search"] == "skipped"
    assert states["analytics"] == "success"
    round_two = registry.list_versions("churn")[-1]
    assert round_two.metadata["search_round"] == 2 and round_two.status == "rejected"
    assert round_two.status_details["reasons"] and round_two.status_details["decision"] == "reject"
    assert round_two.metadata["search"]["resumed_from"] == 3 and round_two.metadata["search"]["n_evaluations"] == 6
    assert _aliases()["champion"] == champion.version


def test_canary_promotion_mode_hands_the_challenger_over_and_never_moves_the_champion(dagbag, seeded, monkeypatch):
    """One promotion path: with promotion=canary the gate's pass is a hand-off, canary_deploy decides."""
    from include.platform import registry

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_CHURN_PROMOTION", "canary")
    first = _champion()
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST | {"promotion": ""})  # the form left empty
    assert run.state == "success"
    states = _states(run)
    assert states["quality_gate"] == "success" and states["hand_to_canary"] == "success", states
    assert states["promote_challenger"] == "skipped" and states["keep_champion"] == "skipped", states

    challenger = registry.list_versions("churn")[-1]
    assert challenger.status == "challenger" and challenger.status_details["decision"] == "hand_to_canary"
    assert challenger.status_details["evidence"]["promotion"] == "canary"
    assert _aliases() == {"champion": first.version, "challenger": challenger.version}
    assert registry.get_version("churn", first.version).status == "champion"
    (gate_file,) = (seeded / "lake" / "reports" / DAG_ID / DAY.date().isoformat() / "gate").glob("gate-*.json")
    gate = json.loads(gate_file.read_text())
    assert gate["promote"] and gate["decision"] == "hand_to_canary" and gate["promotion"] == "canary"
    # The hand-off is the challenger_registered event, naming the model canary_deploy is to judge.
    (event,) = run_events(run.run_id, "challenger_registered")
    assert set(event) >= {"model", "version", "kind", "status", "decision", "metrics"}, event
    assert (event["model"], event["version"], event["kind"], event["status"], event["decision"]) == \
        ("churn", challenger.version, "model", "challenger", "hand_to_canary")
    assert event["metrics"]["ci_low"] > 0 and event["metrics"]["holdout_rows"] == challenger.metadata["holdout_rows"]
    # ... and why it was trained: the run's drift verdict (what retraining_drift holds for the day).
    assert 0 <= event["drifted_share"] <= 1 and isinstance(event["dataset_drift"], bool)
    assert event["drift_report"].endswith(".md")
    # What the canary needs to replay the labelled rows this version never trained on.
    assert challenger.metadata["holdout_share"] == 0.3 and challenger.metadata["holdout_id_column"] == "customer_id"
    assert challenger.metadata["batch_uri"].endswith(f"curated/{DAG_ID}/{DAY.date().isoformat()}/batch.parquet")
    # The run spent compute (a search and a refit) and says so to cloud_cost_report.
    (spent,) = run_events(run.run_id, "compute_spent")
    assert (spent["dag_id"], spent["run_id"], spent["emitted_by"]) == (DAG_ID, run.run_id, "analytics")
    assert spent["retrained"] is True and spent["device"] == "cpu" and spent["run_wall_s"] > 0


def test_retry_in_the_middle_of_the_search_resumes(dagbag, seeded, monkeypatch):
    from include.platform import registry, storage
    from include.retraining import pipeline

    _champion()
    real = pipeline.evaluate_candidate
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the worker dies during the third objective call of the first try
            raise RuntimeError("worker lost in the middle of the search")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "evaluate_candidate", flaky)
    dag = dagbag.get_dag(DAG_ID)
    dag.get_task("tune_challenger").retry_delay = timedelta(seconds=0)
    dag.get_task("tune_challenger").retry_exponential_backoff = False
    run = dag.test(logical_date=DAY, run_conf=FAST | {"n_calls": 4})
    assert run.state == "success"
    assert _tries(run, "tune_challenger") == 2

    # 2 finished calls + 1 crashed call on try 1, then only the 2 missing calls on try 2.
    assert calls["n"] == 5
    version = registry.list_versions("churn")[-1]
    search = version.metadata["search"]
    assert search["resumed_from"] == 2 and search["n_new_evaluations"] == 2
    assert search["n_evaluations"] == 4 and search["attempts"] == 2
    trials = storage.read_json(storage.path_from_uri(version.metadata["trials_uri"]))
    assert len(trials["x_iters"]) == 4


# -- minimum evidence: thin batches are never "no drift" ------------------------------------------
def _thin_batch(kind):
    from include.demo.customers import customer_table

    if kind == "empty":
        return customer_table(10, seed=5).iloc[0:0], "the batch is empty"
    if kind == "three_rows":
        return customer_table(3, seed=5), "3 valid rows < min_batch_rows 200"
    return customer_table(300, seed=5).assign(churned=7), "all 300 rows of the batch were quarantined"


NOT_RUN = ("detect_drift", "decide", "tune_challenger", "quality_gate", "promote_challenger", "join", "analytics")


@pytest.mark.parametrize("kind", ["empty", "three_rows", "fully_quarantined"])
def test_thin_batch_fails_at_once_naming_the_fix(dagbag, seeded, smtp_sink, kind):
    from include.platform import registry, storage, warehouse

    champion = _champion()
    batch, problem = _thin_batch(kind)
    storage.write_parquet(storage.lake_path("raw", "features", STABLE_DAY.date().isoformat(), "batch.parquet"), batch)
    run = dagbag.get_dag(DAG_ID).test(logical_date=STABLE_DAY, run_conf=FAST)
    assert run.state == "failed"
    states = _states(run)
    assert states["load_batch"] == "success" and states["check_evidence"] == "failed", states
    assert _tries(run, "check_evidence") == 1  # PermanentError: failed at once, not retried
    assert all(states[t] in ("upstream_failed", None) for t in NOT_RUN), states
    assert states["insufficient_evidence"] == "upstream_failed"

    row = warehouse.query("SELECT sufficient, problems, fix FROM retraining_evidence WHERE run_id = ?",
                          [run.run_id]).iloc[0]
    assert not bool(row["sufficient"]) and problem in row["problems"]
    assert "min_batch_rows" in row["fix"] or "correct the rejected rows" in row["fix"]
    # The failure alert carries the exception: problem and fix.
    failure = [m for m in smtp_sink.messages if "check_evidence" in m["Subject"]]
    assert len(failure) == 1, [m["Subject"] for m in smtp_sink.messages]
    text = html.unescape("".join(p.get_payload(decode=True).decode() for p in failure[0].walk()
                                 if not p.is_multipart()))
    assert problem in text and "fix:" in text
    # Nothing assessed, registered or promoted.
    assert registry.list_versions("churn") == registry.list_versions("churn")[:1]
    assert _aliases() == {"champion": champion.version}
    assert not warehouse.table_exists("retraining_drift")


@pytest.mark.parametrize("kind", ["empty", "three_rows", "fully_quarantined"])
def test_thin_batch_in_alert_mode_takes_the_insufficient_evidence_branch(dagbag, seeded, smtp_sink, kind):
    from include.platform import registry, storage, warehouse

    champion = _champion()
    batch, problem = _thin_batch(kind)
    storage.write_parquet(storage.lake_path("raw", "features", STABLE_DAY.date().isoformat(), "batch.parquet"), batch)
    run = dagbag.get_dag(DAG_ID).test(logical_date=STABLE_DAY,
                                      run_conf=FAST | {"insufficient_evidence": "alert", "force_retrain": True})
    assert run.state == "success"
    states = _states(run)
    assert states["check_evidence"] == "success" and states["insufficient_evidence"] == "success", states
    assert all(states[t] == "skipped" for t in NOT_RUN), states  # force_retrain does not bypass evidence

    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert len(subjects) == 1 and "insufficient evidence, drift not assessed" in subjects[0], subjects
    row = warehouse.query("SELECT sufficient, on_insufficient, problems FROM retraining_evidence WHERE run_id = ?",
                          [run.run_id]).iloc[0]
    assert not bool(row["sufficient"]) and row["on_insufficient"] == "alert" and problem in row["problems"]
    assert [v.version for v in registry.list_versions("churn")] == [champion.version]
    assert _aliases() == {"champion": champion.version}
    for table in ("retraining_drift", "retraining_decisions", "churn_scores"):
        assert not warehouse.table_exists(table), table
