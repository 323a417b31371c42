"""What each task of the ``synthetic_data_generation`` DAG does, as plain functions over the lake.

Tasks pass only URIs and small dicts through XCom; frames travel through the lake. Where things go
for a run about day ``D``:

    quarantine/synthetic/D/candidate.parquet   the candidate sample, held here until the gate passes
    reports/synthetic/D/                       gx_result.json, gx_suite.json, metrics.json, decision.json,
                                               report.md + marginals.png, correlations.png, metrics.png
    curated/synthetic/D/                       synthetic.parquet + dataset_card.json (publish only)
    warehouse table customers_augmented        real + synthetic rows of the latest published batch
    models/synthetic_customers_tvae/           the registered generator (safetensors + config.json)

Every write is keyed by ``D`` (or replaces by key), so a rerun of the same day rewrites, never duplicates.
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

from include.platform import registry, storage, warehouse
from include.platform.errors import ConfigError, PathRefused
from include.platform.paths import clean_parts, safe_local_join
from include.synthetic.schema import TableSchema, infer_schema

log = logging.getLogger(__name__)

MODEL_NAME = "synthetic_customers_tvae"
SOURCE_PATH = "raw/customers/customers.parquet"
ID_COLUMN = "customer_id"
AUGMENTED_TABLE = "customers_augmented"
#: The task whose verdict publish/reject apply (status_details["decided_by"]).
DECIDED_BY = "synthetic_data_generation.gate"


@dataclass(frozen=True)
class RealData:
    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: TableSchema
    source: dict[str, Any]


#: Param ``source_path``: a Parquet file in the lake's raw zone. The DAG's Param carries the same
#: pattern so the trigger form refuses anything else; segments cannot start with ``.`` (no ``..``).
SOURCE_PATTERN = r"^raw/([A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.parquet$"


def _source_path(source_path: str) -> storage.ObjectStoragePath:
    """The real table, confined to the raw zone: a Param must not point the worker at any file.

    ``..``, absolute and encoded paths raise ``PathRefused`` (the path guard); another zone
    (``models/``, ``curated/``) or a non-Parquet name raises ``ConfigError``. On a local lake the
    resolved path (symlinks followed) must still lie inside the raw zone.
    """
    parts = clean_parts(source_path) if isinstance(source_path, str) else []
    if not parts or parts[0] != "raw" or len(parts) < 2 or not re.fullmatch(SOURCE_PATTERN, "/".join(parts)):
        raise ConfigError(f"source_path {source_path!r} is not a Parquet file in the lake's raw zone",
                          'set Param source_path to "raw/<folder>/<file>.parquet", e.g. '
                          f'"{SOURCE_PATH}"')
    path = storage.lake_path("raw", *parts[1:])
    if storage.is_local(path):
        try:
            safe_local_join(storage.zone("raw").path, *parts[1:])
        except PathRefused as exc:
            raise PathRefused(exc.problem, "point source_path at a file in the raw zone, not at a link "
                                           "leading out of it") from exc
    return path


def load_real(source_path: str = SOURCE_PATH, holdout_share: float = 0.2, seed: int = 42,
              max_rows: int | None = None) -> RealData:
    """The real table split into a training part and a hold-out the generator never sees (seeded)."""
    path = _source_path(source_path)
    if not path.exists():
        raise FileNotFoundError(f"real table {path} does not exist: run the seed_demo_data DAG (or point "
                                "Param source_path at your table in the lake)")
    raw = storage.read_bytes(path)
    frame = storage.read_parquet(path)
    if ID_COLUMN not in frame.columns:
        raise ValueError(f"{path}: the table needs a {ID_COLUMN!r} column (natural key of the augmented table)")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    if max_rows and len(frame) > max_rows:
        order = order[:max_rows]
    n_hold = max(1, int(round(len(order) * holdout_share)))
    holdout = frame.iloc[np.sort(order[:n_hold])].reset_index(drop=True)
    train = frame.iloc[np.sort(order[n_hold:])].reset_index(drop=True)
    source = {"uri": str(path), "sha256": hashlib.sha256(raw).hexdigest(), "rows": len(frame),
              "columns": list(frame.columns)}
    return RealData(train, holdout, infer_schema(train, id_columns=[ID_COLUMN]), source)


def day_paths(day: date) -> dict[str, storage.ObjectStoragePath]:
    d = day.isoformat()
    return {
        "candidate": storage.lake_path("quarantine", "synthetic", d, "candidate.parquet"),
        "quarantine": storage.lake_path("quarantine", "synthetic", d),
        "reports": storage.lake_path("reports", "synthetic", d),
        "curated": storage.lake_path("curated", "synthetic", d),
    }


# ------------------------------------------------------------------------------------------ train
def train_generator(day: date, params: dict[str, Any]) -> dict[str, Any]:
    """Fit the TVAE on the real training split and register it (safetensors + JSON config).

    Registered through the platform lifecycle with ``kind="dataset"``: the generator version stands
    for the dataset it samples, so publish/reject use the registry's one status vocabulary.
    """
    from include.platform import lifecycle
    from include.synthetic.tvae import TVAEConfig, TVAESynthesizer, resolve_device

    real = load_real(params["source_path"], params["holdout_share"], params["seed"], params["max_training_rows"])
    config = TVAEConfig(epochs=params["epochs"], batch_size=params["batch_size"], seed=params["seed"],
                        device=params["device"], embedding_dim=params["embedding_dim"],
                        threads=params["threads"])
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
def generate(day: date, model_ref: str, rows: int, seed: int) -> dict[str, Any]:
    """Load the registered generator (sha256-verified) and write the candidate sample to quarantine."""
    from include.synthetic.tvae import TVAESynthesizer

    mv, local = registry.download(model_ref)
    model = TVAESynthesizer.load(local, device="cpu")
    start = time.perf_counter()
    sample = model.sample(rows, seed=seed)
    seconds = time.perf_counter() - start
    sample.insert(0, ID_COLUMN, [f"syn-{day:%Y%m%d}-{i:06d}" for i in range(len(sample))])
    path = day_paths(day)["candidate"]
    storage.write_parquet(path, sample)
    log.info("Sampled %d rows from %s in %.2fs -> %s", rows, mv.ref, seconds, path)
    return {"candidate_uri": str(path), "rows": len(sample), "sample_seconds": round(seconds, 3), "seed": seed}


# ------------------------------------------------------------------------------------------ validate
def validate_candidate(day: date, candidate_uri: str, params: dict[str, Any]) -> dict[str, Any]:
    """GX suite derived from the real table, run on the candidate; result + suite stored with the run."""
    from include.synthetic.validation import SUITE_NAME, validate

    real = load_real(params["source_path"], params["holdout_share"], params["seed"], params["max_training_rows"])
    candidate = storage.read_parquet(storage.path_from_uri(candidate_uri))
    outcome = validate(candidate, real.schema, null_tolerance=params["gx_null_tolerance"],
                       expected_rows=params["rows_to_generate"])
    reports = day_paths(day)["reports"]
    storage.write_json(reports / "gx_result.json", outcome["result"])
    storage.write_json(reports / "gx_suite.json", outcome["suite"])
    for line in outcome["failures"]:
        log.warning("GX: %s", line)
    return {"success": outcome["success"], "failures": outcome["failures"], "statistics": outcome["statistics"],
            "suite_name": SUITE_NAME, "result_uri": str(reports / "gx_result.json")}


# ------------------------------------------------------------------------------------------ evaluate
def evaluate_candidate(day: date, candidate_uri: str, params: dict[str, Any]) -> dict[str, Any]:
    from include.synthetic.evaluation import evaluate

    real = load_real(params["source_path"], params["holdout_share"], params["seed"], params["max_training_rows"])
    candidate = storage.read_parquet(storage.path_from_uri(candidate_uri))
    target = params["target_column"] or None
    if target and target not in real.schema.names:
        raise ValueError(f"target_column {target!r} is not a column of the real table {real.schema.names}")
    result = evaluate(real.train, real.holdout, candidate.drop(columns=[ID_COLUMN], errors="ignore"),
                      real.schema, target, seed=params["seed"], dcr_rows=params["dcr_rows"])
    storage.write_json(day_paths(day)["reports"] / "metrics.json", result)
    return result["headline"]


# ------------------------------------------------------------------------------------------ gate
def decide(day: date, metrics: dict[str, Any], gx: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    from include.synthetic.gate import Thresholds
    from include.synthetic.gate import decide as gate_decide

    decision = gate_decide(metrics, gx, Thresholds.from_params(params))
    storage.write_json(day_paths(day)["reports"] / "decision.json", decision)
    log.info("Gate: %s %s", "publish" if decision["publish"] else "reject", decision["reasons"])
    return decision


# ------------------------------------------------------------------------------------------ publish
def publish(day: date, generator: dict[str, Any], candidate: dict[str, Any], metrics: dict[str, Any],
            gx: dict[str, Any], decision: dict[str, Any], params: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Curated files, the augmented warehouse table and the dataset card; returns the card.

    The generator version is promoted through the platform lifecycle (``kind="dataset"``: status
    ``champion``, the previous one ``retired``); the card starts with the lifecycle's asset-event
    fields (``model``, ``version``, ``kind``, ``status``, ``decision``) beside its ``metrics``, so the
    ``synthetic_dataset`` event the task emits with the card carries them.
    """
    from include.platform import lifecycle

    paths = day_paths(day)
    sample = storage.read_parquet(storage.path_from_uri(candidate["candidate_uri"]))
    storage.write_parquet(paths["curated"] / "synthetic.parquet", sample)

    real = storage.read_parquet(_source_path(params["source_path"]))
    batch = day.isoformat()
    augmented = pd.concat(
        [real.assign(is_synthetic=False), sample.assign(is_synthetic=True)], ignore_index=True
    ).assign(augmentation_batch=batch, generator_ref=generator["model_ref"])
    table = params["augmented_table"]
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
        **applied.extra,  # model, version, kind, status, decision: the lifecycle's asset-event fields
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
    storage.write_json(paths["quarantine"] / "released.json", {"released_to": str(paths["curated"]), "run_id": run_id})
    candidate_path = storage.path_from_uri(candidate["candidate_uri"])
    if candidate_path.exists():
        candidate_path.unlink()
    return card


# ------------------------------------------------------------------------------------------ reject
def reject(day: date, generator: dict[str, Any], decision: dict[str, Any], metrics: dict[str, Any],
           run_id: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Publish nothing; record which checks failed and why (reports + quarantine); the lifecycle marks
    the generator version ``rejected`` (kind dataset) and sends the one alert."""
    from include.platform import lifecycle

    paths = day_paths(day)
    failing = [c for c in decision["checks"] if not c["passed"]]
    record = {"date": day.isoformat(), "run_id": run_id, "model_ref": generator["model_ref"],
              "failed_checks": failing, "reasons": decision["reasons"],
              "metrics": {k: v for k, v in metrics.items() if isinstance(v, int | float)}}
    storage.write_json(paths["reports"] / "rejection.json", record)
    storage.write_json(paths["quarantine"] / "reasons.json", record)
    applied = lifecycle.apply_verdict(MODEL_NAME, generator["version"], lifecycle.Verdict(
        "reject", DECIDED_BY, reasons=tuple(decision["reasons"]) or ("the gate failed",), metrics=record["metrics"],
        evidence={"day": day.isoformat(), "run_id": run_id,
                  "failed_checks": [c["name"] for c in failing]}), kind="dataset", context=context)
    return record | {"status": str(applied.status), "asset_extra": applied.extra}


# ------------------------------------------------------------------------------------------ report
def build_report(day: date, generator: dict[str, Any], params: dict[str, Any]) -> str:
    from include.synthetic import report

    paths = day_paths(day)
    reports = paths["reports"]
    decision = storage.read_json(reports / "decision.json")
    evaluation = storage.read_json(reports / "metrics.json")
    gx_result = storage.read_json(reports / "gx_result.json")
    gx = {"suite_name": "synthetic_matches_real_table", "statistics": gx_result.get("statistics", {}),
          "failures": next((c["reason"] for c in decision["checks"] if c["name"] == "gx_validation" and not c["passed"]),
                           None)}
    gx["failures"] = [gx["failures"]] if gx["failures"] else []
    real = load_real(params["source_path"], params["holdout_share"], params["seed"], params["max_training_rows"])
    sample_path = (paths["curated"] / "synthetic.parquet") if decision["publish"] else paths["candidate"]
    sample = storage.read_parquet(sample_path)
    storage.write_bytes(reports / "marginals.png", report.marginals_png(real.train, sample, real.schema))
    storage.write_bytes(reports / "correlations.png", report.correlations_png(real.train, sample, real.schema))
    storage.write_bytes(reports / "metrics.png", report.metrics_png(decision["checks"], evaluation["headline"]))
    text = report.markdown(day.isoformat(), decision, evaluation, gx, generator)
    storage.write_text(reports / "report.md", text)
    return str(reports / "report.md")
