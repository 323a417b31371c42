"""What each task of the ``synthetic_data_generation`` DAG does, as plain functions over the lake.

Tasks pass only URIs and small dicts through XCom; frames travel through the lake. Where things go
for a run about day ``D``:

    quarantine/synthetic/D/candidate.parquet   the candidate sample, held here until the gate passes
    quarantine/synthetic/D/candidate.jsonl     on reject: every candidate row with source_file/line/reason
    reports/synthetic/D/                       gx_result.json, gx_suite.json, metrics.json, decision.json,
                                               report.md + marginals.png, correlations.png, metrics.png
    curated/synthetic/D/                       synthetic.parquet + dataset_card.json (publish only)
    warehouse table customers_augmented        real + synthetic rows of the latest published batch
                                               (``SyntheticConfig.augmented_table``)
    models/synthetic_customers_tvae/           the registered generator (safetensors + config.json)

Every step takes the run's :class:`~include.synthetic.config.SyntheticConfig`. Every write is keyed
by ``D`` (or replaces by key), so a rerun of the same day rewrites, never duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from include.platform import lifecycle, quarantine, registry, runs, storage, warehouse
from include.platform.errors import ConfigError, PathRefused
from include.platform.paths import clean_parts, safe_local_join
from include.synthetic.config import SOURCE_PATTERN, SyntheticConfig
from include.synthetic.schema import TableSchema, infer_schema

log = logging.getLogger(__name__)

PIPELINE = "synthetic"
MODEL_NAME = "synthetic_customers_tvae"
ID_COLUMN = "customer_id"
#: The task whose verdict publish/reject apply (status_details["decided_by"]).
DECIDED_BY = "synthetic_data_generation.gate"


@dataclass(frozen=True)
class RealData:
    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: TableSchema
    source: dict[str, Any]


def real_table_path(source_path: str) -> storage.ObjectStoragePath:
    """The real table, confined to the raw zone: a Param must not point the worker at any file.

    ``..``, absolute and encoded paths raise ``PathRefused`` (the path guard); another zone
    (``models/``, ``curated/``) or a non-Parquet name raises ``ConfigError``. On a local lake the
    resolved path (symlinks followed) must still lie inside the raw zone. The form's Param carries
    the same :data:`~include.synthetic.config.SOURCE_PATTERN`; this is the task's own check.
    """
    parts = clean_parts(source_path) if isinstance(source_path, str) else []
    if not parts or parts[0] != "raw" or len(parts) < 2 or not re.fullmatch(SOURCE_PATTERN, "/".join(parts)):
        raise ConfigError(f"source_path {source_path!r} is not a Parquet file in the lake's raw zone",
                          'set Param source_path to "raw/<folder>/<file>.parquet", e.g. '
                          f'"{SyntheticConfig.source_path}"')
    path = storage.lake_path("raw", *parts[1:])
    if storage.is_local(path):
        try:
            safe_local_join(storage.zone("raw").path, *parts[1:])
        except PathRefused as exc:
            raise PathRefused(exc.problem, "point source_path at a file in the raw zone, not at a link "
                                           "leading out of it") from exc
    return path


def load_real(cfg: SyntheticConfig) -> RealData:
    """The real table (``source_path``) split into a training part and a hold-out the generator never
    sees (``holdout_share``, ``seed``; at most ``max_training_rows`` rows)."""
    path = real_table_path(cfg.source_path)
    if not path.exists():
        raise FileNotFoundError(f"real table {path} does not exist: run the seed_demo_data DAG (or point "
                                "Param source_path at your table in the lake)")
    raw = storage.read_bytes(path)
    frame = storage.read_parquet(path)
    if ID_COLUMN not in frame.columns:
        raise ValueError(f"{path}: the table needs a {ID_COLUMN!r} column (natural key of the augmented table)")
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(frame))
    if len(frame) > cfg.max_training_rows:
        order = order[:cfg.max_training_rows]
    n_hold = max(1, int(round(len(order) * cfg.holdout_share)))
    holdout = frame.iloc[np.sort(order[:n_hold])].reset_index(drop=True)
    train = frame.iloc[np.sort(order[n_hold:])].reset_index(drop=True)
    source = {"uri": str(path), "sha256": hashlib.sha256(raw).hexdigest(), "rows": len(frame),
              "columns": list(frame.columns)}
    return RealData(train, holdout, infer_schema(train, id_columns=[ID_COLUMN]), source)


def day_paths(day: date) -> dict[str, storage.ObjectStoragePath]:
    return {
        "candidate": runs.day_path("quarantine", PIPELINE, day, "candidate.parquet"),
        "quarantine": runs.day_path("quarantine", PIPELINE, day),
        "reports": runs.day_path("reports", PIPELINE, day),
        "curated": runs.day_path("curated", PIPELINE, day),
    }


# ------------------------------------------------------------------------------------------ train
def train_generator(day: date, cfg: SyntheticConfig) -> dict[str, Any]:
    """Fit the TVAE on the real training split and register it (safetensors + JSON config).

    Registered through the platform lifecycle with ``kind="dataset"``: the generator version stands
    for the dataset it samples, so publish/reject use the registry's one status vocabulary.
    """
    from include.synthetic.tvae import TVAESynthesizer, resolve_device

    real = load_real(cfg)
    config = cfg.tvae
    device = str(resolve_device(config.device))
    model = TVAESynthesizer(config).fit(real.train, real.schema)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp, extra={"source": real.source, "trained_for": day.isoformat()})
        mv = lifecycle.register(
            MODEL_NAME, tmp, kind="dataset", registered_by="synthetic_data_generation.train_generator",
            metadata={"generator": "tvae", "config": vars(config), "source": real.source, "device": device,
                      "trained_for": day.isoformat()},
            metrics={"fit_seconds": model.fit_seconds, "final_loss": model.history[-1] if model.history else 0.0},
        )
    log.info("Trained %s in %.1fs on %s", mv.ref, model.fit_seconds, device)
    return {"model_ref": mv.ref, "version": mv.version, "generator": "tvae", "fit_seconds": round(model.fit_seconds, 2),
            "device": device, "epochs": config.epochs, "seed": config.seed, "source": real.source}


# ------------------------------------------------------------------------------------------ sample
def generate(day: date, model_ref: str, cfg: SyntheticConfig) -> dict[str, Any]:
    """Load the registered generator (sha256-verified) and write the candidate sample to quarantine."""
    from include.synthetic.tvae import TVAESynthesizer

    mv, local = registry.download(model_ref)
    model = TVAESynthesizer.load(local, device="cpu")
    start = time.perf_counter()
    sample = model.sample(cfg.rows_to_generate, seed=cfg.seed)
    seconds = time.perf_counter() - start
    if cfg.drill_out_of_range_share:
        sample = _drill_out_of_range(sample, model.data_encoder.schema, cfg.drill_out_of_range_share)
    sample.insert(0, ID_COLUMN, [f"syn-{day:%Y%m%d}-{i:06d}" for i in range(len(sample))])
    path = day_paths(day)["candidate"]
    storage.write_parquet(path, sample)
    log.info("Sampled %d rows from %s in %.2fs -> %s", len(sample), mv.ref, seconds, path)
    return {"candidate_uri": str(path), "rows": len(sample), "sample_seconds": round(seconds, 3), "seed": cfg.seed}


def _drill_out_of_range(sample: pd.DataFrame, schema: TableSchema, share: float) -> pd.DataFrame:
    """Fault drill: the first ``share`` of rows get the first continuous column's real minimum − 1."""
    spec = schema.continuous[0]
    n = int(round(len(sample) * share))
    log.warning("DRILL: %d of %d rows get %s = %s (below the real minimum)", n, len(sample), spec.name,
                spec.minimum - 1)
    out = sample.copy()
    out.loc[out.index[:n], spec.name] = spec.minimum - 1
    return out.astype({spec.name: sample[spec.name].dtype})


# ------------------------------------------------------------------------------------------ validate
def validate_candidate(day: date, candidate_uri: str, cfg: SyntheticConfig) -> dict[str, Any]:
    """GX suite derived from the real table, run on the candidate; result + suite stored with the run."""
    from include.synthetic.validation import SUITE_NAME, validate

    real = load_real(cfg)
    candidate = storage.read_parquet(storage.path_from_uri(candidate_uri))
    outcome = validate(candidate, real.schema, null_tolerance=cfg.gx_null_tolerance,
                       expected_rows=cfg.rows_to_generate)
    reports = day_paths(day)["reports"]
    storage.write_json(reports / "gx_result.json", outcome["result"])
    storage.write_json(reports / "gx_suite.json", outcome["suite"])
    for line in outcome["failures"]:
        log.warning("GX: %s", line)
    return {"success": outcome["success"], "failures": outcome["failures"], "statistics": outcome["statistics"],
            "suite_name": SUITE_NAME, "result_uri": str(reports / "gx_result.json")}


# ------------------------------------------------------------------------------------------ evaluate
def evaluate_candidate(day: date, candidate_uri: str, cfg: SyntheticConfig) -> dict[str, Any]:
    from include.synthetic.evaluation import evaluate

    real = load_real(cfg)
    candidate = storage.read_parquet(storage.path_from_uri(candidate_uri))
    target = cfg.label
    if target and target not in real.schema.names:
        raise ValueError(f"target_column {target!r} is not a column of the real table {real.schema.names}")
    result = evaluate(real.train, real.holdout, candidate.drop(columns=[ID_COLUMN], errors="ignore"),
                      real.schema, target, seed=cfg.seed, dcr_rows=cfg.dcr_rows)
    storage.write_json(day_paths(day)["reports"] / "metrics.json", result)
    return result["headline"]


# ------------------------------------------------------------------------------------------ gate
def decide(day: date, metrics: dict[str, Any], gx: dict[str, Any], cfg: SyntheticConfig) -> dict[str, Any]:
    from include.synthetic.gate import decide as gate_decide

    decision = gate_decide(metrics, gx, cfg.thresholds)
    storage.write_json(day_paths(day)["reports"] / "decision.json", decision)
    log.info("Gate: %s %s", "publish" if decision["publish"] else "reject", decision["reasons"])
    return decision


# ------------------------------------------------------------------------------------------ publish
def publish(day: date, generator: dict[str, Any], candidate: dict[str, Any], metrics: dict[str, Any],
            gx: dict[str, Any], decision: dict[str, Any], cfg: SyntheticConfig, run_id: str) -> dict[str, Any]:
    """Curated files, the augmented warehouse table and the dataset card; returns the card.

    The generator version is promoted through the platform lifecycle (``kind="dataset"``: status
    ``champion``, the previous one ``retired``); the card starts with the lifecycle's asset-event
    fields (``model``, ``version``, ``kind``, ``status``, ``decision``) beside its ``metrics``, so the
    ``synthetic_dataset`` event the task emits with the card carries them.
    """
    paths = day_paths(day)
    sample = storage.read_parquet(storage.path_from_uri(candidate["candidate_uri"]))
    storage.write_parquet(paths["curated"] / "synthetic.parquet", sample)

    real = storage.read_parquet(real_table_path(cfg.source_path))
    batch = day.isoformat()
    augmented = pd.concat(
        [real.assign(is_synthetic=False), sample.assign(is_synthetic=True)], ignore_index=True
    ).assign(augmentation_batch=batch, generator_ref=generator["model_ref"])
    table = cfg.augmented_table
    written = warehouse.replace_rows(table, augmented, [ID_COLUMN])
    # The table holds one augmented set: rows of earlier batches (older synthetic rows, customers no
    # longer in the source) are removed, so downstream reads need no batch filter.
    warehouse.execute(f"DELETE FROM {table} WHERE augmentation_batch <> ?", [batch])
    counts = warehouse.query(f"SELECT is_synthetic, COUNT(*) AS n FROM {table} GROUP BY is_synthetic")
    by_kind = {bool(r.is_synthetic): int(r.n) for r in counts.itertuples()}

    card_metrics = {k: metrics[k] for k in ("overall_quality", "column_shapes", "column_pair_trends",
                                            "dcr_baseline_protection", "dcr_overfitting_protection",
                                            "exact_copy_rate", "tstr_trtr_ratio", "auc_tstr", "auc_trtr")}
    applied = lifecycle.apply_verdict(MODEL_NAME, generator["version"], lifecycle.Verdict(
        "promote", DECIDED_BY, reasons=tuple(c["reason"] for c in decision["checks"] if c.get("reason")) or
        ("every gate check passed",), metrics=card_metrics,
        evidence={"day": batch, "run_id": run_id, "curated": str(paths["curated"]), "warehouse_table": table}),
        kind="dataset")
    card = {
        **applied.extra,  # model, version, kind, status, decision, metrics: the lifecycle's asset-event fields
        "dataset": "synthetic_customers",
        "date": batch,
        "run_id": run_id,
        "files": {"synthetic": str(paths["curated"] / "synthetic.parquet"),
                  "report": str(paths["reports"] / "report.md"), "gx_result": gx["result_uri"]},
        "warehouse_table": table,
        "rows": {"synthetic": by_kind.get(True, 0), "real": by_kind.get(False, 0), "written": written},
        "generator": {"model_ref": generator["model_ref"], "kind": generator["generator"],
                      "epochs": generator["epochs"], "seed": generator["seed"], "sample_seed": candidate["seed"],
                      "device": generator["device"], "fit_seconds": generator["fit_seconds"]},
        "source": generator["source"],
        "metrics": card_metrics,
        "thresholds": decision["thresholds"],
        "gx": {"success": gx["success"], "statistics": gx["statistics"]},
    }
    storage.write_json(paths["curated"] / "dataset_card.json", card)
    quarantine.write_rejected(PIPELINE, day, "candidate", [])  # a rerun that publishes clears a rejection's record
    candidate_path = storage.path_from_uri(candidate["candidate_uri"])
    if candidate_path.exists():
        candidate_path.unlink()
    return card


# ------------------------------------------------------------------------------------------ reject
def reject(day: date, generator: dict[str, Any], candidate: dict[str, Any], decision: dict[str, Any],
           metrics: dict[str, Any], cfg: SyntheticConfig, run_id: str,
           context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Publish nothing; record which checks failed and why; quarantine the candidate's rows.

    ``reports/.../rejection.json`` holds the failed checks; ``quarantine/synthetic/D/candidate.jsonl``
    (the shared quarantine format) holds every candidate row with ``source_file`` (the staged
    candidate), ``line`` (null: a Parquet row) and ``reason``: the row-level rules it breaks, else the
    set-level reasons. The lifecycle marks the generator version ``rejected`` (kind dataset) and sends
    the one alert.
    """
    from include.synthetic.validation import row_problems

    failing = [c for c in decision["checks"] if not c["passed"]]
    record = {"date": day.isoformat(), "run_id": run_id, "model_ref": generator["model_ref"],
              "failed_checks": failing, "reasons": decision["reasons"],
              "metrics": {k: v for k, v in metrics.items() if isinstance(v, int | float)}}
    storage.write_json(day_paths(day)["reports"] / "rejection.json", record)
    sample = storage.read_parquet(storage.path_from_uri(candidate["candidate_uri"]))
    set_reason = "set rejected by the gate: " + " | ".join(decision["reasons"])
    rows = [{"source_file": candidate["candidate_uri"], "line": None, "reason": own or set_reason, **row}
            for own, row in zip(row_problems(sample, load_real(cfg).schema), sample.to_dict("records"), strict=True)]
    quarantined = quarantine.write_rejected(PIPELINE, day, "candidate", rows)
    applied = lifecycle.apply_verdict(MODEL_NAME, generator["version"], lifecycle.Verdict(
        "reject", DECIDED_BY, reasons=tuple(decision["reasons"]) or ("the gate failed",), metrics=record["metrics"],
        evidence={"day": day.isoformat(), "run_id": run_id, "quarantine": quarantined,
                  "failed_checks": [c["name"] for c in failing]}), kind="dataset", context=context)
    return record | {"status": str(applied.status), "quarantine": quarantined, "asset_extra": applied.extra}


# ------------------------------------------------------------------------------------------ report
def report(day: date, generator: dict[str, Any], cfg: SyntheticConfig, context: dict[str, Any]) -> str:
    """``reports/synthetic/D/report.md`` + charts, after either branch; tells cloud_cost_report what the
    run spent (the measured TVAE fit) through the ``compute_spent`` outlet event."""
    from include.platform import assets, compute
    from include.synthetic import report as charts
    from include.synthetic.validation import SUITE_NAME

    paths = day_paths(day)
    reports = paths["reports"]
    decision = storage.read_json(reports / "decision.json")
    evaluation = storage.read_json(reports / "metrics.json")
    gx_result = storage.read_json(reports / "gx_result.json")
    gx_failure = next((c["reason"] for c in decision["checks"] if c["name"] == "gx_validation" and not c["passed"]),
                      None)
    gx = {"suite_name": SUITE_NAME, "statistics": gx_result.get("statistics", {}),
          "failures": [gx_failure] if gx_failure else []}
    real = load_real(cfg)
    sample_path = (paths["curated"] / "synthetic.parquet") if decision["publish"] else paths["candidate"]
    sample = storage.read_parquet(sample_path)
    storage.write_bytes(reports / "marginals.png", charts.marginals_png(real.train, sample, real.schema))
    storage.write_bytes(reports / "correlations.png", charts.correlations_png(real.train, sample, real.schema))
    storage.write_bytes(reports / "metrics.png", charts.metrics_png(decision["checks"], evaluation["headline"]))
    storage.write_text(reports / "report.md", charts.markdown(day.isoformat(), decision, evaluation, gx, generator))
    compute.emit(context, assets.COMPUTE_SPENT, device=generator["device"], steps_s={"fit": generator["fit_seconds"]},
                 model=generator.get("model_ref"))
    return str(reports / "report.md")
