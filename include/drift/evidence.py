"""Minimum evidence before a drift verdict: too few rows or too many rejects is "unknown", not "no drift".

Why: the drift tests answer whatever they are given. An empty batch has no drifted column, so it
used to be reported as *no drift* and the run succeeded; a handful of rows is worse, because the
answer depends on the reference size (measured with ``include.demo.customers`` batches, 8-20 draws
each; Evidently's defaults as implemented in :mod:`include.drift.stattests`):

=====================  ==========================================  ===========================
batch rows (valid)     reference 1,000 rows (KS / chi² p-values)    reference 10,000 (distances)
=====================  ==========================================  ===========================
3-10                   a 0.6 shift is never detected                a stable batch always "drifts"
30                     a 0.6 shift detected 3 times in 8            a stable batch always "drifts"
100                    detected 8/8                                 stable batch "drifts" 5 in 20
150                    detected 8/8                                 stable batch "drifts" 1 in 20
200                    detected 8/8                                 stable batch "drifts" 0 in 20
=====================  ==========================================  ===========================

Hence the default ``min_batch_rows = 200``: the smallest size at which both regimes were right in
every draw. A batch whose rows were mostly rejected is refused too (``max_quarantined_share``,
default 0.2): the rows that survived validation are then a biased subset of what arrived, and
their "distribution" says more about the validator than about the population.

The verdict is a pure function of counts, so it is tested without data and reused by any DAG.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: Measured above: fewer valid rows give wrong drift verdicts in at least one test regime.
DEFAULT_MIN_BATCH_ROWS = 200
#: More rejects than this and the surviving rows no longer represent the batch.
DEFAULT_MAX_QUARANTINED_SHARE = 0.2
#: What a run does without enough evidence: fail at once, or alert and take its own branch.
ON_INSUFFICIENT = ("fail", "alert")


@dataclass(frozen=True)
class EvidenceRules:
    min_batch_rows: int = DEFAULT_MIN_BATCH_ROWS
    max_quarantined_share: float = DEFAULT_MAX_QUARANTINED_SHARE

    def __post_init__(self) -> None:
        if self.min_batch_rows < 1:
            raise ValueError(f"min_batch_rows must be at least 1, got {self.min_batch_rows}")
        if not 0 <= self.max_quarantined_share <= 1:
            raise ValueError(f"max_quarantined_share must lie in [0, 1], got {self.max_quarantined_share}")


@dataclass(frozen=True)
class Evidence:
    """How much a batch can say about drift, and why it is not enough (``problems``)."""

    valid_rows: int
    quarantined_rows: int
    reference_rows: int
    rules: EvidenceRules

    @property
    def received_rows(self) -> int:
        return self.valid_rows + self.quarantined_rows

    @property
    def quarantined_share(self) -> float:
        """Rejected share of what arrived; an empty batch counts as fully unusable (1.0)."""
        return self.quarantined_rows / self.received_rows if self.received_rows else 1.0

    @property
    def problems(self) -> list[str]:
        rules, out = self.rules, []
        if self.received_rows == 0:
            out.append("the batch is empty")
        elif self.valid_rows == 0:
            out.append(f"all {self.quarantined_rows} rows of the batch were quarantined")
        if self.valid_rows < rules.min_batch_rows:
            out.append(f"{self.valid_rows} valid rows < min_batch_rows {rules.min_batch_rows}")
        if self.received_rows and self.quarantined_share > rules.max_quarantined_share:
            out.append(f"{self.quarantined_rows} of {self.received_rows} rows quarantined "
                       f"({self.quarantined_share:.0%} > max_quarantined_share {rules.max_quarantined_share:.0%})")
        if self.reference_rows < rules.min_batch_rows:
            out.append(f"reference set has {self.reference_rows} rows < min_batch_rows {rules.min_batch_rows}")
        return out

    @property
    def sufficient(self) -> bool:
        return not self.problems

    def fix(self, quarantine_hint: str = "the quarantine zone") -> str:
        """What an operator can do about it, most likely cause first."""
        steps = []
        if self.quarantined_rows and (self.valid_rows == 0
                                      or self.quarantined_share > self.rules.max_quarantined_share):
            steps.append(f"correct the rejected rows (reasons in {quarantine_hint}) and re-export the batch")
        if self.valid_rows < self.rules.min_batch_rows or self.reference_rows < self.rules.min_batch_rows:
            steps.append(f"wait for / export a batch with at least {self.rules.min_batch_rows} valid rows "
                         "(lower Param min_batch_rows only if fewer rows are known to be representative)")
        if self.quarantined_share > self.rules.max_quarantined_share and self.received_rows:
            steps.append("or raise Param max_quarantined_share if these rejects are expected")
        steps.append('set Param insufficient_evidence="alert" to alert instead of failing')
        return "; ".join(steps)

    def to_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "rules"}, **asdict(self.rules),
                "received_rows": self.received_rows, "quarantined_share": round(self.quarantined_share, 4),
                "sufficient": self.sufficient, "problems": self.problems}


def assess(valid_rows: int, quarantined_rows: int, reference_rows: int,
           rules: EvidenceRules | None = None) -> Evidence:
    """The evidence a batch carries under ``rules`` (defaults above)."""
    if min(valid_rows, quarantined_rows, reference_rows) < 0:
        raise ValueError("row counts cannot be negative")
    return Evidence(valid_rows, quarantined_rows, reference_rows, rules or EvidenceRules())
