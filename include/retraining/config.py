"""The adaptive_retraining knobs: one typed, frozen config (see :mod:`include.platform.config`).

The DAG builds its trigger form with ``RetrainingConfig.params()``; each task turns the run's Params
into a :class:`RetrainingConfig` with ``RetrainingConfig.from_params(params)`` (validated: a bad value
fails the task at once with a ``ConfigError`` naming the Param), and every step in
:mod:`include.retraining.pipeline` takes that object, never the raw Params dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from include.drift import config as drift_defaults
from include.drift.config import DriftConfig
from include.drift.evidence import DEFAULT_MAX_QUARANTINED_SHARE, DEFAULT_MIN_BATCH_ROWS, ON_INSUFFICIENT
from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError

#: Who promotes ``churn@champion`` when neither Param ``promotion`` nor Variable
#: ``genai_churn_promotion`` says: "gate" = this DAG's paired-bootstrap gate; "canary" = this DAG
#: registers the challenger and hands it to canary_deploy, which alone promotes or rolls back.
DEFAULT_PROMOTION = "canary"
PROMOTION_MODES = ("gate", "canary")
GATE_METRICS = ("log_loss", "brier", "roc_auc")

_DAY_PATTERN = r"^$|^\d{4}-\d{2}-\d{2}$"


@dataclass(frozen=True)
class RetrainingConfig(DagConfig):
    """One adaptive_retraining run's settings (29 Params in 7 sections, plus the training threads)."""

    # -- Batch
    run_date: str = knob(
        "", "Process the batch of this day (YYYY-MM-DD); empty = the day folder of the lake arrival that "
            "triggered the run, else the run's date. Follow-up search rounds set it.",
        section="Batch", pattern=_DAY_PATTERN)
    # -- Minimum evidence
    min_batch_rows: int = knob(
        DEFAULT_MIN_BATCH_ROWS, "Minimum valid rows in the batch (and the reference) for a drift verdict. Fewer "
        "rows gave wrong verdicts in the measurements of include/drift/evidence.py (stable batches of 100 rows "
        "'drifted' 5 times in 20).", section="Minimum evidence", minimum=1, maximum=10_000_000)
    max_quarantined_share: float = knob(
        DEFAULT_MAX_QUARANTINED_SHARE, "Above this share of quarantined rows the surviving rows no longer "
        "represent the batch: no drift verdict.", section="Minimum evidence", minimum=0, maximum=1)
    insufficient_evidence: str = knob(
        "fail", "Too few rows or too many rejects: fail = the run fails at once naming the fix; alert = send an "
        "alert and take the insufficient_evidence branch (nothing retrained or promoted).",
        section="Minimum evidence", enum=list(ON_INSUFFICIENT))
    # -- Drift
    drift_share: float = knob(
        0.5, "Dataset drift when at least this share of feature columns drifted (Evidently's default 0.5).",
        section="Drift", minimum=0, maximum=1)
    use_prediction_drift: bool = knob(
        True, "Also retrain when the champion's predicted churn probability drifted.", section="Drift")
    drift_method: str = knob(
        "effect_size", "effect_size = a column drifts when its shift is significant after Benjamini-Hochberg "
        "control across all columns AND at least the minimum effect below (values and missing share tested "
        "separately); evidently = Evidently's DataDriftPreset defaults (p-value or distance per column, no "
        "multiple-testing control). Measured: bench/results/drift_quality.json.",
        section="Drift", enum=list(drift_defaults.METHODS))
    drift_fdr: float = knob(
        drift_defaults.DEFAULT_FDR, "False-discovery rate across all drift tests of one batch (effect_size method).",
        section="Drift", minimum=0.0001, maximum=0.5)
    drift_min_effect_numeric: float = knob(
        drift_defaults.DEFAULT_MIN_EFFECT_NUMERIC, "Smallest numeric shift that counts as drift: Wasserstein "
        "distance in reference standard deviations (0.1 = a mean shift of a tenth of a std).",
        section="Drift", minimum=0, maximum=10)
    drift_min_effect_categorical: float = knob(
        drift_defaults.DEFAULT_MIN_EFFECT_CATEGORICAL, "Smallest categorical shift that counts as drift: Hellinger "
        "distance of the category shares, rare categories pooled (0.05 ~ a 50/50 column moving to 57/43).",
        section="Drift", minimum=0, maximum=1)
    drift_min_effect_missing: float = knob(
        drift_defaults.DEFAULT_MIN_EFFECT_MISSING, "Smallest change of a column's missing share that counts as "
        "drift: Cohen's h (0.1 ~ 5% -> 7.5% or 0% -> 0.25% missing).", section="Drift", minimum=0, maximum=3.2)
    # -- Retrain decision
    hard_drift_limit: float = knob(
        0.95, "A drifted share above this retrains even during the cool-down.",
        section="Retrain decision", minimum=0, maximum=1)
    cooldown_days: int = knob(
        7, "No retrain within this many days of the last one, unless the hard limit is exceeded.",
        section="Retrain decision", minimum=0, maximum=365)
    force_retrain: bool = knob(False, "Retrain regardless of drift and cool-down.", section="Retrain decision")
    # -- Search
    n_calls: int = knob(15, "Objective calls of the Bayesian search (per search round).",
                        section="Search", minimum=1, maximum=200)
    n_initial_points: int = knob(5, "Random points before the Gaussian process takes over (at most n_calls).",
                                 section="Search", minimum=1, maximum=50)
    search_time_budget_s: int = knob(600, "Wall-time budget of the search in seconds, across task retries.",
                                     section="Search", minimum=10, maximum=86_400)
    search_space: dict[str, Any] = knob(
        {}, 'Override ranges of the declared search space by name, e.g. {"learning_rate": [0.01, 0.1], '
            '"max_iter": [50, 150]}.', section="Search")
    seed: int = knob(42, "Seed of the search, the validation split and the bootstrap.", section="Search")
    # -- Quality gate
    holdout_share: float = knob(
        0.3, "Share of the batch (by hash of customer_id) kept as the fixed hold-out.",
        section="Quality gate", minimum=0.05, maximum=0.8)
    gate_metric: str = knob("log_loss", "Hold-out metric the challenger must improve.",
                            section="Quality gate", enum=list(GATE_METRICS))
    min_improvement: float = knob(0.005, "Minimum absolute improvement of gate_metric to promote.",
                                  section="Quality gate", minimum=0)
    confidence: float = knob(0.95, "Confidence level of the paired-bootstrap interval of the improvement.",
                             section="Quality gate", minimum=0.5, maximum=0.999)
    bootstrap_samples: int = knob(1000, "Paired bootstrap resamples of the hold-out.",
                                  section="Quality gate", minimum=100, maximum=20_000)
    first_model_min_auc: float = knob(0.6, "With no champion yet, the first model needs at least this ROC AUC.",
                                      section="Quality gate", minimum=0.5, maximum=1)
    promotion: str = knob(
        "", "Who promotes churn@champion: gate = this DAG's quality gate; canary = a passing challenger is "
            "handed to canary_deploy (challenger_registered) and only the canary promotes or rolls back.",
        section="Quality gate", setting="churn_promotion", fallback=DEFAULT_PROMOTION,
        enum=["", *PROMOTION_MODES])
    # -- Follow-up rounds
    search_round: int = knob(1, "Which search round this run is (set by follow-up runs; leave at 1).",
                             section="Follow-up rounds", minimum=1, maximum=10)
    max_search_rounds: int = knob(2, "Bound on follow-up search rounds after a rejected challenger.",
                                  section="Follow-up rounds", minimum=1, maximum=10)
    warm_start_trials: str = knob("", "URI of a previous round's trials to continue from (set by follow-ups).",
                                  section="Follow-up rounds")
    # -- Deployment wiring (a Variable, not a form field)
    training_threads: int = wiring(
        "training_threads", 1, "OpenMP threads per churn-model fit. 1 on a shared machine: measured under load, "
        "a 2,000-row fit took 1.2-1.3 s on 1 thread and 21-30 s on 2; raise it on a dedicated worker.")

    def check(self) -> None:
        """Rules across Params (each names the Params to change)."""
        from include.retraining.search_space import space_for

        if self.run_date:
            try:
                date.fromisoformat(self.run_date)
            except ValueError as exc:
                raise ConfigError(f"run_date={self.run_date!r} is not a calendar day: {exc}",
                                  "set run_date to a real YYYY-MM-DD day, or leave it empty") from None
        if self.n_initial_points > self.n_calls:
            raise ConfigError(f"n_initial_points={self.n_initial_points} exceeds n_calls={self.n_calls}",
                              "set n_initial_points at most n_calls (or raise n_calls)")
        if self.search_round > self.max_search_rounds:
            raise ConfigError(f"search_round={self.search_round} exceeds max_search_rounds={self.max_search_rounds}",
                              "leave search_round at 1; follow-up runs set it within max_search_rounds")
        if self.hard_drift_limit < self.drift_share:
            raise ConfigError(f"hard_drift_limit={self.hard_drift_limit} is below drift_share={self.drift_share}: "
                              "the cool-down could never hold",
                              "set hard_drift_limit at least drift_share")
        if self.training_threads < 1:
            raise ConfigError(f"Variable genai_training_threads = {self.training_threads} is below 1",
                              "set Variable genai_training_threads to 1 or more (or delete it)")
        space_for(self)  # raises ConfigError naming search_space

    def drift_config(self) -> DriftConfig:
        """The drift detector's typed settings from this run's Params."""
        return DriftConfig(method=self.drift_method, fdr=self.drift_fdr,
                           min_effect_numeric=self.drift_min_effect_numeric,
                           min_effect_categorical=self.drift_min_effect_categorical,
                           min_effect_missing=self.drift_min_effect_missing, drift_share=self.drift_share)

    def day(self, context: dict[str, Any]) -> date:
        """Param run_date, else the day folder of the lake arrival that triggered the run, else the run's date."""
        from include.platform.runtime import run_date

        return date.fromisoformat(self.run_date) if self.run_date else run_date(context)

    def follow_up_conf(self, day: date, trials_uri: str) -> dict[str, Any]:
        """The next search round's Params: this run's, pinned to ``day``, one round on, warm-started."""
        from include.platform.config import knobs

        own = {name: getattr(self, name) for name, k in knobs(type(self)).items() if k.is_param}
        return own | {"run_date": day.isoformat(), "search_round": self.search_round + 1,
                      "warm_start_trials": trials_uri or ""}
