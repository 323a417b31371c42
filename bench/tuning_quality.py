"""Tuned vs default hyper-parameters of the churn model on the same fixed hold-out, side by side.

Reproduces what one retrain of adaptive_retraining does on the seeded demo data: reference set
plus the drifted day's batch, the batch's id-hashed hold-out kept aside, a Bayesian search
(``include.tuning.search.minimize`` = skopt ``gp_minimize``) on a validation split of the
training rows, then both models refitted on all training rows and scored on the hold-out with
the gate's paired bootstrap. Writes bench/results/tuning_quality.json.

    PYTHONPATH=. .venv/bin/python bench/tuning_quality.py [--rows 5000] [--n-calls 15]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="batch rows (reference = 2x)")
    parser.add_argument("--n-calls", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_VAR_GENAI_DATA_DIR", tempfile.mkdtemp(prefix="bench-tuning-"))

    from include.demo.customers import TARGET, customer_table
    from include.platform import storage
    from include.retraining import data, gate, pipeline
    from include.retraining.churn_model import DEFAULT_PARAMS, ChurnModel
    from include.retraining.search_space import SEARCH_SPACE
    from include.tuning import search
    from include.tuning.store import LakeJsonTrialStore

    reference = customer_table(args.rows * 2, seed=args.seed, drift=0.0)
    batch = customer_table(args.rows, seed=args.seed + 2, drift=0.6)
    split = data.training_split(reference, batch, 0.3)
    fit, val = data.validation_split(split.train, seed=args.seed)
    y = split.holdout[TARGET].to_numpy()

    start = time.perf_counter()
    default_val = pipeline.evaluate_candidate(DEFAULT_PARAMS, fit, val, args.seed)
    default_call_s = time.perf_counter() - start

    start = time.perf_counter()
    result = search.minimize(
        lambda p: pipeline.evaluate_candidate(p, fit, val, args.seed),
        SEARCH_SPACE,
        LakeJsonTrialStore(storage.lake_path("reports", "bench", "trials.json")),
        n_calls=args.n_calls, n_initial_points=5, seed=args.seed, failure_value=10.0,
    )
    search_s = time.perf_counter() - start

    models = {
        "default": ChurnModel.fit(split.train, DEFAULT_PARAMS, seed=args.seed),
        "tuned": ChurnModel.fit(split.train, result.best_params, seed=args.seed),
    }
    scores = {name: m.predict_proba(split.holdout) for name, m in models.items()}
    comparison = {metric: gate.paired_bootstrap(y, scores["default"], scores["tuned"], metric=metric,
                                                n_bootstrap=2000, seed=args.seed).__dict__
                  for metric in ("log_loss", "roc_auc", "brier")}
    out = {
        "benchmark": "tuning_quality",
        "data": {"reference_rows": len(reference), "batch_rows": len(batch), "train_rows": len(split.train),
                 "holdout_rows": len(y), "batch_drift": 0.6},
        "default": {"params": DEFAULT_PARAMS, "validation_log_loss": round(default_val, 5),
                    "holdout": {k: round(v, 5) for k, v in gate.metrics(y, scores["default"]).items()}},
        "tuned": {"params": result.best_params, "validation_log_loss": round(result.best_value, 5),
                  "holdout": {k: round(v, 5) for k, v in gate.metrics(y, scores["tuned"]).items()}},
        "improvement_tuned_over_default": {
            m: {"observed": round(c["improvement"], 5), "ci95": [round(c["ci_low"], 5), round(c["ci_high"], 5)]}
            for m, c in comparison.items()},
        "search": {"n_calls": args.n_calls, "seconds": round(search_s, 1),
                   "seconds_per_default_fit_and_score": round(default_call_s, 2),
                   "stopped_by": result.stopped_by},
        "load_average_1m": round(os.getloadavg()[0], 2),
        "note": "improvement > 0 means the tuned model is better (lower loss / higher AUC); paired bootstrap, "
                "2000 resamples of the hold-out",
    }
    print(json.dumps(out, indent=2))
    dest = ROOT / "bench" / "results" / "tuning_quality.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
