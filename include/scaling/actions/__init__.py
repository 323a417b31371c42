"""Where a scaling decision is applied: an Airflow pool (default), Kubernetes, or AWS.

Every action has ``current(...) -> int`` and ``apply(..., desired, dry_run) -> dict`` and returns
what it changed (or would change), so the decision row records the outcome.
"""

from __future__ import annotations

from typing import Any

from include.scaling import guards

ACTIONS = ("pool", "kubernetes", "aws")


def target_name(params: dict[str, Any]) -> str:
    """The thing being scaled, as recorded in the decision row."""
    action = params["action"]
    if action == "pool":
        return str(params["pool_name"])
    if action == "kubernetes":
        return f"{params['k8s_namespace']}/{params['k8s_name']}"
    if action == "aws":
        return str(params["aws_resource_id"])
    raise ValueError(f"unknown action {action!r}; use one of {ACTIONS}")


def _k8s_conn(params: dict[str, Any]) -> str:
    """The Param's connection id, allow-listed (``genai_allowed_connections``) before a hook sees it."""
    return guards.connection(params["kubernetes_conn_id"], guards.DEFAULT_KUBERNETES_CONNECTIONS,
                             "kubernetes_conn_id")


def _aws_conn(params: dict[str, Any]) -> str:
    return guards.connection(params["aws_conn_id"], guards.DEFAULT_AWS_CONNECTIONS, "aws_conn_id")


def current_replicas(params: dict[str, Any], api: Any | None = None) -> int:
    action = params["action"]
    if action == "pool":
        from include.scaling.actions import pool

        return pool.current(api, params["pool_name"], default=int(params["min_replicas"]))
    if action == "kubernetes":
        from include.scaling.actions import kubernetes

        return kubernetes.current(_k8s_conn(params), params["k8s_namespace"], params["k8s_name"],
                                  params["k8s_mode"])
    if action == "aws":
        from include.scaling.actions import aws

        return aws.current(_aws_conn(params), params["aws_resource_id"], params["aws_kind"],
                           default=int(params["min_replicas"]))
    raise ValueError(f"unknown action {action!r}; use one of {ACTIONS}")


def apply(params: dict[str, Any], desired: int, dry_run: bool, api: Any | None = None) -> dict[str, Any]:
    action = params["action"]
    if action == "pool":
        from include.scaling.actions import pool

        return pool.resize_pool(api, params["pool_name"], desired, dry_run=dry_run)
    if action == "kubernetes":
        from include.scaling.actions import kubernetes

        return kubernetes.apply(_k8s_conn(params), params["k8s_namespace"], params["k8s_name"],
                                desired, int(params["max_replicas"]), params["k8s_mode"], dry_run=dry_run)
    if action == "aws":
        from include.scaling.actions import aws

        return aws.apply(_aws_conn(params), params["aws_resource_id"], desired, int(params["max_replicas"]),
                         params["aws_kind"], float(params["target_gpu_utilization"] or 70.0), dry_run=dry_run)
    raise ValueError(f"unknown action {action!r}; use one of {ACTIONS}")
