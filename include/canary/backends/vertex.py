"""GCP Vertex AI: one endpoint with two deployed models; ``traffic_split`` shifted in place.

Traffic: ``EndpointService.UpdateEndpoint`` with ``update_mask=traffic_split`` (the split must sum
to 100; deployed models left out get 0). Metrics: Cloud Monitoring time series of the endpoint,
per ``deployed_model_id``: ``prediction/online/prediction_count``, ``.../error_count`` (sums) and
``.../prediction_latencies`` (distribution, aligned to its 95th percentile; milliseconds).

Requests are built with the real SDK types (``google.cloud.aiplatform_v1``, ``monitoring_v3``);
there is no Vertex emulator, so tests check the requests and parse documented responses.

Target keys: ``project``, ``location``, ``endpoint_id``, ``champion_deployed_model_id``,
``challenger_deployed_model_id``; optional ``metrics_period`` (seconds, default 60).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from include.canary.backends.base import target_kwargs
from include.canary.backends.cloudwatch import now_marker

REQUIRED = ("project", "location", "endpoint_id", "champion_deployed_model_id", "challenger_deployed_model_id")
METRIC_PREFIX = "aiplatform.googleapis.com/prediction/online/"


class VertexBackend:
    kind = "vertex"

    def __init__(self, conn_id: str | None, project: str, location: str, endpoint_id: str,
                 champion_deployed_model_id: str, challenger_deployed_model_id: str, metrics_period: int = 60) -> None:
        self.conn_id = conn_id
        self.project, self.location, self.endpoint_id = project, location, str(endpoint_id)
        self.deployed = {"champion": str(champion_deployed_model_id), "challenger": str(challenger_deployed_model_id)}
        self.metrics_period = metrics_period

    @classmethod
    def from_target(cls, conn_id: str | None, target: dict[str, Any]) -> VertexBackend:
        return cls(conn_id, **target_kwargs("Vertex AI", target, REQUIRED))

    @property
    def endpoint_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/endpoints/{self.endpoint_id}"

    # -- requests (pure) ---------------------------------------------------------------------
    def update_request(self, percent: int):
        from google.cloud import aiplatform_v1
        from google.protobuf import field_mask_pb2

        split = {self.deployed["champion"]: 100 - percent, self.deployed["challenger"]: percent}
        return aiplatform_v1.UpdateEndpointRequest(
            endpoint=aiplatform_v1.Endpoint(name=self.endpoint_name, traffic_split=split),
            update_mask=field_mask_pb2.FieldMask(paths=["traffic_split"]))

    def metric_requests(self, start: datetime, end: datetime) -> dict[str, Any]:
        """One ``ListTimeSeriesRequest`` per metric, grouped by deployed model."""
        from google.cloud import monitoring_v3
        from google.protobuf import duration_pb2, timestamp_pb2

        interval = monitoring_v3.TimeInterval(
            start_time=timestamp_pb2.Timestamp(seconds=int(start.timestamp())),
            end_time=timestamp_pb2.Timestamp(seconds=int(end.timestamp()) + 1))
        period = duration_pb2.Duration(seconds=self.metrics_period)
        align = monitoring_v3.Aggregation.Aligner
        reduce = monitoring_v3.Aggregation.Reducer
        out = {}
        for key, metric, aligner, reducer in (
            ("count", "prediction_count", align.ALIGN_SUM, reduce.REDUCE_SUM),
            ("errors", "error_count", align.ALIGN_SUM, reduce.REDUCE_SUM),
            ("p95", "prediction_latencies", align.ALIGN_PERCENTILE_95, reduce.REDUCE_MAX),
        ):
            out[key] = monitoring_v3.ListTimeSeriesRequest(
                name=f"projects/{self.project}",
                filter=(f'metric.type = "{METRIC_PREFIX}{metric}" AND '
                        f'resource.type = "aiplatform.googleapis.com/Endpoint" AND '
                        f'resource.labels.endpoint_id = "{self.endpoint_id}"'),
                interval=interval,
                aggregation=monitoring_v3.Aggregation(alignment_period=period, per_series_aligner=aligner,
                                                      cross_series_reducer=reducer,
                                                      group_by_fields=["metric.labels.deployed_model_id"]),
                view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
        return out

    def samples_from_series(self, series: dict[str, list[Any]]):
        """Turn ``{"count"|"errors"|"p95": [TimeSeries, ...]}`` into (champion, challenger) Samples."""
        from include.canary.analysis import Sample

        def values(key: str, deployed_id: str) -> list[float]:
            out = []
            for ts in series.get(key, []):
                if ts.metric.labels.get("deployed_model_id") != deployed_id:
                    continue
                for point in ts.points:
                    v = point.value
                    out.append(float(v.int64_value or v.double_value))
            return out

        def sample(model: str) -> Sample:
            dep = self.deployed[model]
            p95 = values("p95", dep)
            return Sample(n=int(sum(values("count", dep))), errors=int(sum(values("errors", dep))),
                          latencies_ms=None, p95_ms=max(p95) if p95 else None)

        return sample("champion"), sample("challenger")

    # -- calls ---------------------------------------------------------------------------------
    def _credentials(self) -> Any:
        if not self.conn_id:
            return None  # application default credentials
        from airflow.providers.google.common.hooks.base_google import GoogleBaseHook

        return GoogleBaseHook(gcp_conn_id=self.conn_id).get_credentials()

    def _endpoint_client(self) -> Any:
        from google.cloud import aiplatform_v1

        return aiplatform_v1.EndpointServiceClient(
            credentials=self._credentials(),
            client_options={"api_endpoint": f"{self.location}-aiplatform.googleapis.com"})

    def set_challenger_weight(self, percent: int) -> str:
        self._endpoint_client().update_endpoint(request=self.update_request(percent))
        return now_marker()

    def current_weights(self) -> dict[str, int]:
        endpoint = self._endpoint_client().get_endpoint(name=self.endpoint_name)
        split = dict(endpoint.traffic_split)
        return {m: int(split.get(dep, 0)) for m, dep in self.deployed.items()}

    def window(self, start: str):
        from google.cloud import monitoring_v3

        end = datetime.now(UTC)
        client = monitoring_v3.MetricServiceClient(credentials=self._credentials())
        series = {key: list(client.list_time_series(request=req))
                  for key, req in self.metric_requests(datetime.fromisoformat(start), end).items()}
        champion, challenger = self.samples_from_series(series)
        return champion, challenger, end.isoformat()

    def wait_spec(self, start: str) -> dict[str, Any]:
        return {}
