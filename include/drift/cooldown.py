"""Retrain or not: drift verdicts plus a cool-down, as one pure, explainable function.

Why a cool-down: drift measured against a fixed reference stays "on" every day after a real
population change, and retraining daily on the same shift burns compute without new information.
So after a retrain, further drift is ignored for ``cooldown_days`` *unless* the drifted share
exceeds a hard limit (a second, larger shift), and a manual run can always force a retrain.
The cool-down counts from the last *retrain attempt*, not the last promotion, so a challenger
that keeps failing the gate does not cause a search every day either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str
    days_since_last_retrain: int | None
    cooldown_active: bool

    def to_dict(self) -> dict:
        return asdict(self)


def decide_retrain(
    *,
    today: date,
    drifted_share: float,
    dataset_drift: bool,
    prediction_drift: bool = False,
    use_prediction_drift: bool = True,
    last_retrain: date | None,
    cooldown_days: int,
    hard_limit: float,
    has_champion: bool = True,
    force: bool = False,
) -> RetrainDecision:
    """Return whether to retrain and a sentence saying why (shown in the UI, logs and warehouse)."""
    days = (today - last_retrain).days if last_retrain else None
    in_cooldown = days is not None and 0 <= days < cooldown_days

    def decision(retrain: bool, reason: str) -> RetrainDecision:
        return RetrainDecision(retrain, reason, days, in_cooldown)

    if not has_champion:
        return decision(True, "no champion registered yet: train the first one")
    if force:
        return decision(True, "retrain forced by the run's Params")
    triggers = []
    if dataset_drift:
        triggers.append(f"dataset drift ({drifted_share:.0%} of columns drifted)")
    if use_prediction_drift and prediction_drift:
        triggers.append("the champion's predictions drifted")
    if not triggers:
        return decision(False, f"no drift: {drifted_share:.0%} of columns drifted, below the dataset threshold")
    if in_cooldown:
        if drifted_share > hard_limit:
            return decision(True, f"{' and '.join(triggers)}; cool-down overridden: drifted share "
                                  f"{drifted_share:.0%} exceeds the hard limit {hard_limit:.0%}")
        return decision(False, f"{' and '.join(triggers)}, but in cool-down: last retrain {days} day(s) ago "
                               f"(< {cooldown_days}) and drifted share {drifted_share:.0%} does not exceed "
                               f"the hard limit {hard_limit:.0%}")
    return decision(True, " and ".join(triggers))
