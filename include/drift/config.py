"""Typed drift settings: which method decides, and its thresholds (validated, frozen).

Two methods share one result type (:class:`include.drift.detect.DriftResult`):

* ``"effect_size"`` (default): a column drifts only when a shift is both *statistically significant
  after multiple-testing control across all columns* and *at least a minimum effect size*. The
  thresholds below are the documented defaults of ``docs/adaptive_retraining.md`` ("Drift method");
  they were chosen from conventions, not fitted to the drift-quality scenarios:

  ==================  ===========================================  ========================================
  signal              effect size (minimum)                        p-value test
  ==================  ===========================================  ========================================
  numeric values      Wasserstein-1 / reference std (0.1)          two-sample Kolmogorov-Smirnov
  categorical values  Hellinger distance on pooled bins (0.05)     chi-squared homogeneity, 2 x k, every
                                                                   expected count >= 5 (rare bins pooled)
  missing share       Cohen's h of the two missing rates (0.1)     two-proportion z-test
  ==================  ===========================================  ========================================

  0.1 reference std is Evidently's own distance threshold (a mean shift of a tenth of a standard
  deviation); Hellinger 0.05 is about Cohen's w = 0.14 for small shifts (H ~ w / sqrt 8), e.g. a
  50/50 column moving to 57/43; Cohen's h = 0.1 is half of Cohen's "small" (missing values are
  more often a broken feed than a population change, so the bar is lower), e.g. 0 % -> 0.25 %
  or 5 % -> 7.5 % missing. p-values are adjusted across every test of the batch (Benjamini-Hochberg at
  ``fdr``, or Holm), so checking 50 columns does not raise 2.5 false alarms a day by chance.

* ``"evidently"``: Evidently's data-drift-preset defaults (:mod:`include.drift.stattests`), kept for
  comparison and for anyone who wants the old verdicts back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

METHODS = ("effect_size", "evidently")
CORRECTIONS = ("bh", "holm", "none")

#: Defaults, one place: RetrainingConfig's knobs and the docs read them from here.
DEFAULT_FDR = 0.05
DEFAULT_MIN_EFFECT_NUMERIC = 0.1
DEFAULT_MIN_EFFECT_CATEGORICAL = 0.05
DEFAULT_MIN_EFFECT_MISSING = 0.1
DEFAULT_MIN_EXPECTED = 5.0
DEFAULT_MIN_ROWS = 30
DEFAULT_DRIFT_SHARE = 0.5


@dataclass(frozen=True)
class DriftConfig:
    """How columns are judged. Build it from a DAG's typed config; never from raw Params."""

    method: str = "effect_size"
    #: False-discovery rate (BH) or family-wise error (Holm) across all tests of one batch.
    fdr: float = DEFAULT_FDR
    correction: str = "bh"
    #: Minimum Wasserstein-1 distance in reference standard deviations for a numeric column.
    min_effect_numeric: float = DEFAULT_MIN_EFFECT_NUMERIC
    #: Minimum Hellinger distance (0..1) between the pooled category shares.
    min_effect_categorical: float = DEFAULT_MIN_EFFECT_CATEGORICAL
    #: Minimum Cohen's h between the reference and current missing shares.
    min_effect_missing: float = DEFAULT_MIN_EFFECT_MISSING
    #: Categories whose expected count (under "no drift") is below this in either sample are pooled.
    min_expected: float = DEFAULT_MIN_EXPECTED
    #: A column with fewer non-missing rows in either sample gets no value verdict ("too few rows").
    min_rows: int = DEFAULT_MIN_ROWS
    #: A numeric column with at most this many distinct values is tested as categorical.
    max_discrete_values: int = 5
    #: Dataset drift when at least this share of feature columns drifted.
    drift_share: float = DEFAULT_DRIFT_SHARE

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {CORRECTIONS}, got {self.correction!r}")
        if not 0 < self.fdr < 1:
            raise ValueError(f"fdr must lie in (0, 1), got {self.fdr}")
        for name in ("min_effect_numeric", "min_effect_categorical", "min_effect_missing", "min_expected"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.min_effect_categorical > 1:
            raise ValueError(f"min_effect_categorical is a Hellinger distance in [0, 1], got "
                             f"{self.min_effect_categorical}")
        if self.min_rows < 2:
            raise ValueError(f"min_rows must be at least 2, got {self.min_rows}")
        if not 0 <= self.drift_share <= 1:
            raise ValueError(f"drift_share must lie in [0, 1], got {self.drift_share}")

    def to_dict(self) -> dict:
        return asdict(self)
