"""Azure Machine Learning: one managed online endpoint with two deployments; ``traffic`` shifted in place.

``azure-ai-ml`` is not installed in this environment, so the ARM REST calls it would make are built
directly with azure-core's ``HttpRequest`` and sent through an ``ARMPipelineClient`` (the same
pipeline the Azure SDKs use: bearer token, retries). Traffic: GET the endpoint, set
``properties.traffic`` to ``{champion: 100-p, challenger: p}``, PUT it back (what
``az ml online-endpoint update --traffic`` does: the PATCH operation only updates tags and
identity), then poll until ``provisioningState`` settles. Metrics: Azure Monitor
``RequestsPerMinute`` (split by ``deployment`` and ``statusCodeClass``) and ``RequestLatency_P95``
(split by ``deployment``) on the endpoint resource.

Target keys: ``subscription_id``, ``resource_group``, ``workspace``, ``endpoint_name``,
``champion_deployment``, ``challenger_deployment``. Connection: an ``azure`` connection (service
principal or managed identity), as the microsoft-azure provider's AzureBaseHook reads it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from include.canary.backends.base import target_kwargs
from include.canary.backends.cloudwatch import now_marker

REQUIRED = ("subscription_id", "resource_group", "workspace", "endpoint_name", "champion_deployment",
            "challenger_deployment")
ARM = "https://management.azure.com"
ENDPOINT_API_VERSION = "2024-04-01"
METRICS_API_VERSION = "2023-10-01"


class AzureMLBackend:
    kind = "azureml"

    def __init__(self, conn_id: str | None, subscription_id: str, resource_group: str, workspace: str,
                 endpoint_name: str, champion_deployment: str, challenger_deployment: str,
                 poll_seconds: float = 10.0, provisioning_timeout: float = 900.0) -> None:
        self.conn_id = conn_id
        self.resource_id = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
                            f"Microsoft.MachineLearningServices/workspaces/{workspace}/onlineEndpoints/{endpoint_name}")
        self.deployments = {"champion": champion_deployment, "challenger": challenger_deployment}
        self.poll_seconds = poll_seconds
        self.provisioning_timeout = provisioning_timeout

    @classmethod
    def from_target(cls, conn_id: str | None, target: dict[str, Any]) -> AzureMLBackend:
        return cls(conn_id, **target_kwargs("Azure ML", target, REQUIRED, optional=()))

    # -- requests (pure) ---------------------------------------------------------------------
    def get_request(self):
        from azure.core.rest import HttpRequest

        return HttpRequest("GET", f"{ARM}{self.resource_id}", params={"api-version": ENDPOINT_API_VERSION})

    def put_request(self, endpoint: dict[str, Any], percent: int):
        """PUT body = the endpoint as read, with only ``properties.traffic`` changed."""
        from azure.core.rest import HttpRequest

        body = {k: v for k, v in endpoint.items() if k in ("location", "tags", "identity", "kind", "sku", "properties")}
        props = {k: v for k, v in (body.get("properties") or {}).items()
                 if k not in ("provisioningState", "scoringUri", "swaggerUri")}  # read-only
        traffic = {name: 0 for name in (props.get("traffic") or {})}  # other deployments get no traffic
        traffic |= {self.deployments["champion"]: 100 - percent, self.deployments["challenger"]: percent}
        body["properties"] = props | {"traffic": traffic}
        return HttpRequest("PUT", f"{ARM}{self.resource_id}", params={"api-version": ENDPOINT_API_VERSION}, json=body)

    def metrics_request(self, start: datetime, end: datetime):
        from azure.core.rest import HttpRequest

        timespan = f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        return HttpRequest("GET", f"{ARM}{self.resource_id}/providers/Microsoft.Insights/metrics", params={
            "api-version": METRICS_API_VERSION, "metricnames": "RequestsPerMinute,RequestLatency_P95",
            "timespan": timespan, "interval": "PT1M", "aggregation": "Total,Maximum",
            "$filter": "deployment eq '*' and statusCodeClass eq '*'"})

    def samples_from_metrics(self, body: dict[str, Any]):
        """Parse an Azure Monitor metrics response into (champion, challenger) Samples."""
        from include.canary.analysis import Sample

        acc = {m: {"n": 0.0, "errors": 0.0, "p95": []} for m in self.deployments}
        by_deployment = {v: k for k, v in self.deployments.items()}
        for metric in body.get("value", []):
            name = metric["name"]["value"]
            for series in metric.get("timeseries", []):
                meta = {md["name"]["value"].lower(): md["value"] for md in series.get("metadatavalues", [])}
                model = by_deployment.get(meta.get("deployment"))
                if model is None:
                    continue
                for point in series.get("data", []):
                    if name == "RequestsPerMinute" and point.get("total") is not None:
                        acc[model]["n"] += point["total"]
                        if str(meta.get("statuscodeclass", "")).startswith("5"):
                            acc[model]["errors"] += point["total"]
                    elif name == "RequestLatency_P95" and point.get("maximum") is not None:
                        acc[model]["p95"].append(point["maximum"])
        return tuple(Sample(n=int(a["n"]), errors=int(a["errors"]), latencies_ms=None,
                            p95_ms=max(a["p95"]) if a["p95"] else None) for a in (acc["champion"], acc["challenger"]))

    # -- calls ---------------------------------------------------------------------------------
    def _client(self) -> Any:
        from include.platform import azure_arm

        return azure_arm.client(azure_arm.credential(self.conn_id), ARM)

    def _send(self, request) -> dict[str, Any]:
        resp = self._client().send_request(request)
        resp.raise_for_status()
        return resp.json() if resp.text() else {}

    def set_challenger_weight(self, percent: int) -> str:
        endpoint = self._send(self.get_request())
        self._send(self.put_request(endpoint, percent))
        deadline = time.monotonic() + self.provisioning_timeout
        while True:  # the PUT is a long-running operation: wait until the new split is live
            state = self._send(self.get_request()).get("properties", {}).get("provisioningState")
            if state in ("Succeeded", "Failed", "Canceled"):
                if state != "Succeeded":
                    raise RuntimeError(f"Azure ML endpoint update ended {state}: {self.resource_id}")
                return now_marker()
            if time.monotonic() > deadline:
                raise TimeoutError(f"Azure ML endpoint still {state} after {self.provisioning_timeout}s")
            time.sleep(self.poll_seconds)

    def current_weights(self) -> dict[str, int]:
        traffic = self._send(self.get_request()).get("properties", {}).get("traffic") or {}
        return {m: int(traffic.get(d, 0)) for m, d in self.deployments.items()}

    def window(self, start: str):
        end = datetime.now(UTC)
        champion, challenger = self.samples_from_metrics(
            self._send(self.metrics_request(datetime.fromisoformat(start), end)))
        return champion, challenger, end.isoformat()

    def wait_spec(self, start: str) -> dict[str, Any]:
        return {}
