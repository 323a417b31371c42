"""Traffic backends, chosen in ONE place (``backend_for``) from the connection's type.

=====================  ===========================  ==========================================
connection type        target keys                  backend
=====================  ===========================  ==========================================
(none)                 router_url (from setup)      local router (embedded default)
``aws``                endpoint_name, variants      SageMaker endpoint variant weights
``aws``                listener_arn, target groups  ELBv2 weighted target groups (the article)
``google_cloud_platform``  endpoint_id, deployed model ids  Vertex AI endpoint ``traffic_split``
``azure``              endpoint_name, deployments   Azure ML online endpoint ``traffic``
=====================  ===========================  ==========================================
"""

from __future__ import annotations

from typing import Any

from include.canary.backends.base import TrafficBackend


class BackendError(ValueError):
    """The connection/target pair does not name a usable backend; the message says what to set."""


def backend_for(conn_id: str | None, target: dict[str, Any] | None = None,
                stack: dict[str, Any] | None = None) -> TrafficBackend:
    target = target or {}
    if not conn_id:
        if not stack or not stack.get("router_url"):
            raise BackendError("the local backend needs the router started by the setup task (stack.router_url)")
        from include.canary.backends.local import LocalRouterBackend

        return LocalRouterBackend(stack["router_url"], host=stack.get("host"))

    from airflow.sdk import BaseHook

    conn_type = BaseHook.get_connection(conn_id).conn_type
    if conn_type == "aws":
        if "listener_arn" in target:
            from include.canary.backends.elbv2 import ElbV2Backend

            return ElbV2Backend.from_target(conn_id, target)
        from include.canary.backends.sagemaker import SageMakerBackend

        return SageMakerBackend.from_target(conn_id, target)
    if conn_type in ("google_cloud_platform",):
        from include.canary.backends.vertex import VertexBackend

        return VertexBackend.from_target(conn_id, target)
    if conn_type in ("azure", "azure_ml"):
        from include.canary.backends.azureml import AzureMLBackend

        return AzureMLBackend.from_target(conn_id, target)
    raise BackendError(f"connection {conn_id!r} has type {conn_type!r}; canary backends exist for "
                       "aws (SageMaker or ELBv2), google_cloud_platform (Vertex AI) and azure (Azure ML)")


__all__ = ["BackendError", "TrafficBackend", "backend_for"]
