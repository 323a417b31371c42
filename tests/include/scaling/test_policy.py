"""The HPA-style policy: each rule and each input, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.platform.errors import ConfigError
from include.scaling.config import MonitorConfig, ScalingPolicyConfig, WhatIfConfig
from include.scaling.policy import Observation, Recommendation, decide

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

# Only the queue metric unless a test turns another one on; no step limit, no stabilisation.
QUEUE_ONLY = ScalingPolicyConfig(min_replicas=1, max_replicas=50, target_queue_per_replica=4.0,
                                 target_pending_per_replica=None, target_gpu_utilization=None,
                                 scale_down_stabilization_s=0, scale_up_max_pods=100, scale_up_max_percent=1000,
                                 scale_down_max_percent=100, cost_per_replica_hour=0.0, max_cost_per_hour=None)


def obs(current: int, queue: float = 0.0, **kw) -> Observation:
    return Observation(timestamp=kw.pop("timestamp", T0), current_replicas=current, queue_depth=queue, **kw)


def test_desired_is_ceil_current_times_ratio():
    d = decide(obs(2, queue=13), QUEUE_ONLY)  # 13/2 = 6.5 per replica vs 4 -> ratio 1.625 -> ceil(3.25) = 4
    assert (d.recommendation, d.desired_replicas, d.direction, d.driver) == (4, 4, "up", "queue_depth")
    assert d.proposals[0].ratio == pytest.approx(1.625)


@pytest.mark.parametrize("queue,expected,within", [
    (8.8, 2, True), (7.2, 2, True), (8.81, 3, False), (7.19, 2, False), (4.0, 1, False)])
def test_tolerance_band_keeps_the_count(queue, expected, within):
    # 2 replicas, target 4 each -> 8 is on target; +-10 % (7.2..8.8) changes nothing. Just outside the
    # band the formula runs: 7.19 -> ceil(2 x 0.899) = 2 (as the HPA), 4 -> ceil(2 x 0.5) = 1.
    d = decide(obs(2, queue=queue), QUEUE_ONLY)
    assert d.desired_replicas == expected
    assert d.proposals[0].within_tolerance is within


def test_custom_tolerance():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "tolerance": 0.5})
    assert decide(obs(2, queue=11.9), cfg).desired_replicas == 2  # ratio 1.49 inside 0.5
    assert decide(obs(2, queue=12.1), cfg).desired_replicas == 4


def test_scale_down_stabilization_keeps_highest_recent_recommendation():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "scale_down_stabilization_s": 300})
    history = [Recommendation(T0 - timedelta(seconds=240), 6), Recommendation(T0 - timedelta(seconds=120), 3)]
    d = decide(obs(8, queue=4), cfg, history)  # raw recommendation 1
    assert d.recommendation == 1
    assert d.desired_replicas == 6 and "scale_down_stabilization" in d.limited_by
    # Outside the window the old high recommendation no longer counts.
    old = [Recommendation(T0 - timedelta(seconds=400), 6), Recommendation(T0 - timedelta(seconds=120), 3)]
    assert decide(obs(8, queue=4), cfg, old).desired_replicas == 3


def test_stabilization_never_scales_up_and_ignores_scale_up():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "scale_down_stabilization_s": 300})
    # A higher past recommendation than the current count does not push the count up during a scale-down.
    d = decide(obs(4, queue=4), cfg, [Recommendation(T0 - timedelta(seconds=60), 9)])
    assert d.desired_replicas == 4 and d.direction == "hold"
    # Scale-up is immediate (scale-up window 0), whatever the history holds.
    assert decide(obs(2, queue=40), cfg, [Recommendation(T0 - timedelta(seconds=60), 1)]).desired_replicas == 10


def test_scale_up_stabilization_window():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "scale_up_stabilization_s": 600})
    d = decide(obs(2, queue=40), cfg, [Recommendation(T0 - timedelta(seconds=300), 5)])
    assert d.recommendation == 10 and d.desired_replicas == 5 and "scale_up_stabilization" in d.limited_by


def test_scale_up_step_limit_takes_the_larger_policy():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "scale_up_max_pods": 4, "scale_up_max_percent": 100})
    assert decide(obs(1, queue=200), cfg).desired_replicas == 5    # max(1+4, 1*2) = 5
    assert decide(obs(10, queue=400), cfg).desired_replicas == 20  # max(10+4, 10*2) = 20
    assert "scale_up_step" in decide(obs(1, queue=200), cfg).limited_by


def test_scale_down_step_limit():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "scale_down_max_percent": 50})
    d = decide(obs(10, queue=0), cfg)  # raw 1 (min), at most -50 % per decision
    assert d.desired_replicas == 5 and "scale_down_step" in d.limited_by
    pods = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "scale_down_max_pods": 2, "scale_down_max_percent": 10})
    assert decide(obs(10, queue=0), pods).desired_replicas == 8  # max change of (-2, -10 % = -1) -> -2


def test_min_and_max_bounds():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "min_replicas": 2, "max_replicas": 6})
    up = decide(obs(4, queue=400), cfg)
    assert up.desired_replicas == 6 and "max_replicas" in up.limited_by
    down = decide(obs(4, queue=0), cfg)
    assert down.desired_replicas == 2 and "min_replicas" in down.limited_by


def test_cost_ceiling_caps_but_not_below_min():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "cost_per_replica_hour": 3.0, "max_cost_per_hour": 10.0})
    d = decide(obs(2, queue=40), cfg)  # wants 10, $10/h buys 3
    assert d.desired_replicas == 3 and "cost_ceiling" in d.limited_by
    assert d.cost_per_hour == pytest.approx(9.0)
    floor = ScalingPolicyConfig(**{**vars(cfg), "min_replicas": 5})
    assert decide(obs(5, queue=40), floor).desired_replicas == 5


def test_pending_objects_drive_the_decision():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "target_pending_per_replica": 10.0})
    d = decide(obs(1, queue=0, pending_objects=45), cfg)
    assert d.driver == "pending_objects" and d.desired_replicas == 5


def test_gpu_saturation_drives_the_decision():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "target_gpu_utilization": 70.0})
    d = decide(obs(3, queue=12, gpu_utilization=98.0), cfg)  # queue on target; GPU 98/70 = 1.4 -> ceil(4.2) = 5
    assert d.driver == "gpu_utilization" and d.desired_replicas == 5
    # No GPU measured (None): the metric is ignored, the queue (on target) holds.
    assert decide(obs(3, queue=12, gpu_utilization=None), cfg).direction == "hold"


def test_cpu_metric_only_when_targeted():
    assert decide(obs(2, queue=8, cpu_percent=99.0), QUEUE_ONLY).direction == "hold"
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "target_cpu_percent": 50.0})
    assert decide(obs(2, queue=8, cpu_percent=99.0), cfg).desired_replicas == 4


def test_largest_proposal_wins_and_scale_from_zero():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "min_replicas": 0, "target_gpu_utilization": 70.0})
    d = decide(obs(0, queue=10, gpu_utilization=0.0), cfg)
    assert d.desired_replicas == 3  # ceil(10 / 4) from zero; GPU cannot speak for zero replicas
    assert decide(obs(0, queue=0), cfg).desired_replicas == 0


def test_explanation_names_every_step():
    cfg = ScalingPolicyConfig(**{**vars(QUEUE_ONLY), "max_replicas": 3, "cost_per_replica_hour": 1.0})
    text = decide(obs(1, queue=40), cfg).explain()
    assert "queue_depth = 40" in text and "ratio 10.00" in text
    assert "max_replicas 3 caps" in text and "decision: up 1 -> 3 replicas ($3.00/h)" in text


def test_no_metric_holds():
    cfg = ScalingPolicyConfig(target_queue_per_replica=0, target_pending_per_replica=None, target_gpu_utilization=None)
    d = decide(obs(3, queue=100), cfg)
    assert d.direction == "hold" and d.driver == "none"


def test_invalid_bounds_rejected():
    with pytest.raises(ValueError):
        ScalingPolicyConfig(min_replicas=5, max_replicas=2)


def test_one_set_of_defaults_for_every_scaling_dag():
    """The policy's defaults are the monitor's (8 / 10 / 1800 s), whichever config a DAG uses."""
    policy = ScalingPolicyConfig()
    assert (policy.max_replicas, policy.target_pending_per_replica, policy.scale_down_stabilization_s) == (8, 10.0, 1800)
    for cls in (MonitorConfig, WhatIfConfig):
        cfg = cls.defaults()
        assert {k: getattr(cfg, k) for k in ScalingPolicyConfig.__dataclass_fields__} == vars(policy)


def test_form_values_switch_targets_off_with_zero_and_bad_values_name_the_param():
    cfg = MonitorConfig.from_params({"target_pending_per_replica": 0, "target_gpu_utilization": 70,
                                     "max_cost_per_hour": None})
    assert cfg.target_pending_per_replica == 0 and cfg.max_cost_per_hour is None
    d = decide(obs(2, queue=8.0, pending_objects=100, gpu_utilization=70.0), cfg)
    assert [p.metric for p in d.proposals] == ["queue_depth", "gpu_utilization"]  # pending switched off
    with pytest.raises(ConfigError, match="max_replicas"):
        MonitorConfig.from_params({"max_replicas": 0})
    with pytest.raises(ConfigError, match="min_replicas"):
        MonitorConfig.from_params({"min_replicas": 9, "max_replicas": 8})


def test_unmeasured_queue_is_ignored_not_read_as_zero():
    """No API server: queue_depth is None, so it neither drives nor vetoes the decision."""
    from dataclasses import replace

    cfg = replace(QUEUE_ONLY, target_pending_per_replica=10.0)
    d = decide(obs(3, queue=None, pending_objects=25), cfg)
    assert [p.metric for p in d.proposals] == ["pending_objects"]
    assert (d.driver, d.desired_replicas) == ("pending_objects", 3)  # 25/3/10 = 0.83 -> ceil(2.5) = 3
    only_queue = decide(obs(3, queue=None), QUEUE_ONLY)
    assert (only_queue.driver, only_queue.desired_replicas) == ("none", 3)  # nothing measured: keep
