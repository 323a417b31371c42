"""AWS SageMaker: one endpoint, two production variants (champion, challenger), weights shifted in place.

``update_endpoint_weights_and_capacities`` changes variant weights without redeploying (no new
endpoint config, no instance churn); metrics come from CloudWatch ``AWS/SageMaker`` per variant.
Each variant's current instance count is sent back with its weight: a variant updated without
``DesiredInstanceCount`` loses its capacity keys (seen with moto; the API makes both optional).

Target keys: ``endpoint_name``, ``champion_variant``, ``challenger_variant``; optional
``metrics_period`` (seconds, default 60).
"""

from __future__ import annotations

from typing import Any

from include.canary.backends.base import target_kwargs
from include.canary.backends.cloudwatch import metric_queries, now_marker, window_samples

REQUIRED = ("endpoint_name", "champion_variant", "challenger_variant")


class SageMakerBackend:
    kind = "sagemaker"

    def __init__(self, conn_id: str, endpoint_name: str, champion_variant: str, challenger_variant: str,
                 metrics_period: int = 60) -> None:
        self.conn_id = conn_id
        self.endpoint_name = endpoint_name
        self.variants = {"champion": champion_variant, "challenger": challenger_variant}
        self.metrics_period = metrics_period

    @classmethod
    def from_target(cls, conn_id: str, target: dict[str, Any]) -> SageMakerBackend:
        return cls(conn_id, **target_kwargs("SageMaker", target, REQUIRED))

    def _client(self, service: str) -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.conn_id, client_type=service).conn

    def weights_request(self, percent: int, instance_counts: dict[str, int]) -> dict[str, Any]:
        """The ``UpdateEndpointWeightsAndCapacities`` request (pure)."""
        weights = {"champion": float(100 - percent), "challenger": float(percent)}
        return {"EndpointName": self.endpoint_name, "DesiredWeightsAndCapacities": [
            {"VariantName": self.variants[m], "DesiredWeight": weights[m],
             **({"DesiredInstanceCount": instance_counts[m]} if m in instance_counts else {})}
            for m in ("champion", "challenger")]}

    def _describe(self) -> dict[str, dict[str, Any]]:
        desc = self._client("sagemaker").describe_endpoint(EndpointName=self.endpoint_name)
        by_name = {v["VariantName"]: v for v in desc.get("ProductionVariants", [])}
        missing = [v for v in self.variants.values() if v not in by_name]
        if missing:
            raise LookupError(f"endpoint {self.endpoint_name!r} has no variant {missing}; it has {sorted(by_name)}")
        return {m: by_name[v] for m, v in self.variants.items()}

    def set_challenger_weight(self, percent: int) -> str:
        current = self._describe()
        counts = {m: int(v["CurrentInstanceCount"]) for m, v in current.items() if "CurrentInstanceCount" in v}
        self._client("sagemaker").update_endpoint_weights_and_capacities(**self.weights_request(percent, counts))
        return now_marker()

    def current_weights(self) -> dict[str, int]:
        current = self._describe()
        weights = {m: float(v.get("CurrentWeight", 0)) for m, v in current.items()}
        total = sum(weights.values()) or 1.0
        return {m: round(100 * w / total) for m, w in weights.items()}

    def queries(self) -> list[dict[str, Any]]:
        dims = {m: {"EndpointName": self.endpoint_name, "VariantName": v} for m, v in self.variants.items()}
        return metric_queries("AWS/SageMaker", dims, count_metric="Invocations", error_metric="Invocation5XXErrors",
                              latency_metric="ModelLatency", period=self.metrics_period)

    def window(self, start: str):
        # ModelLatency is published in microseconds.
        return window_samples(self._client("cloudwatch"), self.queries(), start, latency_to_ms=0.001)

    def wait_spec(self, start: str) -> dict[str, Any]:
        return {}
