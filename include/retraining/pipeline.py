"""One function per step of the adaptive_retraining DAG: a :class:`RetrainingConfig` and data in, small dicts out.

The DAG's tasks only call these and pass URIs / small dicts through XCom, so every step can be
run and tested without Airflow. Everything a step writes is keyed by the run date (reports,
warehouse rows) or by the run id (search trials), so reruns overwrite instead of piling up.
Reports are written by :mod:`include.retraining.reports`, the searched space comes from
:mod:`include.retraining.search_space`, and every verdict on a version goes through the shared
lifecycle (:mod:`include.platform.lifecycle`): one status vocabulary, one alert, one event shape.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import date
from typing import Any

import pandas as pd

from include.drift import cooldown, detect, evidence, report
from include.platform import lifecycle, quarantine, registry, storage, warehouse
from include.platform.errors import PermanentError
from include.retraining import data, gate, reports
from include.retraining.churn_model import DEFAULT_PARAMS, ID_COLUMN, ChurnModel
from include.retraining.config import RetrainingConfig
from include.retraining.features import TARGET
from include.retraining.search_space import space_for
from include.tuning import search
from include.tuning.store import LakeJsonTrialStore

log = logging.getLogger(__name__)

MODEL_NAME = "churn"
DAG_ID = reports.DAG_ID
#: The quarantine of a day's rejected feature rows: quarantine/adaptive_retraining/<day>/feature_batch.jsonl.
QUARANTINE_NAME = "feature_batch"


def _champion() -> tuple[registry.ModelVersion, ChurnModel] | None:
    if "champion" not in registry.aliases(MODEL_NAME):
        return None
    mv, local = registry.download(f"{MODEL_NAME}@champion")
    return mv, ChurnModel.load(local)


def _load_version(version: str) -> ChurnModel:
    _, local = registry.download(f"{MODEL_NAME}/{version}")
    return ChurnModel.load(local)


# -- 1. inputs ------------------------------------------------------------------------------------
def load_inputs(day: date) -> dict[str, Any]:
    """Check the day's batch, quarantine bad rows with a reason, publish the valid rows."""
    ref_path, batch_path = data.reference_path(), data.batch_path(day)
    for path, what in ((ref_path, "reference set"), (batch_path, f"feature batch for {day}")):
        if not path.exists():
            raise FileNotFoundError(f"no {what} at {path}: run seed_demo_data or the feature export for that day")
    reference = storage.read_parquet(ref_path)
    batch = storage.read_parquet(batch_path)
    data.check_columns(reference, str(ref_path))
    data.check_columns(batch, str(batch_path))
    valid, rejected = data.split_valid_rows(batch)
    # line = null: a Parquet row has none; "row" (0-based position in the file) says which one it was.
    records = rejected.assign(source_file=str(batch_path), line=None)
    quarantined = quarantine.write_rejected(DAG_ID, day, QUARANTINE_NAME, records)  # a clean rerun removes it
    if quarantined:
        log.warning("%d of %d rows quarantined at %s", len(rejected), len(batch), quarantined)
    curated = storage.lake_path("curated", DAG_ID, day.isoformat(), "batch.parquet")
    storage.write_parquet(curated, valid)
    return {"reference_uri": str(ref_path), "batch_uri": str(curated), "rows": len(valid),
            "reference_rows": len(reference), "quarantined_rows": len(rejected), "quarantine_uri": quarantined}


# -- 1b. minimum evidence -------------------------------------------------------------------------
class InsufficientEvidence(PermanentError):
    """The batch cannot support a drift verdict; a retry reads the same batch, so none is made."""


def assess_evidence(day: date, inputs: dict[str, Any], cfg: RetrainingConfig, run_id: str) -> dict[str, Any]:
    """Enough rows, few enough rejects? Recorded in ``retraining_evidence`` on every run.

    ``cfg.insufficient_evidence == "fail"`` raises :class:`InsufficientEvidence` (the run fails at
    once, naming the fix); ``"alert"`` returns the verdict so the DAG takes its insufficient-evidence
    branch. Either way no drift verdict is produced: an empty batch is not a stable one.
    """
    rules = evidence.EvidenceRules(cfg.min_batch_rows, cfg.max_quarantined_share)
    verdict = evidence.assess(int(inputs["rows"]), int(inputs["quarantined_rows"]),
                              int(inputs["reference_rows"]), rules)
    where = inputs.get("quarantine_uri") or str(quarantine.quarantine_path(DAG_ID, day, QUARANTINE_NAME).parent)
    fix = "" if verdict.sufficient else verdict.fix(where)
    record = verdict.to_dict() | {"run_id": run_id, "run_date": day.isoformat(),
                                  "on_insufficient": cfg.insufficient_evidence, "fix": fix}
    row = {**record, "problems": "; ".join(verdict.problems),
           "quarantined_share": float(verdict.quarantined_share)}
    warehouse.replace_rows("retraining_evidence", pd.DataFrame([row]), ["run_id"])
    if verdict.sufficient:
        log.info("Evidence for %s: %d valid rows, %.0f%% quarantined: enough for a drift verdict",
                 day, verdict.valid_rows, 100 * verdict.quarantined_share)
        return record
    problem = f"batch of {day}: {'; '.join(verdict.problems)}; drift was not assessed"
    if cfg.insufficient_evidence == "fail":
        raise InsufficientEvidence(problem, fix)
    log.warning("%s — fix: %s", problem, fix)
    return record


def insufficient_evidence_alert(record: dict[str, Any]) -> Any:
    """The alert of the insufficient-evidence branch: what is missing and how to fix it."""
    from include.platform.notify import Alert

    return Alert(subject=f"{DAG_ID} {record['run_date']}: insufficient evidence, drift not assessed",
                 body="\n".join([*record["problems"], "", f"Fix: {record['fix']}",
                                  "Nothing was retrained, registered or promoted in this run."]),
                 severity="warning")


def send_insufficient_evidence_alert(record: dict[str, Any], context: dict[str, Any] | None = None) -> list[str]:
    """The insufficient-evidence branch: send :func:`insufficient_evidence_alert`; the channels it went out on."""
    from include.platform.notify import send_alert

    return list(send_alert(insufficient_evidence_alert(record), context))


def _frames(inputs: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (storage.read_parquet(storage.path_from_uri(inputs["reference_uri"])),
            storage.read_parquet(storage.path_from_uri(inputs["batch_uri"])))


# -- 2. drift -------------------------------------------------------------------------------------
def check_drift(day: date, inputs: dict[str, Any], cfg: RetrainingConfig) -> dict[str, Any]:
    """Data drift of every feature, label drift, prediction drift of the champion; report always."""
    reference, batch = _frames(inputs)
    try:
        result = detect.detect_drift(reference, batch, exclude=[ID_COLUMN], target=TARGET,
                                     config=cfg.drift_config())
    except detect.InsufficientData as exc:  # reached only when the evidence check was bypassed
        raise InsufficientEvidence(str(exc), "run assess_evidence first; an empty batch has no drift verdict") from exc
    champion = _champion()
    scores = None
    notes = []
    if champion is not None:
        mv, model = champion
        if model.prediction_baseline is not None:
            scores = (model.prediction_baseline, model.predict_proba(batch))
            notes.append(f"Prediction drift: champion {mv.ref} on this batch vs on its own hold-out "
                         f"({len(model.prediction_baseline)} rows it did not train on).")
        else:
            scores = (model.predict_proba(reference), model.predict_proba(batch))
            notes.append(f"Prediction drift: champion {mv.ref} on this batch vs on the reference set "
                         "(no stored hold-out scores; in-sample scores can overstate drift).")
        result = detect.with_prediction(result, detect.prediction_drift(*scores, config=cfg.drift_config()))
    else:
        notes.append("No champion yet: prediction drift not measured.")
    written = report.write_report(result, reference, batch, reports.report_dir(day, "drift"),
                                  title=f"Drift report {day.isoformat()}", prediction_scores=scores, notes=notes)
    # "column" is an SQL keyword that the warehouse helper does not quote: store it as column_name.
    frame = result.frame().rename(columns={"column": "column_name"})
    frame.insert(0, "run_date", day.isoformat())
    frame["score"] = frame["score"].astype(float)
    # add_columns: tables written before the effect-size method gain its columns (p_adjusted, reason, ...).
    warehouse.replace_rows("retraining_drift", frame, ["run_date", "column_name"], add_columns=True)
    summary = result.summary()
    summary.update(report=written["markdown"], champion_version=champion[0].version if champion else None)
    return summary


# -- 3. decision ----------------------------------------------------------------------------------
def last_retrain_date(until: date, exclude_run_id: str | None = None) -> date | None:
    """Day of the latest retrain attempt up to ``until`` (any version this DAG registered, promoted or not).

    Versions registered by ``exclude_run_id`` are ignored, so rerunning the run that retrained does
    not put itself in cool-down; versions dated after ``until`` are ignored for backfills.
    """
    days = [date.fromisoformat(v.metadata["run_date"]) for v in registry.list_versions(MODEL_NAME)
            if v.metadata.get("trained_by") == DAG_ID and v.metadata.get("run_date")
            and v.metadata.get("run_id") != exclude_run_id]
    return max((d for d in days if d <= until), default=None)


def decide(day: date, drift: dict[str, Any], cfg: RetrainingConfig, run_id: str) -> dict[str, Any]:
    """Retrain or skip (drift, cool-down, hard limit, force; a follow-up round always retrains); recorded."""
    last = last_retrain_date(day, exclude_run_id=run_id)
    result = cooldown.decide_retrain(
        today=day,
        drifted_share=drift["drifted_share"],
        dataset_drift=drift["dataset_drift"],
        prediction_drift=bool(drift.get("prediction_drift")),
        use_prediction_drift=cfg.use_prediction_drift,
        last_retrain=last,
        cooldown_days=cfg.cooldown_days,
        hard_limit=cfg.hard_drift_limit,
        has_champion=drift.get("champion_version") is not None,
        force=cfg.force_retrain or cfg.search_round > 1,
    )
    row = pd.DataFrame([{
        "run_id": run_id, "run_date": day.isoformat(), "retrain": result.retrain, "reason": result.reason,
        "drifted_share": drift["drifted_share"], "dataset_drift": drift["dataset_drift"],
        "prediction_drift": bool(drift.get("prediction_drift")),
        "last_retrain": last.isoformat() if last else None, "champion_version": drift.get("champion_version"),
    }])
    warehouse.replace_rows("retraining_decisions", row, ["run_id"])
    log.info("Decision for %s: %s (%s)", day, "retrain" if result.retrain else "skip", result.reason)
    return result.to_dict()


# -- 4. search + register -------------------------------------------------------------------------
def evaluate_candidate(hyper: dict[str, Any], fit: pd.DataFrame, val: pd.DataFrame, seed: int,
                       threads: int = 1) -> float:
    """The search objective: validation log loss of a model trained with the hyper-parameters ``hyper``."""
    model = ChurnModel.fit(fit, hyper, seed=seed, threads=threads)
    return gate.metrics(val[TARGET].to_numpy(), model.predict_proba(val))["log_loss"]


def _registered_by_this_round(run_id: str, search_round: int) -> registry.ModelVersion | None:
    for version in registry.list_versions(MODEL_NAME):
        if version.metadata.get("run_id") == run_id and version.metadata.get("search_round") == search_round:
            return version
    return None


def tune_and_register(day: date, inputs: dict[str, Any], cfg: RetrainingConfig, run_id: str,
                      try_number: int = 1) -> dict[str, Any]:
    """Bayesian search (resumable), refit the best point, register it as the challenger (status ``challenger``).

    Registering is not promoting: the champion moves only on the gate's verdict (promotion=gate) or
    on canary_deploy's (promotion=canary). The version's metadata records ``holdout_share`` and the
    curated batch, so a judge can replay exactly the labelled rows this model never trained on.
    """
    space = space_for(cfg)
    done = _registered_by_this_round(run_id, cfg.search_round)
    if done is not None:
        # The task failed after registering (e.g. while emitting its asset): reuse, never duplicate.
        log.info("Run %s already registered %s; reusing it", run_id, done.ref)
        return {"version": done.version, "best_params": done.metadata["params"], "search": done.metadata["search"],
                "trials_uri": done.metadata.get("trials_uri", ""), "reused": True}
    reference, batch = _frames(inputs)
    split = data.training_split(reference, batch, cfg.holdout_share)
    fit, val = data.validation_split(split.train, seed=cfg.seed)
    store_path = reports.trials_path(day, run_id)
    if cfg.warm_start_trials and not store_path.exists():
        source = storage.path_from_uri(cfg.warm_start_trials)
        if source.exists():
            storage.write_bytes(store_path, storage.read_bytes(source))
            log.info("Follow-up round: continuing the search from %s", source)
    n_calls = cfg.n_calls * cfg.search_round
    log.info("Search over %s, %d calls (try %d), %d fit / %d validation rows",
             space.names, n_calls, try_number, len(fit), len(val))
    result = search.minimize(
        lambda hyper: evaluate_candidate(hyper, fit, val, cfg.seed, cfg.training_threads),
        space,
        LakeJsonTrialStore(store_path),
        n_calls=n_calls,
        n_initial_points=cfg.n_initial_points,
        time_budget_s=cfg.search_time_budget_s,
        seed=cfg.seed,
        failure_value=10.0,
    )
    reports.write_search_report(day, result, run_id)
    model = ChurnModel.fit(split.train, result.best_params, seed=cfg.seed, threads=cfg.training_threads)
    model.prediction_baseline = model.predict_proba(split.holdout)
    holdout_metrics = gate.metrics(split.holdout[TARGET].to_numpy(), model.prediction_baseline)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp, extra={"trained_on": day.isoformat()})
        mv = lifecycle.register(
            MODEL_NAME, tmp, challenger=True, registered_by=f"{DAG_ID}.tune_challenger",
            metadata={
                "trained_by": DAG_ID, "run_id": run_id, "run_date": day.isoformat(),
                "search_round": cfg.search_round, "params": result.best_params,
                "search": result.to_dict(), "search_space": space.to_dict(), "trials_uri": str(store_path),
                "train_rows": len(split.train), "holdout_rows": len(split.holdout),
                "holdout_share": cfg.holdout_share, "holdout_id_column": ID_COLUMN,
                "batch_uri": inputs["batch_uri"],
                "train_fingerprint": data.fingerprint(split.train),
                "holdout_fingerprint": data.fingerprint(split.holdout),
            },
            metrics={f"holdout_{k}": v for k, v in holdout_metrics.items()} | {"validation_log_loss": result.best_value},
        )
    return {"version": mv.version, "best_params": result.best_params, "search": result.to_dict(),
            "trials_uri": str(store_path), "reused": False}


# -- 5. gate --------------------------------------------------------------------------------------
def evaluate_gate(day: date, inputs: dict[str, Any], challenger_version: str, cfg: RetrainingConfig,
                  run_id: str) -> dict[str, Any]:
    """Champion vs challenger on the fixed hold-out; ``decision`` is promote / hand_to_canary / reject."""
    reference, batch = _frames(inputs)
    split = data.training_split(reference, batch, cfg.holdout_share)
    y = split.holdout[TARGET].to_numpy()
    challenger = _load_version(challenger_version)
    p_chall = challenger.predict_proba(split.holdout)
    champion = _champion()
    if champion is None:
        decision = gate.decide_first_model(gate.metrics(y, p_chall), cfg.first_model_min_auc)
        champion_version = None
    else:
        champion_version = champion[0].version
        comparison = gate.paired_bootstrap(
            y, champion[1].predict_proba(split.holdout), p_chall, metric=cfg.gate_metric,
            n_bootstrap=cfg.bootstrap_samples, confidence=cfg.confidence, seed=cfg.seed)
        decision = gate.decide(comparison, cfg.min_improvement)
    out = decision.to_dict() | {"challenger_version": challenger_version, "champion_version": champion_version,
                                "holdout_rows": len(y), "promotion": cfg.promotion,
                                "decision": _lifecycle_decision(decision.promote, cfg.promotion,
                                                                 has_champion=champion is not None)}
    reports.write_gate_report(day, run_id, out)
    comp = decision.comparison or {}
    warehouse.replace_rows("retraining_gate", pd.DataFrame([{
        "run_id": run_id, "run_date": day.isoformat(), "challenger_version": challenger_version,
        "champion_version": champion_version, "promote": decision.promote, "reasons": " | ".join(decision.reasons),
        "metric": comp.get("metric"), "champion_value": comp.get("champion"),
        "challenger_value": comp.get("challenger"), "improvement": comp.get("improvement"),
        "ci_low": comp.get("ci_low"), "ci_high": comp.get("ci_high"),
    }]), ["run_id"])
    log.info("Gate for %s/%s: %s: %s", MODEL_NAME, challenger_version, out["decision"], "; ".join(decision.reasons))
    return out


#: quality_gate's decision → the branch task that applies it.
BRANCHES = {"promote": "promote_challenger", "hand_to_canary": "hand_to_canary", "reject": "keep_champion"}


def _lifecycle_decision(passed: bool, mode: str, *, has_champion: bool = True) -> str:
    """One promotion path per model: in canary mode a passing challenger is handed over, never promoted here.

    A failing one is rejected here in either mode and loses the challenger alias: the offline gate
    keeps its veto, so canary_deploy never puts live churn traffic on a model that is already worse
    on the labelled hold-out. The very first model (no champion yet) is promoted here in either mode:
    a canary compares a challenger with a champion, and there is none to compare it with.
    """
    if not passed:
        return "reject"
    return "hand_to_canary" if mode == "canary" and has_champion else "promote"


def _gate_verdict(gate_result: dict[str, Any], decision: str) -> lifecycle.Verdict:
    comparison = gate_result.get("comparison") or {}
    metric = comparison.get("metric")
    metrics = ({metric: comparison.get("challenger"), f"champion_{metric}": comparison.get("champion"),
                "improvement": comparison.get("improvement"), "ci_low": comparison.get("ci_low"),
                "ci_high": comparison.get("ci_high")} if metric else {})
    return lifecycle.Verdict(decision, f"{DAG_ID}.quality_gate", reasons=tuple(gate_result["reasons"]),
                             metrics=metrics | {"holdout_rows": gate_result.get("holdout_rows")},
                             evidence={"comparison": comparison, "promotion": gate_result.get("promotion"),
                                       "champion_version": gate_result.get("champion_version")})


def _settle(gate_result: dict[str, Any], decision: str, context: dict[str, Any] | None, note: str = "",
            ) -> dict[str, Any]:
    """Apply ``decision`` through the platform lifecycle (aliases, status, one alert on reject).

    Returns ``version``, ``decision``, ``status``, ``aliases``, ``reasons`` and ``asset_extra`` (the
    lifecycle's ``{model, version, kind, status, decision, metrics}`` a task attaches to its outlet).
    """
    if decision in ("promote", "hand_to_canary") and gate_result["decision"] != decision:
        raise PermanentError(f"{MODEL_NAME}/{gate_result['challenger_version']}: the gate decided "
                             f"{gate_result['decision']!r}, not {decision!r}",
                             "apply only the decision quality_gate recorded (one promotion path per model)")
    applied = lifecycle.apply_verdict(MODEL_NAME, gate_result["challenger_version"],
                                      _gate_verdict(gate_result, decision), context=context, note=note)
    return {"version": applied.version, "decision": applied.decision, "status": str(applied.status),
            "aliases": applied.aliases, "reasons": gate_result["reasons"], "asset_extra": applied.extra}


def promote(gate_result: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """promotion=gate, gate passed: champion → previous, challenger → champion (one alias write)."""
    return _settle(gate_result, "promote", context)


def hand_over(gate_result: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """promotion=canary, gate passed: the challenger keeps its alias, the champion stays; the canary decides.

    ``asset_extra`` names the exact churn version for the ``challenger_registered`` event.
    """
    handed = _settle(gate_result, "hand_to_canary", context)
    handed["asset_extra"] = handed["asset_extra"] | drift_extra(context)
    return handed


def drift_extra(context: dict[str, Any] | None) -> dict[str, Any]:
    """Why this challenger exists, for the ``challenger_registered`` event: the run's drift verdict."""
    ti = (context or {}).get("ti")
    drift = (ti.xcom_pull(task_ids="detect_drift") if ti is not None else None) or {}
    return {"drifted_share": drift.get("drifted_share"), "dataset_drift": drift.get("dataset_drift"),
            "prediction_drift": drift.get("prediction_drift"), "drift_report": drift.get("report")}


def reject(gate_result: dict[str, Any], cfg: RetrainingConfig,
           context: dict[str, Any] | None = None) -> list[str]:
    """Keep the champion: status ``rejected`` with the gate's reasons, challenger alias cleared, one alert.

    Returns the branches to follow: a bounded follow-up search round while rounds are left, and
    always ``join`` (a branch skips every direct downstream task it does not return).
    """
    follow_up = cfg.search_round < cfg.max_search_rounds
    note = (f"Follow-up search round {cfg.search_round + 1} requested." if follow_up
            else f"No follow-up: search round {cfg.search_round} of {cfg.max_search_rounds}.")
    _settle(gate_result, "reject", context, note)
    return ["request_follow_up_search", "join"] if follow_up else ["join"]


def follow_up_request(cfg: RetrainingConfig, day: date, challenger: dict[str, Any], run_id: str) -> Exception:
    """The next search round as a new run of this DAG (the article's loop, bounded), as the signal to raise.

    It is the exception ``TriggerDagRunOperator`` raises; the task runner creates the run. Why not
    the operator: importing its module costs ~2 s at parse time here (it pulls the ORM), over the
    DAG parse budget.
    """
    from airflow.sdk.exceptions import DagRunTriggerException

    return DagRunTriggerException(
        trigger_dag_id=DAG_ID, dag_run_id=f"follow_up__{run_id}",
        conf=cfg.follow_up_conf(day, challenger.get("trials_uri", "")),
        reset_dag_run=False, skip_when_already_exists=True, wait_for_completion=False,
        allowed_states=["success"], failed_states=["failed"], poke_interval=60, deferrable=False,
    )


# -- 6. analytics (runs on both paths) ------------------------------------------------------------
def analytics(day: date, inputs: dict[str, Any]) -> dict[str, Any]:
    """Score the batch with whichever model is champion now; churn-risk table and a short report."""
    champion = _champion()
    if champion is None:
        raise registry.MissingModelError(
            f"no {MODEL_NAME}@champion to score with: the first model failed the gate",
            "see the gate report; rerun adaptive_retraining once a model passes")
    mv, model = champion
    _, batch = _frames(inputs)
    risk = model.predict_proba(batch)
    scores = pd.DataFrame({"run_date": day.isoformat(), ID_COLUMN: batch[ID_COLUMN].astype(str),
                           "churn_risk": risk.round(6), "model_version": mv.version,
                           "plan": batch["plan"].astype(str), "region": batch["region"].astype(str)})
    warehouse.replace_rows("churn_scores", scores, ["run_date", ID_COLUMN])
    by_plan = (batch.assign(risk=risk).groupby("plan")
               .agg(customers=(ID_COLUMN, "size"), predicted=("risk", "mean"), actual=(TARGET, "mean"))
               .reset_index())
    metrics = gate.metrics(batch[TARGET].to_numpy(), risk)
    report_uri = reports.write_analytics_report(day, mv.version, mv.ref, scores, by_plan, metrics)
    return {"champion_version": mv.version, "rows_scored": len(scores), "report": report_uri,
            "predicted_churn_rate": round(metrics["predicted_churn_rate"], 4),
            "roc_auc": round(metrics["roc_auc"], 4)}


# -- bootstrap a champion without the DAG (demo set-up, tests) ------------------------------------
def register_initial_champion(reference: pd.DataFrame, hyper: dict[str, Any] | None = None,
                              seed: int = 0) -> registry.ModelVersion:
    """Train on the reference set with ``hyper`` (default: scikit-learn defaults) and promote it.

    30 % of the reference (by id hash) is held out for the prediction-drift baseline. Registered
    without ``trained_by`` so it does not start a cool-down.
    """
    held = data.in_holdout(reference[ID_COLUMN], 0.3)
    model = ChurnModel.fit(reference[~held], hyper or DEFAULT_PARAMS, seed=seed)
    model.prediction_baseline = model.predict_proba(reference[held])
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        mv = lifecycle.register(MODEL_NAME, tmp, registered_by="bootstrap",
                                metadata={"trained_by": "bootstrap", "params": model.params})
    lifecycle.apply_verdict(MODEL_NAME, mv.version, lifecycle.Verdict(
        "promote", "bootstrap", reasons=("initial champion trained on the reference set",)))
    return registry.get_version(MODEL_NAME, mv.version)
