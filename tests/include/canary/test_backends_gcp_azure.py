"""Vertex AI and Azure ML backends: the requests built with the real SDK types, and parsed responses.

There is no emulator for either API: requests are checked as the SDKs serialise them (and, for
Vertex, as the real REST client sends them to a loopback listener), responses are documented
examples kept in fixtures/.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from include.canary.backends import backend_for
from include.canary.backends.azureml import AzureMLBackend
from include.canary.backends.vertex import VertexBackend

FIXTURES = Path(__file__).parent / "fixtures"
VERTEX_TARGET = {"project": "demo-project", "location": "europe-west4", "endpoint_id": "1234567890",
                 "champion_deployed_model_id": "1111", "challenger_deployed_model_id": "2222"}
AZURE_TARGET = {"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "ml-rg",
                "workspace": "ml-ws", "endpoint_name": "sentiment", "champion_deployment": "blue",
                "challenger_deployment": "green"}


def test_connection_type_picks_the_cloud(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_VERTEX_CANARY", json.dumps({"conn_type": "google_cloud_platform"}))
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_CANARY", json.dumps({"conn_type": "azure"}))
    assert isinstance(backend_for("vertex_canary", VERTEX_TARGET), VertexBackend)
    assert isinstance(backend_for("azure_canary", AZURE_TARGET), AzureMLBackend)


def test_vertex_update_request_sets_only_the_traffic_split():
    from google.cloud import aiplatform_v1

    req = VertexBackend.from_target(None, VERTEX_TARGET).update_request(25)
    body = json.loads(aiplatform_v1.UpdateEndpointRequest.to_json(req))
    assert body["updateMask"] == "trafficSplit"
    assert body["endpoint"]["name"] == "projects/demo-project/locations/europe-west4/endpoints/1234567890"
    assert body["endpoint"]["trafficSplit"] == {"1111": 75, "2222": 25}
    assert sum(req.endpoint.traffic_split.values()) == 100


class _Capture(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_PATCH(self):  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Capture.seen.append({"method": "PATCH", "path": urlparse(self.path).path,
                              "query": parse_qs(urlparse(self.path).query), "body": body})
        fixture = json.loads((FIXTURES / "vertex_endpoint.json").read_text()) | {"trafficSplit": body["trafficSplit"]}
        data = json.dumps(fixture).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_vertex_request_goes_through_the_real_rest_client():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform_v1
    from google.cloud.aiplatform_v1.services.endpoint_service.transports.rest import EndpointServiceRestTransport

    server = HTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transport = EndpointServiceRestTransport(host=f"127.0.0.1:{server.server_address[1]}",
                                                 credentials=AnonymousCredentials(), url_scheme="http")
        client = aiplatform_v1.EndpointServiceClient(transport=transport)
        endpoint = client.update_endpoint(request=VertexBackend.from_target(None, VERTEX_TARGET).update_request(10))
    finally:
        server.shutdown()
    sent = _Capture.seen[-1]
    assert sent["path"] == "/v1/projects/demo-project/locations/europe-west4/endpoints/1234567890"
    assert sent["query"]["updateMask"] == ["trafficSplit"]
    assert sent["body"]["trafficSplit"] == {"1111": 90, "2222": 10}
    assert dict(endpoint.traffic_split) == {"1111": 90, "2222": 10}  # the documented response, parsed


def test_vertex_metric_requests_and_documented_timeseries():
    from google.cloud import monitoring_v3

    backend = VertexBackend.from_target(None, VERTEX_TARGET)
    reqs = backend.metric_requests(datetime(2026, 11, 22, 3, 0, tzinfo=UTC), datetime(2026, 11, 22, 3, 2, tzinfo=UTC))
    assert set(reqs) == {"count", "errors", "p95"}
    p95 = reqs["p95"]
    assert 'prediction/online/prediction_latencies"' in p95.filter and 'endpoint_id = "1234567890"' in p95.filter
    assert p95.aggregation.per_series_aligner == monitoring_v3.Aggregation.Aligner.ALIGN_PERCENTILE_95
    assert list(p95.aggregation.group_by_fields) == ["metric.labels.deployed_model_id"]

    raw = json.loads((FIXTURES / "vertex_timeseries.json").read_text())
    series = {k: list(monitoring_v3.ListTimeSeriesResponse.from_json(json.dumps(v)).time_series) for k, v in raw.items()}
    champion, challenger = backend.samples_from_series(series)
    assert (champion.n, champion.errors, champion.p95_ms) == (900, 0, 41.5)
    assert (challenger.n, challenger.errors, challenger.p95_ms) == (100, 20, 44.0)


def test_azureml_put_changes_only_traffic_and_drops_read_only_fields():
    backend = AzureMLBackend.from_target(None, AZURE_TARGET)
    endpoint = json.loads((FIXTURES / "azureml_endpoint.json").read_text())
    get = backend.get_request()
    assert get.method == "GET" and get.url.startswith(
        "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-rg/"
        "providers/Microsoft.MachineLearningServices/workspaces/ml-ws/onlineEndpoints/sentiment?api-version=")
    put = backend.put_request(endpoint, 10)
    body = json.loads(put.content)
    assert put.method == "PUT" and put.url == get.url
    assert body["properties"]["traffic"] == {"blue": 90, "green": 10, "old": 0}
    assert body["properties"]["authMode"] == "Key" and body["location"] == "westeurope"
    assert body["identity"]["type"] == "SystemAssigned" and body["tags"] == {"team": "ml-platform"}
    assert not {"provisioningState", "scoringUri", "swaggerUri"} & set(body["properties"])
    assert not {"id", "name", "type", "systemData"} & set(body)


def test_azure_monitor_metrics_request_and_documented_response():
    backend = AzureMLBackend.from_target(None, AZURE_TARGET)
    req = backend.metrics_request(datetime(2026, 11, 22, 3, 0, tzinfo=UTC), datetime(2026, 11, 22, 3, 2, tzinfo=UTC))
    query = parse_qs(urlparse(req.url).query)
    assert urlparse(req.url).path.endswith("/onlineEndpoints/sentiment/providers/Microsoft.Insights/metrics")
    assert query["metricnames"] == ["RequestsPerMinute,RequestLatency_P95"]
    assert query["timespan"] == ["2026-11-22T03:00:00Z/2026-11-22T03:02:00Z"]
    assert query["$filter"] == ["deployment eq '*' and statusCodeClass eq '*'"]

    champion, challenger = backend.samples_from_metrics(json.loads((FIXTURES / "azure_monitor_metrics.json").read_text()))
    assert (champion.n, champion.errors, champion.p95_ms) == (900, 0, 41.0)
    assert (challenger.n, challenger.errors, challenger.p95_ms) == (100, 20, 43.0)


@pytest.mark.parametrize("backend_cls,target,key", [(VertexBackend, VERTEX_TARGET, "endpoint_id"),
                                                     (AzureMLBackend, AZURE_TARGET, "workspace")])
def test_missing_target_keys_are_named(backend_cls, target, key):
    from include.canary.backends import BackendError

    with pytest.raises(BackendError, match=key):
        backend_cls.from_target(None, {k: v for k, v in target.items() if k != key})
