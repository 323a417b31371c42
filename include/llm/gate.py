"""The promotion rule for ``textgen`` and its verdict through the platform lifecycle.

A challenger becomes ``textgen@champion`` when

1. its sampled generations from the fixed prompts pass: no empty generation, ``repetition_rate <= max_repetition`` and
   ``distinct_2 >= min_distinct_2``; and
2. its held-out **word-level** perplexity (:mod:`include.llm.evaluation`) is at least ``min_improvement``
   below the champion's, measured in the same run on the same held-out texts — or, with no champion yet,
   below ``max_perplexity``.

Otherwise it is rejected with every reason that failed (status ``rejected``, the lifecycle's one alert) and
the DAG takes its ``investigate`` branch. Same shape as the sentiment trainer's ``gate_and_promote``.

**One promotion path per model** (as adaptive_retraining's ``promotion``): with ``promotion=canary`` (the
default) a challenger that passes against an existing champion is *not* promoted here; the lifecycle
decision is ``hand_to_canary`` (status ``challenger``, alias kept, champion untouched) and the DAG's
``hand_to_canary`` task emits ``challenger_registered`` for canary_deploy, which serves both text generators
on replayed prompts and alone promotes or rolls back. The offline gate keeps its veto (a rejected version
never reaches live traffic), and the first model is promoted here: a canary needs a champion to compare with.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.llm.config import FineTuneConfig

log = logging.getLogger(__name__)

DECIDED_BY = "llm_fine_tuning.gate"


def decide(metrics: dict[str, float], champion: dict[str, Any] | None,
           cfg: FineTuneConfig) -> tuple[str, list[str], dict[str, float]]:
    """``(decision, reasons, numbers)`` for a challenger's ``metrics`` against ``champion`` (or None)."""
    ppl = float(metrics["perplexity_word"])
    numbers = {"perplexity_word": ppl, "perplexity": float(metrics["perplexity"]),
               "repetition_rate": float(metrics["repetition_rate"]), "distinct_2": float(metrics["distinct_2"]),
               "max_repetition": cfg.max_repetition, "min_distinct_2": cfg.min_distinct_2}
    problems, passed = [], []
    if metrics.get("empty_generations", 0) > 0:
        problems.append(f"{int(metrics['empty_generations'])} generations from the fixed prompts were empty")
    if numbers["repetition_rate"] > cfg.max_repetition:
        problems.append(f"repetition rate {numbers['repetition_rate']:.3f} > allowed {cfg.max_repetition:.2f}")
    if numbers["distinct_2"] < cfg.min_distinct_2:
        problems.append(f"distinct-2 {numbers['distinct_2']:.3f} < required {cfg.min_distinct_2:.2f}")
    if not problems:
        passed.append(f"generations pass (repetition {numbers['repetition_rate']:.3f}, "
                      f"distinct-2 {numbers['distinct_2']:.3f})")
    if champion is not None:
        champ_ppl = float(champion["perplexity_word"])
        bar = champ_ppl * (1 - cfg.min_improvement)
        numbers |= {"champion_perplexity_word": champ_ppl, "min_improvement": cfg.min_improvement,
                    "required_perplexity_word": bar}
        where = f"champion {champion['ref']}'s {champ_ppl:.2f} on the same held-out texts"
        if ppl > bar:
            problems.append(f"held-out word perplexity {ppl:.2f} is not {cfg.min_improvement:.0%} below {where} "
                            f"(needs <= {bar:.2f})")
        else:
            passed.append(f"held-out word perplexity {ppl:.2f} <= {bar:.2f} ({cfg.min_improvement:.0%} below {where})")
    else:
        numbers["max_perplexity"] = cfg.max_perplexity
        if ppl >= cfg.max_perplexity:
            problems.append(f"first model: held-out word perplexity {ppl:.2f} >= allowed {cfg.max_perplexity:.2f}")
        else:
            passed.append(f"first model: held-out word perplexity {ppl:.2f} < {cfg.max_perplexity:.2f}")
    return ("reject", problems, numbers) if problems else ("promote", passed, numbers)


def gate_and_promote(name: str, evaluated: dict[str, Any], cfg: FineTuneConfig,
                     context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decide, then apply the verdict through :func:`include.platform.lifecycle.apply_verdict`."""
    from include.platform import lifecycle

    decision, reasons, numbers = decide(evaluated["metrics"], evaluated.get("champion"), cfg)
    if decision == "promote" and cfg.promotion == "canary" and evaluated.get("champion") is not None:
        decision = "hand_to_canary"
        reasons = [*reasons, "promotion=canary: handed to canary_deploy, which promotes or rolls back"]
    applied = lifecycle.apply_verdict(name, evaluated["version"], lifecycle.Verdict(
        decision, DECIDED_BY, reasons=tuple(reasons), metrics=numbers,
        evidence={"report_uri": evaluated.get("report_uri", ""), "champion": evaluated.get("champion")}),
        context=context)
    out = {"promoted": decision == "promote", "handed_to_canary": decision == "hand_to_canary",
           "version": applied.version, "status": str(applied.status), "reasons": reasons,
           "asset_extra": applied.extra}
    if decision == "reject":
        log.warning("%s/%s not promoted: %s", name, evaluated["version"], "; ".join(reasons))
    return out
