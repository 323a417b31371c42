"""Analysis of one bake window: challenger vs champion over the same requests' time window.

Two kinds of checks, both must pass:

* **absolute thresholds** — challenger error rate and p95 latency under the policy ceilings;
* **relative, statistical** — is the challenger *significantly* worse than the champion right now?
  Errors: one-sided two-proportion z-test (pooled). Latency: one-sided Mann-Whitney U on the raw
  latencies (no normality assumption; latency is skewed) and, to ignore significant-but-tiny
  differences, a p95 ratio and an absolute p95 delta.

**Accuracy** (labelled replay: the router grades each labelled request; for a text generator the
"label" is the quality gate's pass, so this is the gate's pass rate, ``quality_vs_champion_ztest``): one-sided two-proportion
z-test that the challenger's accuracy is below the champion's on the same window
(``accuracy_vs_champion_ztest``); it fails a step only when significant at ``accuracy_alpha`` *and*
the drop exceeds ``max_accuracy_drop`` (so a tie on a few hundred rows never rolls back). Fewer
than ``min_requests`` labelled answers per model: reported as skipped, not failed.

Too few requests is "inconclusive", never "pass" (no data fails safe). At 100% the champion gets no
traffic, so the relative checks compare with the champion of the previous window (``baseline``).
Backends that only expose aggregates (CloudWatch sums and percentiles) give ``latencies=None``;
the Mann-Whitney check is then reported as skipped and the thresholds still apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from include.canary.policy import CanaryPolicy


@dataclass
class Sample:
    """Requests one model served in a window."""

    n: int
    errors: int
    latencies_ms: list[float] | None = None
    p95_ms: float | None = None  # for aggregated sources; computed from latencies otherwise
    labelled: int = 0  # answered requests that carried a label
    correct: int = 0   # ...of which the model got right

    @classmethod
    def from_records(cls, records: list[list[Any]] | list[tuple], model: str) -> Sample:
        """From router records ``[seq, ts, model, ok, latency_ms, correct]`` (``correct`` None = unlabelled)."""
        mine = [r for r in records if r[2] == model]
        graded = [r[5] for r in mine if len(r) > 5 and r[5] is not None]
        return cls(n=len(mine), errors=sum(1 for r in mine if not r[3]), latencies_ms=[float(r[4]) for r in mine],
                   labelled=len(graded), correct=sum(1 for g in graded if g))

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.n if self.n else None

    def percentile(self, q: float) -> float | None:
        if self.latencies_ms:
            return float(np.percentile(self.latencies_ms, q))
        return self.p95_ms if q == 95 else None

    def summary(self) -> dict[str, Any]:
        return {"n": self.n, "errors": self.errors, "error_rate": self.error_rate,
                "p50_ms": self.percentile(50), "p95_ms": self.percentile(95), "p99_ms": self.percentile(99),
                "labelled": self.labelled, "accuracy": self.accuracy}


def two_proportion_ztest(errors_a: int, n_a: int, errors_b: int, n_b: int) -> tuple[float, float]:
    """One-sided test that A's error rate is greater than B's; returns (z, p).

    Pooled standard error, as in any statistics textbook (statsmodels' ``proportions_ztest`` gives the
    same numbers; it is not a dependency here). With no errors on either side the rates are equal: p = 1.
    """
    if n_a == 0 or n_b == 0:
        return 0.0, 1.0
    pooled = (errors_a + errors_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 1.0
    z = (errors_a / n_a - errors_b / n_b) / se
    return z, float(stats.norm.sf(z))


def mann_whitney_greater(a: list[float], b: list[float]) -> tuple[float, float]:
    """One-sided Mann-Whitney U that A's latencies are stochastically greater than B's; (U, p)."""
    res = stats.mannwhitneyu(a, b, alternative="greater")
    return float(res.statistic), float(res.pvalue)


def _check(name: str, passed: bool | None, value: Any, threshold: Any, detail: str = "") -> dict[str, Any]:
    return {"check": name, "passed": passed, "value": value, "threshold": threshold, "detail": detail}


def evaluate_step(policy: CanaryPolicy, weight: int, champion: Sample, challenger: Sample,
                  baseline: Sample | None = None) -> dict[str, Any]:
    """Analyse one window; returns ``{"status": pass|fail|inconclusive, "checks": [...], "reasons": [...]}``."""
    reference = champion if champion.n >= policy.min_requests else baseline
    checks: list[dict[str, Any]] = []
    if challenger.n < policy.min_requests:
        checks.append(_check("min_requests_challenger", False, challenger.n, policy.min_requests,
                             "not enough challenger traffic in the window: no data fails safe"))
    if weight < 100 and champion.n < policy.min_requests:
        checks.append(_check("min_requests_champion", False, champion.n, policy.min_requests,
                             "not enough champion traffic to compare with"))
    if checks:
        return _verdict("inconclusive", checks, champion, challenger, reference)

    rate = challenger.error_rate or 0.0
    checks.append(_check("error_rate", rate <= policy.max_error_rate, round(rate, 4), policy.max_error_rate))
    p95 = challenger.percentile(95)
    checks.append(_check("p95_latency_ms", None if p95 is None else p95 <= policy.max_p95_latency_ms,
                         None if p95 is None else round(p95, 2), policy.max_p95_latency_ms))

    if reference is None or reference.n == 0:
        checks.append(_check("vs_champion", None, None, None, "no champion window to compare with"))
    else:
        z, p_err = two_proportion_ztest(challenger.errors, challenger.n, reference.errors, reference.n)
        worse = p_err < policy.alpha
        checks.append(_check("errors_vs_champion_ztest", not worse, round(p_err, 6), policy.alpha,
                             f"z={z:.2f}; challenger {rate:.2%} vs champion {reference.error_rate or 0:.2%}"))
        ref_p95 = reference.percentile(95)
        if challenger.latencies_ms and reference.latencies_ms:
            _, p_lat = mann_whitney_greater(challenger.latencies_ms, reference.latencies_ms)
            slower = p_lat < policy.alpha
            checks.append(_check("latency_vs_champion_mannwhitney", None, round(p_lat, 6), policy.alpha,
                                 ("significantly" if slower else "not significantly") + " slower; informs the "
                                 "p95 check (significance alone does not fail a step)"))
        else:
            slower = True  # aggregated metrics: no test possible, judge on the p95 ratio/delta alone
            checks.append(_check("latency_vs_champion_mannwhitney", None, None, policy.alpha,
                                 "skipped: the backend exposes aggregates only"))
        if p95 is not None and ref_p95:
            ratio = p95 / ref_p95
            regressed = slower and ratio > policy.max_latency_ratio and (p95 - ref_p95) > policy.min_latency_delta_ms
            checks.append(_check("p95_vs_champion", not regressed, round(ratio, 3), policy.max_latency_ratio,
                                 f"challenger p95 {p95:.1f} ms vs champion {ref_p95:.1f} ms "
                                 f"(fails only if significantly slower, ratio > {policy.max_latency_ratio} "
                                 f"and delta > {policy.min_latency_delta_ms} ms)"))
        checks.append(accuracy_check(policy, challenger, reference))
    status = "fail" if any(c["passed"] is False for c in checks) else "pass"
    return _verdict(status, checks, champion, challenger, reference)


def accuracy_check(policy: CanaryPolicy, challenger: Sample, reference: Sample) -> dict[str, Any]:
    """``accuracy_vs_champion_ztest`` (``quality_vs_champion_ztest`` for a text generator, whose graded answers
    are quality-gate verdicts): fails when the challenger is significantly *and* materially worse."""
    name = f"{policy.graded_as}_vs_champion_ztest"
    what = "accuracy" if policy.graded_as == "accuracy" else "quality-gate pass rate"
    if min(challenger.labelled, reference.labelled) < policy.min_requests:
        return _check(name, None, None, policy.accuracy_alpha,
                      f"skipped: {challenger.labelled} challenger / {reference.labelled} champion labelled answers "
                      f"(< min_requests {policy.min_requests})")
    wrong_c, wrong_r = challenger.labelled - challenger.correct, reference.labelled - reference.correct
    z, p = two_proportion_ztest(wrong_c, challenger.labelled, wrong_r, reference.labelled)
    drop = (reference.accuracy or 0.0) - (challenger.accuracy or 0.0)
    worse = p < policy.accuracy_alpha and drop > policy.max_accuracy_drop
    return _check(name, not worse, round(p, 6), policy.accuracy_alpha,
                  f"z={z:.2f}; {what} challenger {challenger.accuracy:.2%} vs champion {reference.accuracy:.2%} "
                  f"(drop {drop:+.2%}; fails only if significant and the drop > {policy.max_accuracy_drop:.2%})")


def _verdict(status: str, checks: list[dict[str, Any]], champion: Sample, challenger: Sample,
             reference: Sample | None) -> dict[str, Any]:
    return {
        "status": status,
        "reasons": [f"{c['check']}: {c['value']} vs {c['threshold']}" + (f" ({c['detail']})" if c["detail"] else "")
                    for c in checks if c["passed"] is False],
        "checks": checks,
        "champion": champion.summary(),
        "challenger": challenger.summary(),
        "compared_with": "same window" if reference is champion else ("previous window" if reference else None),
    }
