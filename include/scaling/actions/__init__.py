"""Where a scaling decision is applied, chosen in ONE place (:func:`action_for`) from the ``action`` knob.

=============  ==================================  ============================================
action         target (config fields)              applied through
=============  ==================================  ============================================
``pool``       ``pool_name``                       Airflow REST API (embedded default, local)
``kubernetes`` ``k8s_namespace``/``k8s_name``       cncf-kubernetes hook: Deployment scale or HPA
               (wiring), ``k8s_mode``               bounds
``aws``        ``aws_resource_id`` (wiring),       amazon provider: Application Auto Scaling
               ``aws_kind``                        floor + target-tracking policy
=============  ==================================  ============================================

Every action answers ``target(cfg)``, ``current(cfg, api)`` and ``apply(cfg, desired, dry_run, api)``
and returns what it changed (or would change), so the decision row records the outcome. Each takes
a :class:`~include.scaling.config.MonitorConfig` (validated: pools and connection ids already passed
the allow-lists in its ``check``), never the raw Params dict; ``api`` is only used by ``pool``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.scaling.config import MonitorConfig


class ActionError(ValueError):
    """No scaling action by that name; the message lists the ones that exist."""


@dataclass(frozen=True)
class ScalingAction:
    name: str
    target: Callable[[MonitorConfig], str]
    current: Callable[[MonitorConfig, Any], int]
    apply: Callable[[MonitorConfig, int, bool, Any], dict[str, Any]]
    uses_api: bool = False


def _pool_current(cfg: MonitorConfig, api: Any) -> int:
    from include.scaling.actions import pool

    return pool.current(api, cfg.pool_name, default=cfg.min_replicas)


def _pool_apply(cfg: MonitorConfig, desired: int, dry_run: bool, api: Any) -> dict[str, Any]:
    from include.scaling.actions import pool

    return pool.resize_pool(api, cfg.pool_name, desired, dry_run=dry_run)


def _k8s_current(cfg: MonitorConfig, api: Any) -> int:
    from include.scaling.actions import kubernetes

    return kubernetes.current(cfg.kubernetes_conn_id, cfg.k8s_namespace, cfg.k8s_name, cfg.k8s_mode)


def _k8s_apply(cfg: MonitorConfig, desired: int, dry_run: bool, api: Any) -> dict[str, Any]:
    from include.scaling.actions import kubernetes

    return kubernetes.apply(cfg.kubernetes_conn_id, cfg.k8s_namespace, cfg.k8s_name, desired, cfg.max_replicas,
                            cfg.k8s_mode, dry_run=dry_run)


def _aws_current(cfg: MonitorConfig, api: Any) -> int:
    from include.scaling.actions import aws

    return aws.current(cfg.aws_conn_id, cfg.aws_resource_id, cfg.aws_kind, default=cfg.min_replicas)


def _aws_apply(cfg: MonitorConfig, desired: int, dry_run: bool, api: Any) -> dict[str, Any]:
    from include.scaling.actions import aws

    return aws.apply(cfg.aws_conn_id, cfg.aws_resource_id, desired, cfg.max_replicas, cfg.aws_kind,
                     float(cfg.target_gpu_utilization or 70.0), dry_run=dry_run)


ACTIONS: dict[str, ScalingAction] = {
    "pool": ScalingAction("pool", lambda cfg: cfg.pool_name, _pool_current, _pool_apply, uses_api=True),
    "kubernetes": ScalingAction("kubernetes", lambda cfg: f"{cfg.k8s_namespace}/{cfg.k8s_name}",
                                _k8s_current, _k8s_apply),
    "aws": ScalingAction("aws", lambda cfg: cfg.aws_resource_id, _aws_current, _aws_apply),
}


def action_for(name: str) -> ScalingAction:
    """The action named by the ``action`` knob (ActionError naming the choices otherwise)."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise ActionError(f"unknown scaling action {name!r}; use one of {sorted(ACTIONS)}") from None


__all__ = ["ACTIONS", "ActionError", "ScalingAction", "action_for"]
