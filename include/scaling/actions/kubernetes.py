"""Kubernetes action: set a Deployment's replicas, or the bounds of the HPA that owns it.

Through the cncf-kubernetes provider's ``KubernetesHook`` (connection ``kubernetes_default`` or
the one named in the DAG Param), so in-cluster config, a kubeconfig file or an inline kubeconfig
all work without code changes.

Two modes, because an HPA and a direct replica patch must never fight over one workload (the
Airflow Helm chart's KEDA docs warn the same):

* ``deployment``: ``PATCH .../deployments/{name}/scale`` with ``{"spec": {"replicas": n}}``;
* ``hpa``: the HPA keeps reacting every 15 s; we move its floor to our decision
  (``{"spec": {"minReplicas": n, "maxReplicas": max}}``) so queue/GPU/cost insight the HPA cannot
  see still shapes capacity.

Bodies are JSON merge patches built by the pure functions below and sent with an explicit
``Content-Type: application/merge-patch+json``: for a dict body the generated client (kubernetes 36)
picks the first listed type, ``application/json-patch+json``, which the API server rejects for a
non-list body.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

MODES = ("deployment", "hpa")
MERGE_PATCH = "application/merge-patch+json"


def scale_body(replicas: int) -> dict[str, Any]:
    if replicas < 0:
        raise ValueError("replicas must be >= 0")
    return {"spec": {"replicas": int(replicas)}}


def hpa_bounds_body(min_replicas: int, max_replicas: int) -> dict[str, Any]:
    """HPA ``minReplicas`` must be >= 1 (0 needs the HPAScaleToZero feature gate) and <= max."""
    lo = max(int(min_replicas), 1)
    hi = max(int(max_replicas), lo)
    return {"spec": {"minReplicas": lo, "maxReplicas": hi}}


def _clients(conn_id: str) -> tuple[Any, Any]:
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
    from kubernetes import client

    api_client = KubernetesHook(conn_id=conn_id).get_conn()
    return client.AppsV1Api(api_client), client.AutoscalingV2Api(api_client)


def current(conn_id: str, namespace: str, name: str, mode: str = "deployment") -> int:
    apps, autoscaling = _clients(conn_id)
    if mode == "hpa":
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace)
        return int(hpa.status.current_replicas or hpa.spec.min_replicas or 1)
    scale = apps.read_namespaced_deployment_scale(name, namespace)
    return int(scale.spec.replicas or 0)


def apply(conn_id: str, namespace: str, name: str, desired: int, max_replicas: int,
          mode: str = "deployment", dry_run: bool = False) -> dict[str, Any]:
    if mode not in MODES:
        raise ValueError(f"kubernetes mode must be one of {MODES}, got {mode!r}")
    body = hpa_bounds_body(desired, max_replicas) if mode == "hpa" else scale_body(desired)
    result: dict[str, Any] = {"action": "kubernetes", "target": f"{namespace}/{name}", "mode": mode,
                              "body": body, "after": desired, "dry_run": dry_run}
    if dry_run:
        log.info("DRY RUN: would patch %s %s/%s with %s", mode, namespace, name, body)
        return {**result, "status": "dry_run"}
    apps, autoscaling = _clients(conn_id)
    if mode == "hpa":
        resp = autoscaling.patch_namespaced_horizontal_pod_autoscaler(name, namespace, body,
                                                                      _content_type=MERGE_PATCH)
        log.info("Patched HPA %s/%s bounds to %s", namespace, name, body["spec"])
        return {**result, "status": "applied", "observed": int(resp.spec.min_replicas)}
    resp = apps.patch_namespaced_deployment_scale(name, namespace, body, _content_type=MERGE_PATCH)
    log.info("Scaled deployment %s/%s to %d replicas", namespace, name, desired)
    return {**result, "status": "applied", "observed": int(resp.spec.replicas)}
