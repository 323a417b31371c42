"""The retrain decision: drift triggers, cool-down, hard limit, force, first model."""

from __future__ import annotations

from datetime import date

from include.drift.cooldown import decide_retrain

TODAY = date(2026, 11, 22)
BASE = dict(today=TODAY, cooldown_days=7, hard_limit=0.95)


def test_no_drift_skips():
    d = decide_retrain(drifted_share=0.1, dataset_drift=False, last_retrain=None, **BASE)
    assert not d.retrain and "no drift" in d.reason


def test_drift_retrains_outside_cooldown():
    d = decide_retrain(drifted_share=0.6, dataset_drift=True, last_retrain=date(2026, 11, 1), **BASE)
    assert d.retrain and not d.cooldown_active and d.days_since_last_retrain == 21


def test_cooldown_blocks_then_hard_limit_overrides():
    blocked = decide_retrain(drifted_share=0.9, dataset_drift=True, last_retrain=date(2026, 11, 21), **BASE)
    assert not blocked.retrain and blocked.cooldown_active and "cool-down" in blocked.reason
    override = decide_retrain(drifted_share=1.0, dataset_drift=True, last_retrain=date(2026, 11, 21), **BASE)
    assert override.retrain and "hard limit" in override.reason


def test_prediction_drift_can_trigger_or_be_ignored():
    on = decide_retrain(drifted_share=0.2, dataset_drift=False, prediction_drift=True, last_retrain=None, **BASE)
    off = decide_retrain(drifted_share=0.2, dataset_drift=False, prediction_drift=True,
                         use_prediction_drift=False, last_retrain=None, **BASE)
    assert on.retrain and not off.retrain


def test_first_model_and_force():
    assert decide_retrain(drifted_share=0, dataset_drift=False, last_retrain=None, has_champion=False, **BASE).retrain
    forced = decide_retrain(drifted_share=0, dataset_drift=False, last_retrain=TODAY, force=True, **BASE)
    assert forced.retrain and "forced" in forced.reason
