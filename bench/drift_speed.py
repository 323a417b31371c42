"""Drift check time for 50 columns x 100k rows (target < 5 s on this 2-core machine).

The default method (effect-size-aware: KS + Wasserstein from one merged sort per numeric column,
chi-squared homogeneity on pooled categories, missingness, Benjamini-Hochberg) is what the DAG runs
and what ``meets_target`` judges, at 100k vs 100k rows, 100k vs 50k, and a 1,000-row reference vs 100k.
The Evidently-defaults method (``DriftConfig(method="evidently")``) is timed beside it on the same
frames (``evidently_method``). Writes bench/results/drift_speed.json.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from include.drift.config import DriftConfig  # noqa: E402
from include.drift.detect import detect_drift  # noqa: E402

ROWS, NUMERIC, CATEGORICAL, DRIFTED = 100_000, 35, 15, 10
TARGET_S = 5.0


def frame(rows: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i in range(NUMERIC):
        move = shift if i < DRIFTED else 0.0
        if i % 3 == 0:
            cols[f"num_{i}"] = rng.normal(move, 1.0, rows)
        elif i % 3 == 1:
            cols[f"num_{i}"] = rng.lognormal(1 + move, 0.5, rows)
        else:
            cols[f"num_{i}"] = rng.poisson(3 + 2 * move, rows).astype(float)
    for j in range(CATEGORICAL):
        k = 2 + j % 6
        p = np.full(k, 1 / k)
        if j < 3 and shift:
            p = np.r_[p[0] + 0.2 * shift, p[1:]]
            p = p / p.sum()
        cols[f"cat_{j}"] = rng.choice([f"v{v}" for v in range(k)], size=rows, p=p)
    return pd.DataFrame(cols)


def timed(reference: pd.DataFrame, current: pd.DataFrame, repeats: int = 3,
          config: DriftConfig | None = None) -> tuple[float, dict]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = detect_drift(reference, current, config=config)
        best = min(best, time.perf_counter() - start)
    return best, result.summary()


def main() -> dict:
    reference, current = frame(ROWS, 1, 0.0), frame(ROWS, 2, 0.3)
    large_s, large = timed(reference, current)
    # Unequal sizes take the general merge path of wasserstein_1d (real batches are smaller than the reference).
    unequal_s, _ = timed(reference, current.iloc[: ROWS // 2])
    small_s, small = timed(reference.sample(1000, random_state=0), current)
    legacy = DriftConfig(method="evidently")
    ev_large_s, ev_large = timed(reference, current, config=legacy)
    ev_unequal_s, _ = timed(reference, current.iloc[: ROWS // 2], config=legacy)
    ev_small_s, ev_small = timed(reference.sample(1000, random_state=0), current, config=legacy)
    # Side by side: our Wasserstein vs scipy's on the same numeric columns (unequal sizes: general path).
    from scipy.stats import wasserstein_distance

    from include.drift.stattests import wasserstein_1d

    numeric = [c for c in reference.columns if c.startswith("num_")]
    cur_half = current.iloc[: ROWS // 2]
    walls = {}
    for name, fn in (("scipy", wasserstein_distance), ("ours", wasserstein_1d)):
        start = time.perf_counter()
        values = [fn(reference[c].to_numpy(), cur_half[c].to_numpy()) for c in numeric]
        walls[name] = (time.perf_counter() - start, values)
    max_rel_diff = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(walls["scipy"][1], walls["ours"][1],
                                                                           strict=True))
    tests = sorted(set(detect_drift(reference, current).frame()["test"]))
    out = {
        "benchmark": "drift_speed",
        "columns": NUMERIC + CATEGORICAL,
        "rows_current": ROWS,
        "large_reference": {"reference_rows": ROWS, "seconds": round(large_s, 3),
                            "drifted_columns": large["n_drifted"], "columns_shifted": DRIFTED + 3},
        "large_reference_unequal": {"reference_rows": ROWS, "current_rows": ROWS // 2,
                                    "seconds": round(unequal_s, 3)},
        "small_reference": {"reference_rows": 1000, "seconds": round(small_s, 3),
                            "drifted_columns": small["n_drifted"]},
        "method": "effect_size",
        "tests_used_large": tests,
        "evidently_method": {"large_reference_s": round(ev_large_s, 3), "large_reference_unequal_s": round(ev_unequal_s, 3),
                             "small_reference_s": round(ev_small_s, 3), "drifted_columns_large": ev_large["n_drifted"],
                             "drifted_columns_small": ev_small["n_drifted"]},
        "wasserstein_side_by_side": {"columns": len(numeric), "scipy_s": round(walls["scipy"][0], 3),
                                     "ours_s": round(walls["ours"][0], 3),
                                     "speedup": round(walls["scipy"][0] / walls["ours"][0], 2),
                                     "max_relative_difference": max_rel_diff},
        "target_s": TARGET_S,
        "meets_target": max(large_s, small_s, unequal_s) < TARGET_S,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "note": "best of 3 runs each; the machine is shared, so single runs vary",
        "load_average_1m": round(__import__("os").getloadavg()[0], 2),
    }
    print(json.dumps(out, indent=2))
    dest = ROOT / "bench" / "results" / "drift_speed.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
