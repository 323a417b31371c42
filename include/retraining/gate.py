"""The quality gate: is the challenger better than the champion on the same hold-out, for sure?

Two conditions, both on the fixed hold-out (MLflow's ``MetricThreshold(min_absolute_change=...)``
plus a significance check MLflow does not make):

1. the observed improvement is at least ``min_improvement`` (absolute, in the metric's units);
2. the lower end of a paired bootstrap confidence interval of the improvement is above 0.

Paired: each bootstrap sample draws the same rows for both models, so row difficulty cancels out
and the interval is much tighter than comparing two separate intervals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import rankdata

LOWER_IS_BETTER = {"log_loss": True, "brier": True, "roc_auc": False}


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    return {
        "log_loss": float(_row_loss(y, p, "log_loss").mean()),
        "brier": float(_row_loss(y, p, "brier").mean()),
        "roc_auc": float(_auc(y[None, :], p[None, :])[0]),
        "accuracy": float(((p >= 0.5) == (y == 1)).mean()),
        "predicted_churn_rate": float(p.mean()),
        "actual_churn_rate": float(y.mean()),
        "rows": float(len(y)),
    }


def _row_loss(y: np.ndarray, p: np.ndarray, metric: str) -> np.ndarray:
    if metric == "log_loss":
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    if metric == "brier":
        return (p - y) ** 2
    raise ValueError(f"no per-row loss for {metric!r}")


def _auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC per row of a (samples, n) matrix via the Mann-Whitney rank sum (ties averaged).

    Why not sklearn's roc_auc_score: it takes one sample at a time, and 1000 bootstrap samples of
    two models would be 2000 Python-level calls; this is one vectorised rank.
    """
    ranks = rankdata(p, axis=1)
    pos = y == 1
    n_pos = pos.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * pos).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True)
class Comparison:
    metric: str
    champion: float
    challenger: float
    improvement: float  # positive = challenger better, in the metric's units
    ci_low: float
    ci_high: float
    confidence: float
    n_bootstrap: int
    rows: int


def paired_bootstrap(y: np.ndarray, p_champion: np.ndarray, p_challenger: np.ndarray, *, metric: str = "log_loss",
                     n_bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0) -> Comparison:
    if metric not in LOWER_IS_BETTER:
        raise ValueError(f"gate metric must be one of {sorted(LOWER_IS_BETTER)}, not {metric!r}")
    y = np.asarray(y, dtype=float)
    a = np.asarray(p_champion, dtype=float)
    b = np.asarray(p_challenger, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_bootstrap, len(y)))
    if metric == "roc_auc":
        champ, chall = _auc(y[None, :], a[None, :])[0], _auc(y[None, :], b[None, :])[0]
        boots = _auc(y[idx], b[idx]) - _auc(y[idx], a[idx])
        observed = chall - champ
    else:
        la, lb = _row_loss(y, a, metric), _row_loss(y, b, metric)
        champ, chall = la.mean(), lb.mean()
        diff = la - lb  # positive = challenger has lower loss
        boots = diff[idx].mean(axis=1)
        observed = diff.mean()
    boots = boots[np.isfinite(boots)]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return Comparison(metric, float(champ), float(chall), float(observed), float(low), float(high),
                      confidence, n_bootstrap, len(y))


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str]
    comparison: dict | None

    def to_dict(self) -> dict:
        return asdict(self)


def decide(comparison: Comparison, min_improvement: float) -> GateDecision:
    c = comparison
    reasons = []
    if c.improvement < min_improvement:
        reasons.append(f"{c.metric} improvement {c.improvement:+.4f} (champion {c.champion:.4f}, challenger "
                       f"{c.challenger:.4f}) is below the required {min_improvement:.4f}")
    if c.ci_low <= 0:
        reasons.append(f"the {c.confidence:.0%} paired-bootstrap interval of the improvement "
                       f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}] does not exclude 0")
    if not reasons:
        reasons.append(f"{c.metric} improves by {c.improvement:+.4f} (>= {min_improvement:.4f}), "
                       f"{c.confidence:.0%} CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}] above 0")
        return GateDecision(True, reasons, asdict(c))
    return GateDecision(False, reasons, asdict(c))


def decide_first_model(challenger_metrics: dict[str, float], min_auc: float) -> GateDecision:
    """No champion to beat yet: promote when the model is useful at all (AUC floor)."""
    auc = challenger_metrics["roc_auc"]
    if auc >= min_auc:
        return GateDecision(True, [f"first model: hold-out ROC AUC {auc:.4f} >= floor {min_auc:.2f}"], None)
    return GateDecision(False, [f"first model: hold-out ROC AUC {auc:.4f} is below the floor {min_auc:.2f}"], None)
