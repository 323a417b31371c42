"""The churn classifier: scikit-learn gradient boosting, stored without pickles.

Why this model: the demo customer table carries the label (``churned``) in every batch, so a
retrain can be evaluated on a real hold-out the same day, and a HistGradientBoosting fit on a few
thousand rows takes well under a second on one core, so a Bayesian search of 10-30 calls fits a
2-core machine. (The sentiment transformer would need minutes per call and has no daily labels.)

Why our own file format: the registry refuses pickles (loading one runs arbitrary code), and
``skops`` is not in the image. A fitted HistGradientBoosting model is just trees: each tree is a
table of nodes (feature, threshold, where NaN goes, children, leaf value). We export those tables
to ``model.safetensors`` (flat numeric arrays, nothing executable) and the feature encoding to
``model.json``; ``ChurnModel.load`` rebuilds a predictor that walks the trees with numpy and gives
the same probabilities as scikit-learn (checked to 1e-12 in the tests). Categorical inputs are
one-hot encoded by us, so no categorical bitsets are needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from include.retraining.features import CATEGORICAL, NUMERIC, TARGET

FORMAT = "genai-hgb-trees/1"
ID_COLUMN = "customer_id"

#: Defaults of the classifier when no search has run (scikit-learn's own defaults).
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
}


@dataclass(frozen=True)
class FeatureSpec:
    """How a raw customer frame becomes the numeric matrix the trees were trained on."""

    numeric: tuple[str, ...] = NUMERIC
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> FeatureSpec:
        return cls(numeric=tuple(NUMERIC),
                   categories={c: sorted(map(str, frame[c].dropna().unique())) for c in CATEGORICAL})

    @property
    def names(self) -> list[str]:
        return list(self.numeric) + [f"{c}={v}" for c, values in self.categories.items() for v in values]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in (*self.numeric, *self.categories) if c not in frame.columns]
        if missing:
            raise KeyError(f"feature columns {missing} are missing from the batch")
        parts = [frame[list(self.numeric)].to_numpy(dtype=np.float64)]
        for col, values in self.categories.items():
            # Unseen categories become all-zero rows: the trees treat them like "none of the known".
            parts.append((frame[col].astype(str).to_numpy()[:, None] == np.array(values)[None, :]).astype(np.float64))
        return np.hstack(parts)

    def to_dict(self) -> dict[str, Any]:
        # A list of pairs, not a dict: the JSON is written with sorted keys, and the one-hot column
        # order must stay the order the trees were trained on.
        return {"numeric": list(self.numeric), "categories": [[c, v] for c, v in self.categories.items()]}


class ChurnModel:
    """Trees as flat arrays; ``predict_proba`` returns P(churned = 1)."""

    def __init__(self, spec: FeatureSpec, params: dict[str, Any], baseline: float, trees: dict[str, np.ndarray],
                 prediction_baseline: np.ndarray | None = None):
        self.spec = spec
        self.params = params
        self.baseline = float(baseline)
        self.trees = trees  # tree_offset, feature, threshold, missing_left, left, right, is_leaf, value
        # Scores on rows the model did NOT train on (its hold-out): the reference for prediction
        # drift. In-sample scores would be sharper than any new batch and always look drifted.
        self.prediction_baseline = prediction_baseline

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def fit(cls, frame: pd.DataFrame, params: dict[str, Any] | None = None, seed: int = 0,
            sample_weight: np.ndarray | None = None, threads: int = 1) -> ChurnModel:
        """Train on ``frame`` with hyper-parameters ``params`` (defaults: :data:`DEFAULT_PARAMS`).

        ``threads``: OpenMP threads for the fit (the DAG passes ``RetrainingConfig.training_threads``,
        Variable ``genai_training_threads``). 1 by default: on a shared 2-core machine spinning OpenMP
        workers fight other processes; measured under load, a 2,000-row fit took 1.2-1.3 s on 1 thread
        and 21-30 s on 2 threads.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        hyper = DEFAULT_PARAMS | (params or {})
        spec = FeatureSpec.fit(frame)
        x, y = spec.transform(frame), frame[TARGET].to_numpy(dtype=np.int64)
        if len(np.unique(y)) < 2:
            raise ValueError("training data holds one class only: cannot train a churn classifier")
        clf = HistGradientBoostingClassifier(
            **{k: hyper[k] for k in DEFAULT_PARAMS}, early_stopping=False, random_state=seed,
        )
        with threadpool_limits(limits=max(1, int(threads))):
            clf.fit(x, y, sample_weight=sample_weight)
        return cls.from_sklearn(clf, spec, hyper)

    @classmethod
    def from_sklearn(cls, clf: Any, spec: FeatureSpec, params: dict[str, Any]) -> ChurnModel:
        if clf.n_trees_per_iteration_ != 1:
            raise ValueError("only binary classifiers are supported")
        if any(p.nodes["is_categorical"].any() for (p,) in clf._predictors):
            raise ValueError("native categorical splits are not exported; one-hot encode instead")
        nodes = [p.nodes for (p,) in clf._predictors]  # private but stable since sklearn 0.21
        offsets = np.cumsum([0] + [len(n) for n in nodes[:-1]]).astype(np.int64)
        cat = np.concatenate(nodes)
        trees = {
            "tree_offset": offsets,
            "feature": cat["feature_idx"].astype(np.int64),
            "threshold": cat["num_threshold"].astype(np.float64),
            "missing_left": cat["missing_go_to_left"].astype(np.uint8),
            "left": cat["left"].astype(np.int64),
            "right": cat["right"].astype(np.int64),
            "is_leaf": cat["is_leaf"].astype(np.uint8),
            "value": cat["value"].astype(np.float64),
        }
        return cls(spec, dict(params), float(np.ravel(clf._baseline_prediction)[0]), trees)

    # -- inference ------------------------------------------------------------------------------
    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.spec.transform(frame)
        t = self.trees
        n_trees = len(t["tree_offset"])
        # Walk every tree for every row at once: node[tree, row] is an index into the flat arrays.
        node = np.repeat(t["tree_offset"][:, None], len(x), axis=1)
        offsets = t["tree_offset"][:, None]
        rows = np.arange(len(x))[None, :].repeat(n_trees, axis=0)
        while True:
            leaf = t["is_leaf"][node].astype(bool)
            if leaf.all():
                break
            vals = x[rows, t["feature"][node]]
            go_left = np.where(np.isnan(vals), t["missing_left"][node].astype(bool), vals <= t["threshold"][node])
            child = np.where(go_left, t["left"][node], t["right"][node]) + offsets
            node = np.where(leaf, node, child)
        return self.baseline + t["value"][node].sum(axis=0)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(frame)))

    # -- safe serialisation ---------------------------------------------------------------------
    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: np.ascontiguousarray(v) for k, v in self.trees.items()}
        if self.prediction_baseline is not None:
            tensors["prediction_baseline"] = np.ascontiguousarray(self.prediction_baseline, dtype=np.float64)
        save_file(tensors, str(directory / "model.safetensors"))
        config = {"format": FORMAT, "baseline": self.baseline, "params": self.params,
                  "features": self.spec.to_dict(), "target": TARGET, **(extra or {})}
        (directory / "model.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> ChurnModel:
        from safetensors.numpy import load_file

        directory = Path(directory)
        config = json.loads((directory / "model.json").read_text())
        if config.get("format") != FORMAT:
            raise ValueError(f"{directory} holds format {config.get('format')!r}, expected {FORMAT!r}")
        spec = FeatureSpec(numeric=tuple(config["features"]["numeric"]),
                           categories={c: list(v) for c, v in config["features"]["categories"]})
        tensors = load_file(str(directory / "model.safetensors"))
        baseline_scores = tensors.pop("prediction_baseline", None)
        return cls(spec, config["params"], config["baseline"], tensors, baseline_scores)
