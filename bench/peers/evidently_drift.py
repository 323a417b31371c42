"""Evidently's default data drift, run inside its own venv (.tools/evidently, scripts/install_evidently.sh).

Called by bench/drift_quality.py as ``.tools/evidently/bin/python bench/peers/evidently_drift.py MANIFEST OUT``.
MANIFEST lists (reference, current) parquet pairs with their numerical / categorical columns; for each
pair this runs ``Report([DataDriftPreset()])`` with every default (stattest chosen per column by
Evidently, default thresholds, drift_share 0.5) and writes, per pair, the columns Evidently marks as
drifted and its dataset-level verdict. Imports only evidently, pandas and the standard library.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently import __version__ as EVIDENTLY_VERSION
from evidently.presets import DataDriftPreset


def drifted(method: str, value: float, threshold: float) -> bool:
    """Evidently's rule: a p-value test drifts below its threshold, a distance at or above it."""
    if value != value:  # NaN: no verdict
        return False
    return value < threshold if "p_value" in method else value >= threshold


def run_pair(item: dict) -> dict:
    ref, cur = pd.read_parquet(item["reference"]), pd.read_parquet(item["current"])
    definition = DataDefinition(numerical_columns=item["numerical"], categorical_columns=item["categorical"])
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                               Dataset.from_pandas(ref, data_definition=definition))
    seconds = time.perf_counter() - start
    columns, count, share, tests = [], None, None, {}
    for metric in snapshot.dict()["metrics"]:
        cfg, value = metric["config"], metric["value"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            count, share = value["count"], value["share"]
        elif cfg["type"].endswith("ValueDrift"):
            tests[cfg["column"]] = cfg["method"]
            if drifted(cfg["method"], float(value), float(cfg["threshold"])):
                columns.append(cfg["column"])
    if count is not None and int(count) != len(columns):
        raise RuntimeError(f"{item['id']}: Evidently counts {count} drifted columns, the per-column rule {columns}")
    return {"id": item["id"], "drifted_columns": sorted(columns), "drifted_share": share,
            "dataset_drift": bool(share is not None and share >= 0.5), "tests": tests, "seconds": round(seconds, 3)}


def main() -> None:
    manifest, out = sys.argv[1], sys.argv[2]
    items = json.loads(open(manifest).read())
    results = [run_pair(item) for item in items]
    with open(out, "w") as fh:
        json.dump({"evidently_version": EVIDENTLY_VERSION, "results": results}, fh)


if __name__ == "__main__":
    main()
