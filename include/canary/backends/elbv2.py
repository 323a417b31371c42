"""AWS ELBv2 (Application Load Balancer): weighted target groups on a listener, as in the article.

``modify_listener`` with a ``forward`` action whose ``ForwardConfig`` lists both target groups and
their weights; metrics from CloudWatch ``AWS/ApplicationELB`` per target group
(``RequestCount``, ``HTTPCode_Target_5XX_Count``, ``TargetResponseTime`` in seconds).

Target keys: ``listener_arn``, ``champion_target_group_arn``, ``challenger_target_group_arn``.
"""

from __future__ import annotations

from typing import Any

from include.canary.backends.base import target_kwargs
from include.canary.backends.cloudwatch import metric_queries, now_marker, window_samples

REQUIRED = ("listener_arn", "champion_target_group_arn", "challenger_target_group_arn")


def arn_suffix(arn: str, kind: str) -> str:
    """CloudWatch dimension value: ``app/name/id`` (load balancer) or ``targetgroup/name/id``."""
    resource = arn.split(":", 5)[5]
    if kind == "loadbalancer":  # listener/app/name/id/listener-id -> app/name/id
        parts = resource.split("/")
        return "/".join(parts[1:4])
    return resource


class ElbV2Backend:
    kind = "elbv2"

    def __init__(self, conn_id: str, listener_arn: str, champion_target_group_arn: str,
                 challenger_target_group_arn: str, metrics_period: int = 60) -> None:
        self.conn_id = conn_id
        self.listener_arn = listener_arn
        self.groups = {"champion": champion_target_group_arn, "challenger": challenger_target_group_arn}
        self.metrics_period = metrics_period

    @classmethod
    def from_target(cls, conn_id: str, target: dict[str, Any]) -> ElbV2Backend:
        return cls(conn_id, **target_kwargs("ELBv2", target, REQUIRED))

    def _client(self, service: str) -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.conn_id, client_type=service).conn

    def listener_request(self, percent: int) -> dict[str, Any]:
        """The ``ModifyListener`` request (pure)."""
        return {"ListenerArn": self.listener_arn, "DefaultActions": [{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": self.groups["champion"], "Weight": 100 - percent},
                             {"TargetGroupArn": self.groups["challenger"], "Weight": percent}],
            "TargetGroupStickinessConfig": {"Enabled": False}}}]}

    def set_challenger_weight(self, percent: int) -> str:
        self._client("elbv2").modify_listener(**self.listener_request(percent))
        return now_marker()

    def current_weights(self) -> dict[str, int]:
        listener = self._client("elbv2").describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0]
        weights = {tg["TargetGroupArn"]: tg.get("Weight", 0)
                   for action in listener["DefaultActions"] if action["Type"] == "forward"
                   for tg in action.get("ForwardConfig", {}).get("TargetGroups", [])}
        total = sum(weights.values()) or 1
        return {m: round(100 * weights.get(arn, 0) / total) for m, arn in self.groups.items()}

    def queries(self) -> list[dict[str, Any]]:
        lb = arn_suffix(self.listener_arn, "loadbalancer")
        dims = {m: {"TargetGroup": arn_suffix(arn, "targetgroup"), "LoadBalancer": lb} for m, arn in self.groups.items()}
        return metric_queries("AWS/ApplicationELB", dims, count_metric="RequestCount",
                              error_metric="HTTPCode_Target_5XX_Count", latency_metric="TargetResponseTime",
                              period=self.metrics_period)

    def window(self, start: str):
        return window_samples(self._client("cloudwatch"), self.queries(), start, latency_to_ms=1000.0)

    def wait_spec(self, start: str) -> dict[str, Any]:
        return {}
