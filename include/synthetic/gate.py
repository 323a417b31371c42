"""The publish/reject decision: every metric is compared with its threshold and explained.

SDV and synthcity compute these metrics but never *enforce* them; here a synthetic set reaches the
curated zone and the warehouse only when every check passes. Thresholds are DAG Params (their
defaults live in :class:`include.synthetic.config.SyntheticConfig`), so an analyst can tighten them
per run; the decision lists each check with value, threshold and reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    """The gate's limits (``SyntheticConfig.thresholds``)."""

    min_quality: float
    # DCR baseline protection is compared with what real unseen rows score on the same table: how
    # close fresh real customers sit to the training rows depends on the table's density (0.09 on
    # the 20k demo table, ~0.4 on a 1.5k one), so a fixed number would be wrong for one or the other.
    min_dcr_protection_vs_holdout: float
    min_dcr_overfitting_protection: float
    max_exact_copy_rate: float
    min_tstr_ratio: float


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    threshold: float | None
    comparator: str  # ">=" | "<=" | "=="
    passed: bool
    reason: str


def _at_least(name: str, label: str, value: float, threshold: float, why: str) -> Check:
    ok = value >= threshold
    reason = (f"{label} {value:.4f} >= {threshold:.4f}" if ok
              else f"{label} {value:.4f} is below the threshold {threshold:.4f}: {why}")
    return Check(name, round(value, 6), threshold, ">=", ok, reason)


def decide(metrics: dict[str, Any], gx: dict[str, Any], thresholds: Thresholds) -> dict[str, Any]:
    """``{"publish": bool, "checks": [...], "failed": [...], "reasons": [...]}`` for this candidate."""
    checks = [
        Check("gx_validation", None, None, "==", bool(gx.get("success")),
              "Great Expectations suite passed" if gx.get("success")
              else "Great Expectations suite failed: " + " | ".join(gx.get("failures", [])[:10])),
        _at_least("overall_quality", "overall quality", metrics["overall_quality"], thresholds.min_quality,
                  "marginals or column-pair trends differ from the real table (see the per-column scores)"),
        _at_least("dcr_baseline_protection", "DCR baseline protection", metrics["dcr_baseline_protection"],
                  round(thresholds.min_dcr_protection_vs_holdout * metrics["holdout_dcr_baseline_protection"], 6),
                  f"synthetic rows sit closer to real customers than {thresholds.min_dcr_protection_vs_holdout:.0%} "
                  f"of the distance unseen real rows keep (hold-out score "
                  f"{metrics['holdout_dcr_baseline_protection']:.4f})"),
        _at_least("dcr_overfitting_protection", "DCR overfitting protection", metrics["dcr_overfitting_protection"],
                  thresholds.min_dcr_overfitting_protection,
                  "synthetic rows are closer to training rows than to unseen rows (memorisation)"),
        _at_least("tstr_trtr_ratio", "TSTR/TRTR AUC ratio", metrics["tstr_trtr_ratio"], thresholds.min_tstr_ratio,
                  "a model trained on the synthetic set predicts the real hold-out much worse than one trained on real rows"),
    ]
    rate = metrics["exact_copy_rate"]
    ok = rate <= thresholds.max_exact_copy_rate
    checks.append(Check("exact_copy_rate", round(rate, 6), thresholds.max_exact_copy_rate, "<=", ok,
                        f"exact-copy rate {rate:.4f} <= {thresholds.max_exact_copy_rate:.4f}" if ok else
                        f"exact-copy rate {rate:.4f} exceeds {thresholds.max_exact_copy_rate:.4f}: "
                        "synthetic rows reproduce real customers verbatim"))
    failed = [c for c in checks if not c.passed]
    return {
        "publish": not failed,
        "thresholds": asdict(thresholds),
        "checks": [asdict(c) for c in checks],
        "failed": [c.name for c in failed],
        "reasons": [c.reason for c in failed],
    }
