"""The scaling decision: a pure function with Kubernetes HPA semantics, explained line by line.

Why re-implement the HPA instead of "scale up above 80 %, down below 30 %" (the article): threshold
pairs flap and ignore how far off target we are. The HPA v2 algorithm is the industry's reference
and its behaviour is documented, so operators can predict ours:

1. per metric: ``ratio = value / target``; inside the tolerance band (``|ratio - 1| <= 0.1``) the
   proposal is the current count, else ``ceil(current * ratio)``. For a per-replica target on a total
   (queue depth, pending objects) that is ``ceil(total / target_per_replica)``;
2. the largest proposal wins (the metric that needs the most replicas);
3. scale-down stabilisation: the desired count is the *highest* recommendation within the last
   ``scale_down_stabilization_s`` seconds (HPA default 300 s), so one quiet sample does not drop
   capacity; scale-up uses the lowest within its window (default 0 s = react at once);
4. step limits (HPA ``behavior`` with ``selectPolicy: Max``): up by at most
   ``max(+up_pods, ×(1 + up_percent/100))`` per decision, down by at most
   ``max(-down_pods, ×(1 - down_percent/100))`` (HPA defaults: up 4 pods / 100 %, down 100 %);
5. min/max replicas, then the $/hour ceiling (``max_cost_per_hour / cost_per_replica_hour``): cost caps
   the count but never below ``min_replicas`` (availability first; the conflict is logged).

HPA applies step limits per ``periodSeconds``; here one decision is one period (the DAG's schedule).
Targets and limits: :class:`include.scaling.config.ScalingPolicyConfig` (a target of 0 switches its metric off).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.scaling.config import ScalingPolicyConfig


@dataclass(frozen=True)
class Observation:
    """What the monitor saw at ``timestamp``. ``None`` = not measured (no GPU, no API server for the queue)."""

    timestamp: datetime
    current_replicas: int
    queue_depth: float | None = 0.0
    pending_objects: float | None = None
    gpu_utilization: float | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None


@dataclass(frozen=True)
class Recommendation:
    """A past raw recommendation (step 2's output), kept for the stabilisation window."""

    timestamp: datetime
    replicas: int


@dataclass(frozen=True)
class MetricProposal:
    metric: str
    value: float
    target: float
    ratio: float
    proposal: int
    within_tolerance: bool
    kind: str  # "per_replica_total" (queue, pending) or "utilization" (gpu/cpu/memory averages)


@dataclass
class Decision:
    timestamp: datetime
    current_replicas: int
    recommendation: int
    desired_replicas: int
    direction: str  # "up" | "down" | "hold"
    driver: str  # the metric that set the recommendation, or "none"
    limited_by: list[str] = field(default_factory=list)
    proposals: list[MetricProposal] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    cost_per_hour: float = 0.0

    def explain(self) -> str:
        return "\n".join(self.explanation)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["timestamp"] = self.timestamp.isoformat()
        return out


def _proposal(metric: str, value: float, target: float, current: int, tolerance: float, kind: str) -> MetricProposal:
    """HPA's per-metric step.

    ``per_replica_total``: value is a total (queued tasks), the target is per replica, so the usage
    ratio is ``(value / current) / target``; with 0 replicas the HPA scales from 0 to
    ``ceil(value / target)`` directly. ``utilization``: value is already an average across replicas.
    """
    if kind == "per_replica_total":
        if current <= 0:
            proposal = math.ceil(value / target) if value > 0 else 0
            return MetricProposal(metric, value, target, value / target, proposal, False, kind)
        ratio = (value / current) / target
    else:
        ratio = value / target
        if current <= 0:  # nothing runs, nothing to measure: utilisation cannot drive a scale-from-zero
            return MetricProposal(metric, value, target, ratio, 0, True, kind)
    within = abs(ratio - 1.0) <= tolerance + 1e-9  # float noise: 8.8 / 2 / 4 = 1.1000000000000001
    proposal = current if within else math.ceil(current * ratio - 1e-9)
    return MetricProposal(metric, value, target, ratio, proposal, within, kind)


def metric_proposals(obs: Observation, cfg: ScalingPolicyConfig) -> list[MetricProposal]:
    specs: list[tuple[str, float | None, float | None, str]] = [
        ("queue_depth", obs.queue_depth, cfg.target_queue_per_replica, "per_replica_total"),
        ("pending_objects", obs.pending_objects, cfg.target_pending_per_replica, "per_replica_total"),
        ("gpu_utilization", obs.gpu_utilization, cfg.target_gpu_utilization, "utilization"),
        ("cpu_percent", obs.cpu_percent, cfg.target_cpu_percent, "utilization"),
        ("memory_percent", obs.memory_percent, cfg.target_memory_percent, "utilization"),
    ]
    return [
        _proposal(name, float(value), float(target), obs.current_replicas, cfg.tolerance, kind)
        for name, value, target, kind in specs
        if value is not None and target
    ]


def decide(obs: Observation, cfg: ScalingPolicyConfig, history: Sequence[Recommendation] = ()) -> Decision:
    """The replica count for ``obs`` (see the module docstring for the five steps)."""
    current = max(int(obs.current_replicas), 0)
    lines = [f"current replicas: {current}"]
    proposals = metric_proposals(obs, cfg)
    for p in proposals:
        band = "within tolerance -> keep" if p.within_tolerance else f"-> {p.proposal}"
        per = f" ({p.value:g} / {max(current, 1)} replicas)" if p.kind == "per_replica_total" else ""
        lines.append(f"{p.metric} = {p.value:g}{per} vs target {p.target:g}: ratio {p.ratio:.2f} {band}")
    if proposals:
        top = max(proposals, key=lambda p: p.proposal)
        recommendation, driver = top.proposal, top.metric
        lines.append(f"recommendation: {recommendation} (largest proposal, from {driver})")
    else:
        recommendation, driver = current, "none"
        lines.append("no metric measured with a target: keep the current count")
    limited_by: list[str] = []

    # 3. stabilisation windows over raw recommendations (HPA's stabilizeRecommendationWithBehaviors):
    # up = lowest recommendation in the up window, down = highest in the down window; the current
    # count moves only as far as both allow.
    now = obs.timestamp

    def _window(seconds: float) -> list[int]:
        return [r.replicas for r in history if now - timedelta(seconds=seconds) <= r.timestamp < now]

    up_rec = min([recommendation, *_window(cfg.scale_up_stabilization_s)]) if cfg.scale_up_stabilization_s > 0 \
        else recommendation
    down_rec = max([recommendation, *_window(cfg.scale_down_stabilization_s)]) \
        if cfg.scale_down_stabilization_s > 0 else recommendation
    desired = current
    if desired < up_rec:
        desired = up_rec
    if desired > down_rec:
        desired = down_rec
    if recommendation < current and desired > recommendation:
        limited_by.append("scale_down_stabilization")
        lines.append(f"scale-down stabilisation: highest recommendation in the last "
                     f"{cfg.scale_down_stabilization_s:g}s is {down_rec} -> {desired}")
    elif recommendation > current and desired < recommendation:
        limited_by.append("scale_up_stabilization")
        lines.append(f"scale-up stabilisation: lowest recommendation in the last "
                     f"{cfg.scale_up_stabilization_s:g}s is {up_rec} -> {desired}")

    # 4. step limits (selectPolicy Max = the policy that allows the larger change).
    if desired > current:
        up_limit = max(current + cfg.scale_up_max_pods,
                       math.ceil(current * (1 + cfg.scale_up_max_percent / 100.0)))
        if current == 0:
            up_limit = max(up_limit, 1)
        if desired > up_limit:
            limited_by.append("scale_up_step")
            lines.append(f"scale-up step limit: at most max(+{cfg.scale_up_max_pods} pods, "
                         f"+{cfg.scale_up_max_percent:g}%) per decision -> {up_limit}")
            desired = up_limit
    elif desired < current:
        down_limit = min(current - cfg.scale_down_max_pods if cfg.scale_down_max_pods else current,
                         math.ceil(current * (1 - cfg.scale_down_max_percent / 100.0)))
        down_limit = max(down_limit, 0)
        if desired < down_limit:
            limited_by.append("scale_down_step")
            lines.append(f"scale-down step limit: at most max(-{cfg.scale_down_max_pods} pods, "
                         f"-{cfg.scale_down_max_percent:g}%) per decision -> {down_limit}")
            desired = down_limit

    # 5. bounds, then the cost ceiling (never below min_replicas).
    if desired > cfg.max_replicas:
        limited_by.append("max_replicas")
        lines.append(f"max_replicas {cfg.max_replicas} caps {desired}")
        desired = cfg.max_replicas
    if desired < cfg.min_replicas:
        limited_by.append("min_replicas")
        lines.append(f"min_replicas {cfg.min_replicas} lifts {desired}")
        desired = cfg.min_replicas
    if cfg.max_cost_per_hour is not None and cfg.cost_per_replica_hour > 0:
        affordable = math.floor(cfg.max_cost_per_hour / cfg.cost_per_replica_hour + 1e-9)
        if desired > affordable:
            capped = max(affordable, cfg.min_replicas)
            limited_by.append("cost_ceiling")
            lines.append(f"cost ceiling ${cfg.max_cost_per_hour:g}/h at ${cfg.cost_per_replica_hour:g}/replica-h "
                         f"allows {affordable} -> {capped}"
                         + (" (min_replicas wins over the ceiling)" if capped > affordable else ""))
            desired = capped

    direction = "up" if desired > current else "down" if desired < current else "hold"
    cost = desired * cfg.cost_per_replica_hour
    lines.append(f"decision: {direction} {current} -> {desired} replicas"
                 + (f" (${cost:.2f}/h)" if cfg.cost_per_replica_hour else ""))
    return Decision(timestamp=obs.timestamp, current_replicas=current, recommendation=recommendation,
                    desired_replicas=desired, direction=direction, driver=driver, limited_by=limited_by,
                    proposals=proposals, explanation=lines, cost_per_hour=cost)
