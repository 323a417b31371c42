"""One function per step of the adaptive_retraining DAG: data in, small JSON-safe dicts out.

The DAG's tasks only call these and pass URIs / small dicts through XCom, so every step can be
run and tested without Airflow. Everything a step writes is keyed by the run date (reports,
warehouse rows) or by the run id (search trials), so reruns overwrite instead of piling up.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from include.drift import cooldown, detect, evidence, report
from include.platform import registry, storage, warehouse
from include.platform.charts import png_bytes
from include.platform.errors import ConfigError, PermanentError
from include.retraining import data, gate
from include.retraining.churn_model import DEFAULT_PARAMS, ID_COLUMN, ChurnModel
from include.retraining.features import TARGET
from include.tuning import search
from include.tuning.space import SearchSpace, integer, real
from include.tuning.store import LakeJsonTrialStore

log = logging.getLogger(__name__)

MODEL_NAME = "churn"
DAG_ID = "adaptive_retraining"

#: The declared search space (a Param may narrow or widen any range by name).
SEARCH_SPACE = SearchSpace((
    real("learning_rate", 0.01, 0.3, log=True),
    integer("max_iter", 30, 300),
    integer("max_leaf_nodes", 4, 64, log=True),
    integer("min_samples_leaf", 5, 200, log=True),
    real("l2_regularization", 1e-4, 10.0, log=True),
))


def report_dir(day: date, *parts: str) -> storage.ObjectStoragePath:
    return storage.lake_path("reports", DAG_ID, day.isoformat(), *parts)


def _safe_key(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)


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
    quarantine = storage.lake_path("quarantine", DAG_ID, day.isoformat(), "rejected_rows.parquet")
    if len(rejected):
        storage.write_parquet(quarantine, rejected)
        log.warning("%d of %d rows quarantined at %s", len(rejected), len(batch), quarantine)
    elif quarantine.exists():
        quarantine.unlink()  # a rerun on corrected input must not leave stale rejects behind
    curated = storage.lake_path("curated", DAG_ID, day.isoformat(), "batch.parquet")
    storage.write_parquet(curated, valid)
    return {"reference_uri": str(ref_path), "batch_uri": str(curated), "rows": len(valid),
            "reference_rows": len(reference), "quarantined_rows": len(rejected),
            "quarantine_uri": str(quarantine) if len(rejected) else None}


# -- 1b. minimum evidence -------------------------------------------------------------------------
class InsufficientEvidence(PermanentError):
    """The batch cannot support a drift verdict; a retry reads the same batch, so none is made."""


def assess_evidence(day: date, inputs: dict[str, Any], rules: evidence.EvidenceRules, on_insufficient: str,
                    run_id: str) -> dict[str, Any]:
    """Enough rows, few enough rejects? Recorded in ``retraining_evidence`` on every run.

    ``on_insufficient="fail"`` raises :class:`InsufficientEvidence` (the run fails at once, naming
    the fix); ``"alert"`` returns the verdict so the DAG takes its insufficient-evidence branch.
    Either way no drift verdict is produced: an empty batch is not a stable one.
    """
    if on_insufficient not in evidence.ON_INSUFFICIENT:
        raise ConfigError(f"insufficient_evidence={on_insufficient!r} is not one of {evidence.ON_INSUFFICIENT}",
                          'set Param insufficient_evidence to "fail" or "alert"')
    verdict = evidence.assess(int(inputs["rows"]), int(inputs["quarantined_rows"]),
                              int(inputs["reference_rows"]), rules)
    where = inputs.get("quarantine_uri") or str(storage.lake_path("quarantine", DAG_ID, day.isoformat()))
    fix = "" if verdict.sufficient else verdict.fix(where)
    record = verdict.to_dict() | {"run_id": run_id, "run_date": day.isoformat(),
                                  "on_insufficient": on_insufficient, "fix": fix}
    row = {**record, "problems": "; ".join(verdict.problems),
           "quarantined_share": float(verdict.quarantined_share)}
    warehouse.replace_rows("retraining_evidence", pd.DataFrame([row]), ["run_id"])
    if verdict.sufficient:
        log.info("Evidence for %s: %d valid rows, %.0f%% quarantined: enough for a drift verdict",
                 day, verdict.valid_rows, 100 * verdict.quarantined_share)
        return record
    problem = f"batch of {day}: {'; '.join(verdict.problems)}; drift was not assessed"
    if on_insufficient == "fail":
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


def _frames(inputs: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (storage.read_parquet(storage.path_from_uri(inputs["reference_uri"])),
            storage.read_parquet(storage.path_from_uri(inputs["batch_uri"])))


# -- 2. drift -------------------------------------------------------------------------------------
def check_drift(day: date, inputs: dict[str, Any], *, drift_share: float) -> dict[str, Any]:
    """Data drift of every feature, label drift, prediction drift of the champion; report always."""
    reference, batch = _frames(inputs)
    try:
        result = detect.detect_drift(reference, batch, exclude=[ID_COLUMN], target=TARGET, drift_share=drift_share)
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
        result = detect.with_prediction(result, detect.prediction_drift(*scores))
    else:
        notes.append("No champion yet: prediction drift not measured.")
    written = report.write_report(result, reference, batch, report_dir(day, "drift"),
                                  title=f"Drift report {day.isoformat()}", prediction_scores=scores, notes=notes)
    # "column" is an SQL keyword that the warehouse helper does not quote: store it as column_name.
    frame = result.frame().rename(columns={"column": "column_name"})
    frame.insert(0, "run_date", day.isoformat())
    frame["score"] = frame["score"].astype(float)
    warehouse.replace_rows("retraining_drift", frame, ["run_date", "column_name"])
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


def decide(day: date, drift: dict[str, Any], params: dict[str, Any], run_id: str) -> dict[str, Any]:
    last = last_retrain_date(day, exclude_run_id=run_id)
    result = cooldown.decide_retrain(
        today=day,
        drifted_share=drift["drifted_share"],
        dataset_drift=drift["dataset_drift"],
        prediction_drift=bool(drift.get("prediction_drift")),
        use_prediction_drift=params["use_prediction_drift"],
        last_retrain=last,
        cooldown_days=params["cooldown_days"],
        hard_limit=params["hard_drift_limit"],
        has_champion=drift.get("champion_version") is not None,
        force=params["force_retrain"] or params["search_round"] > 1,
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
def evaluate_candidate(params: dict[str, Any], fit: pd.DataFrame, val: pd.DataFrame, seed: int) -> float:
    """The search objective: validation log loss of a model trained with ``params``."""
    model = ChurnModel.fit(fit, params, seed=seed)
    return gate.metrics(val[TARGET].to_numpy(), model.predict_proba(val))["log_loss"]


def trials_path(day: date, run_id: str) -> storage.ObjectStoragePath:
    return report_dir(day, "search", f"trials-{_safe_key(run_id)}.json")


def tune_and_register(day: date, inputs: dict[str, Any], params: dict[str, Any], run_id: str,
                      try_number: int = 1) -> dict[str, Any]:
    """Bayesian search (resumable), refit the best point, register it as the challenger."""
    from include.platform import lifecycle

    space = SEARCH_SPACE.with_overrides(params.get("search_space") or None)
    for version in registry.list_versions(MODEL_NAME):
        meta = version.metadata
        if meta.get("run_id") == run_id and meta.get("search_round") == params["search_round"]:
            # The task failed after registering (e.g. while emitting its asset): reuse, never duplicate.
            log.info("Run %s already registered %s; reusing it", run_id, version.ref)
            return {"version": version.version, "best_params": meta["params"], "search": meta["search"],
                    "reused": True}
    reference, batch = _frames(inputs)
    split = data.training_split(reference, batch, params["holdout_share"])
    fit, val = data.validation_split(split.train, seed=params["seed"])
    store_path = trials_path(day, run_id)
    warm = params.get("warm_start_trials")
    if warm and not store_path.exists():
        source = storage.path_from_uri(warm)
        if source.exists():
            storage.write_bytes(store_path, storage.read_bytes(source))
            log.info("Follow-up round: continuing the search from %s", source)
    n_calls = params["n_calls"] * params["search_round"]
    log.info("Search over %s, %d calls (try %d), %d fit / %d validation rows",
             space.names, n_calls, try_number, len(fit), len(val))
    result = search.minimize(
        lambda p: evaluate_candidate(p, fit, val, params["seed"]),
        space,
        LakeJsonTrialStore(store_path),
        n_calls=n_calls,
        n_initial_points=params["n_initial_points"],
        time_budget_s=params["search_time_budget_s"],
        seed=params["seed"],
        failure_value=10.0,
    )
    _write_search_report(day, result, space, run_id)
    model = ChurnModel.fit(split.train, result.best_params, seed=params["seed"])
    model.prediction_baseline = model.predict_proba(split.holdout)
    holdout_metrics = gate.metrics(split.holdout[TARGET].to_numpy(), model.prediction_baseline)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp, extra={"trained_on": day.isoformat()})
        mv = lifecycle.register(
            MODEL_NAME, tmp, challenger=True, registered_by=f"{DAG_ID}.tune_challenger",
            metadata={
                "trained_by": DAG_ID, "run_id": run_id, "run_date": day.isoformat(),
                "search_round": params["search_round"], "params": result.best_params,
                "search": result.to_dict(), "search_space": space.to_dict(), "trials_uri": str(store_path),
                "train_rows": len(split.train), "holdout_rows": len(split.holdout),
                "train_fingerprint": data.fingerprint(split.train),
                "holdout_fingerprint": data.fingerprint(split.holdout),
            },
            metrics={f"holdout_{k}": v for k, v in holdout_metrics.items()} | {"validation_log_loss": result.best_value},
        )
    return {"version": mv.version, "best_params": result.best_params, "search": result.to_dict(),
            "trials_uri": str(store_path), "reused": False}


def _write_search_report(day: date, result: search.SearchResult, space: SearchSpace, run_id: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [t["value"] for t in result.trials]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(range(1, len(values) + 1), values, "o", alpha=0.5, label="call")
    ax.plot(range(1, len(values) + 1), np.minimum.accumulate(values), "-", label="best so far")
    ax.set_xlabel("objective call")
    ax.set_ylabel("validation log loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    dest = report_dir(day, "search")
    storage.write_bytes(dest / f"convergence-{_safe_key(run_id)}.png", png_bytes(fig, dpi=80))
    table = pd.DataFrame(result.trials)
    lines = [f"# Hyper-parameter search {day.isoformat()} ({run_id})", "",
             f"- {result.n_evaluations} points ({result.n_new_evaluations} new in attempt {result.attempts}, "
             f"{result.resumed_from} resumed); stopped by {result.stopped_by}; {result.elapsed_s:.1f} s",
             f"- Best validation log loss {result.best_value:.5f} at {result.best_params}", "",
             table.to_markdown(index=False, floatfmt=".5g") if _has_tabulate() else table.to_string(index=False),
             "", f"![convergence](convergence-{_safe_key(run_id)}.png)", ""]
    storage.write_text(dest / f"search-{_safe_key(run_id)}.md", "\n".join(lines))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


# -- 5. gate --------------------------------------------------------------------------------------
def evaluate_gate(day: date, inputs: dict[str, Any], challenger_version: str, params: dict[str, Any],
                  run_id: str) -> dict[str, Any]:
    reference, batch = _frames(inputs)
    split = data.training_split(reference, batch, params["holdout_share"])
    y = split.holdout[TARGET].to_numpy()
    challenger = _load_version(challenger_version)
    p_chall = challenger.predict_proba(split.holdout)
    champion = _champion()
    if champion is None:
        decision = gate.decide_first_model(gate.metrics(y, p_chall), params["first_model_min_auc"])
        champion_version = None
    else:
        champion_version = champion[0].version
        comparison = gate.paired_bootstrap(
            y, champion[1].predict_proba(split.holdout), p_chall, metric=params["gate_metric"],
            n_bootstrap=params["bootstrap_samples"], confidence=params["confidence"], seed=params["seed"])
        decision = gate.decide(comparison, params["min_improvement"])
    mode = promotion_mode(params)
    out = decision.to_dict() | {"challenger_version": challenger_version, "champion_version": champion_version,
                                "holdout_rows": len(y), "promotion": mode,
                                "decision": _lifecycle_decision(decision.promote, mode)}
    storage.write_json(report_dir(day, "gate", f"gate-{_safe_key(run_id)}.json"), out)
    comp = decision.comparison or {}
    warehouse.replace_rows("retraining_gate", pd.DataFrame([{
        "run_id": run_id, "run_date": day.isoformat(), "challenger_version": challenger_version,
        "champion_version": champion_version, "promote": decision.promote, "reasons": " | ".join(decision.reasons),
        "metric": comp.get("metric"), "champion_value": comp.get("champion"),
        "challenger_value": comp.get("challenger"), "improvement": comp.get("improvement"),
        "ci_low": comp.get("ci_low"), "ci_high": comp.get("ci_high"),
    }]), ["run_id"])
    log.info("Gate for %s/%s: %s: %s", MODEL_NAME, challenger_version,
             "promote" if decision.promote else "keep champion", "; ".join(decision.reasons))
    return out


#: Who may promote ``churn@champion``: "gate" = this DAG's paired-bootstrap gate (the default: the
#: canary's model servers cannot serve churn feature rows yet), "canary" = this DAG registers the
#: challenger and stops; canary_deploy decides promote/rollback.
PROMOTION_MODES = ("gate", "canary")


def promotion_mode(params: dict[str, Any]) -> str:
    """Param ``promotion`` if the run has one, else Variable ``genai_churn_promotion``, else "gate"."""
    from include.platform.settings import get_setting

    mode = params.get("promotion") or get_setting("churn_promotion", "gate")
    if mode not in PROMOTION_MODES:
        raise ConfigError(f"promotion={mode!r} is not one of {PROMOTION_MODES}",
                          'set Param promotion (or Variable genai_churn_promotion) to "gate" or "canary"')
    return mode


def _lifecycle_decision(passed: bool, mode: str) -> str:
    """One promotion path: in canary mode a passing challenger is handed over, never promoted here.

    A failing one is still rejected here (the canary judges errors and latency, not churn quality,
    so the offline gate keeps its veto) and loses the challenger alias, so no canary serves it.
    """
    if not passed:
        return "reject"
    return "hand_to_canary" if mode == "canary" else "promote"


def _gate_verdict(gate_result: dict[str, Any], decision: str) -> Any:
    from include.platform.lifecycle import Verdict

    comparison = gate_result.get("comparison") or {}
    metric = comparison.get("metric")
    metrics = ({metric: comparison.get("challenger"), f"champion_{metric}": comparison.get("champion"),
                "improvement": comparison.get("improvement"), "ci_low": comparison.get("ci_low"),
                "ci_high": comparison.get("ci_high")} if metric else {})
    return Verdict(decision, f"{DAG_ID}.quality_gate", reasons=tuple(gate_result["reasons"]),
                   metrics=metrics | {"holdout_rows": gate_result.get("holdout_rows")},
                   evidence={"comparison": comparison, "promotion": gate_result.get("promotion", "gate"),
                             "champion_version": gate_result.get("champion_version")})


def settle(gate_result: dict[str, Any], context: dict[str, Any] | None = None, note: str = "",
           decision: str | None = None) -> dict[str, Any]:
    """Apply the gate's decision through the platform lifecycle (aliases, status, one alert on reject).

    ``decision`` defaults to what :func:`evaluate_gate` recorded (promote / hand_to_canary / reject).
    Returns ``version``, ``decision``, ``status``, ``aliases``, ``reasons`` and ``asset_extra`` (the
    ``{model, version, metrics, status}`` a task attaches to its outlet).
    """
    from include.platform import lifecycle

    decision = decision or gate_result["decision"]
    applied = lifecycle.apply_verdict(MODEL_NAME, gate_result["challenger_version"],
                                      _gate_verdict(gate_result, decision), context=context, note=note)
    return {"version": applied.version, "decision": applied.decision, "status": str(applied.status),
            "aliases": applied.aliases, "reasons": gate_result["reasons"], "asset_extra": applied.extra}


def promote(gate_result: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The promote branch: champion → previous, challenger → champion — or, in canary mode, the hand-off."""
    if gate_result["decision"] == "reject":
        raise PermanentError(f"{MODEL_NAME}/{gate_result['challenger_version']}: the gate did not pass it",
                             "promote only what quality_gate passed")
    return settle(gate_result, context)


def reject(gate_result: dict[str, Any], context: dict[str, Any] | None = None, note: str = "") -> dict[str, Any]:
    """The keep-champion branch: status ``rejected`` with the gate's reasons, challenger alias cleared, one alert."""
    return settle(gate_result, context, note, decision="reject")


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
    dest = report_dir(day, "analytics")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    x = np.arange(len(by_plan))
    ax.bar(x - 0.2, by_plan["predicted"], 0.4, label="predicted")
    ax.bar(x + 0.2, by_plan["actual"], 0.4, label="actual")
    ax.set_xticks(x, by_plan["plan"])
    ax.set_ylabel("churn rate")
    ax.set_title(f"Churn by plan, {day.isoformat()} (model v{mv.version})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    storage.write_bytes(dest / "churn_by_plan.png", png_bytes(fig, dpi=80))
    metrics = gate.metrics(batch[TARGET].to_numpy(), risk)
    top = scores.nlargest(10, "churn_risk")[[ID_COLUMN, "plan", "region", "churn_risk"]]
    lines = [f"# Churn analytics {day.isoformat()}", "",
             f"- Scored {len(scores)} customers with {mv.ref} (champion).",
             f"- Predicted churn rate {metrics['predicted_churn_rate']:.1%}, actual {metrics['actual_churn_rate']:.1%}; "
             f"ROC AUC {metrics['roc_auc']:.3f}, log loss {metrics['log_loss']:.3f} on this batch's labels "
             "(optimistic when the champion was trained on part of this batch; the gate report has the "
             "hold-out figures).", "",
             "## By plan", "", by_plan.to_string(index=False), "",
             "## Highest risk", "", top.to_string(index=False), "", "![churn by plan](churn_by_plan.png)", ""]
    report_uri = storage.write_text(dest / "analytics.md", "\n".join(lines))
    return {"champion_version": mv.version, "rows_scored": len(scores), "report": str(report_uri),
            "predicted_churn_rate": round(metrics["predicted_churn_rate"], 4),
            "roc_auc": round(metrics["roc_auc"], 4)}


# -- bootstrap a champion without the DAG (demo set-up, tests) ------------------------------------
def register_initial_champion(reference: pd.DataFrame, params: dict[str, Any] | None = None,
                              seed: int = 0) -> registry.ModelVersion:
    """Train on the reference set with ``params`` (default: scikit-learn defaults) and promote it.

    30 % of the reference (by id hash) is held out for the prediction-drift baseline. Registered
    without ``trained_by`` so it does not start a cool-down.
    """
    from include.platform import lifecycle

    held = data.in_holdout(reference[ID_COLUMN], 0.3)
    model = ChurnModel.fit(reference[~held], params or DEFAULT_PARAMS, seed=seed)
    model.prediction_baseline = model.predict_proba(reference[held])
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        mv = lifecycle.register(MODEL_NAME, tmp, registered_by="bootstrap",
                                metadata={"trained_by": "bootstrap", "params": model.params})
    lifecycle.apply_verdict(MODEL_NAME, mv.version, lifecycle.Verdict(
        "promote", "bootstrap", reasons=("initial champion trained on the reference set",)))
    return registry.get_version(MODEL_NAME, mv.version)
