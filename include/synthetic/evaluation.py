"""All candidate metrics in one call: fidelity (quality report), privacy (DCR, exact copies), usefulness (TSTR).

Returned as a flat dict of headline numbers (what the gate and the dataset card use) plus the
per-column/per-pair details the report plots.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd

from include.synthetic import efficacy, metrics, privacy
from include.synthetic.schema import TableSchema

log = logging.getLogger(__name__)


def evaluate(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema,
             target: str | None, seed: int = 0, dcr_rows: int = 1000) -> dict[str, Any]:
    start = time.perf_counter()
    quality = metrics.quality_report(train, synthetic, schema)
    log.info("Quality %.4f (shapes %.4f, pair trends %.4f)", quality["overall_quality"], quality["column_shapes"],
             quality["column_pair_trends"])
    dcr = privacy.dcr_baseline_protection(train, synthetic, schema, max_rows=dcr_rows, seed=seed)
    overfit = privacy.dcr_overfitting_protection(train, holdout, synthetic, schema, max_rows=dcr_rows, seed=seed)
    copies = privacy.exact_copy_rate(train, synthetic, schema)
    # What a perfect generator would score: real unseen rows measured the same way (context for the gate).
    reference = privacy.dcr_baseline_protection(train, holdout, schema, max_rows=dcr_rows, seed=seed)
    log.info("DCR baseline protection %.4f, overfitting protection %.4f, exact copies %.4f",
             dcr["dcr_baseline_protection"], overfit["dcr_overfitting_protection"], copies)
    usefulness = (efficacy.ml_efficacy(train, holdout, synthetic, schema, target, seed=seed)
                  if target else {"tstr_trtr_ratio": 1.0, "target": None})
    log.info("TSTR AUC %s vs TRTR AUC %s", usefulness.get("auc_tstr"), usefulness.get("auc_trtr"))
    headline = {
        "overall_quality": quality["overall_quality"],
        "column_shapes": quality["column_shapes"],
        "column_pair_trends": quality["column_pair_trends"],
        "dcr_baseline_protection": dcr["dcr_baseline_protection"],
        "median_dcr_synthetic": dcr["median_dcr_synthetic"],
        "median_dcr_random": dcr["median_dcr_random"],
        "dcr_overfitting_protection": overfit["dcr_overfitting_protection"],
        "share_closer_to_train": overfit["share_closer_to_train"],
        "holdout_dcr_baseline_protection": reference["dcr_baseline_protection"],
        "exact_copy_rate": copies,
        "tstr_trtr_ratio": usefulness["tstr_trtr_ratio"],
        "auc_tstr": usefulness.get("auc_tstr"),
        "auc_trtr": usefulness.get("auc_trtr"),
        "auc_augmented": usefulness.get("auc_augmented"),
        "augmentation_uplift": usefulness.get("augmentation_uplift"),
        "real_rows": len(train),
        "holdout_rows": len(holdout),
        "synthetic_rows": len(synthetic),
        "evaluation_seconds": round(time.perf_counter() - start, 3),
    }
    return {"headline": headline, "quality": quality, "usefulness": usefulness,
            "privacy": dcr | overfit | {"exact_copy_rate": copies}}
