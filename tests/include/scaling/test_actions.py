"""Scaling actions: AWS Application Auto Scaling against the moto server; the Kubernetes requests our
code sends, captured by a loopback HTTP listener (no Kubernetes API server can run here)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from include.scaling.actions import aws, kubernetes

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.mark.emulator
def test_aws_registers_floor_and_policy_against_moto(aws_conn):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    # The ECS service the batch workers run as (Application Auto Scaling checks that it exists).
    ecs = AwsBaseHook(aws_conn_id=aws_conn, client_type="ecs").get_conn()
    ecs.create_cluster(clusterName="genai")
    ecs.register_task_definition(family="batch-inference", containerDefinitions=[
        {"name": "worker", "image": "ghcr.io/acme/batch-inference:1", "memory": 512}])
    ecs.create_service(cluster="genai", serviceName="batch-inference", taskDefinition="batch-inference",
                       desiredCount=1)
    resource = "service/genai/batch-inference"
    assert aws.current(aws_conn, resource, default=1) == 1  # nothing registered yet

    dry = aws.apply(aws_conn, resource, desired=3, max_replicas=8, dry_run=True)
    assert dry["status"] == "dry_run" and dry["register"]["MinCapacity"] == 3
    assert aws.current(aws_conn, resource, default=1) == 1  # dry run changed nothing

    out = aws.apply(aws_conn, resource, desired=3, max_replicas=8, target_value=65.0)
    assert out["status"] == "applied" and out["policy_arn"]
    client = AwsBaseHook(aws_conn_id=aws_conn, client_type="application-autoscaling").get_conn()
    target = client.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"], target["ScalableDimension"]) == (3, 8, "ecs:service:DesiredCount")
    policy = client.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling" and tracking["TargetValue"] == 65.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert aws.current(aws_conn, resource) == 3

    aws.apply(aws_conn, resource, desired=5, max_replicas=4)  # max is lifted to the desired floor
    target = client.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (5, 5)


class _Recorder(BaseHTTPRequestHandler):
    """Records each request and answers like the API server would for scale/HPA objects."""

    requests: list[dict] = []

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server API
        self.requests.append({"method": "GET", "path": self.path})
        if "horizontalpodautoscalers" in self.path:
            self._answer({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                          "metadata": {"name": "batch-inference"},
                          "spec": {"minReplicas": 2, "maxReplicas": 8,
                                   "scaleTargetRef": {"kind": "Deployment", "name": "batch-inference"}},
                          "status": {"currentReplicas": 3, "desiredReplicas": 3}})
        else:
            self._answer({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "batch-inference"},
                          "spec": {"replicas": 2}, "status": {"replicas": 2}})

    def do_PATCH(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"method": "PATCH", "path": self.path, "body": body,
                              "content_type": self.headers["Content-Type"]})
        if "horizontalpodautoscalers" in self.path:
            self._answer({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                          "metadata": {"name": "batch-inference"},
                          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "batch-inference"},
                                   **body["spec"]}})
        else:
            self._answer({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "batch-inference"},
                          "spec": body["spec"]})

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def k8s_conn(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "local",
        "clusters": [{"name": "local", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "test-token"}}],
    }
    monkeypatch.setenv("AIRFLOW_CONN_K8S_TEST", json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": kubeconfig}}))
    try:
        yield "k8s_test"
    finally:
        server.shutdown()
        server.server_close()


def test_request_bodies():
    assert kubernetes.scale_body(4) == {"spec": {"replicas": 4}}
    assert kubernetes.hpa_bounds_body(0, 6) == {"spec": {"minReplicas": 1, "maxReplicas": 6}}
    assert kubernetes.hpa_bounds_body(9, 6) == {"spec": {"minReplicas": 9, "maxReplicas": 9}}
    with pytest.raises(ValueError):
        kubernetes.scale_body(-1)


def test_kubernetes_deployment_scale_request(k8s_conn):
    assert kubernetes.current(k8s_conn, "genai", "batch-inference") == 2
    dry = kubernetes.apply(k8s_conn, "genai", "batch-inference", desired=5, max_replicas=8, dry_run=True)
    assert dry["status"] == "dry_run" and not [r for r in _Recorder.requests if r["method"] == "PATCH"]
    out = kubernetes.apply(k8s_conn, "genai", "batch-inference", desired=5, max_replicas=8)
    assert out["status"] == "applied" and out["observed"] == 5
    patch = [r for r in _Recorder.requests if r["method"] == "PATCH"][-1]
    assert patch["path"] == "/apis/apps/v1/namespaces/genai/deployments/batch-inference/scale"
    assert patch["body"] == {"spec": {"replicas": 5}}
    # A dict body must go as a merge patch (the client would default to json-patch+json, which fails).
    assert patch["content_type"] == "application/merge-patch+json"


def test_kubernetes_hpa_bounds_request(k8s_conn):
    assert kubernetes.current(k8s_conn, "genai", "batch-inference", mode="hpa") == 3
    out = kubernetes.apply(k8s_conn, "genai", "batch-inference", desired=4, max_replicas=10, mode="hpa")
    assert out["observed"] == 4
    patch = [r for r in _Recorder.requests if r["method"] == "PATCH"][-1]
    assert patch["path"] == "/apis/autoscaling/v2/namespaces/genai/horizontalpodautoscalers/batch-inference"
    assert patch["body"] == {"spec": {"minReplicas": 4, "maxReplicas": 10}}
    assert patch["content_type"] == "application/merge-patch+json"


def _cfg(**kw):
    from include.scaling.config import MonitorConfig

    return MonitorConfig(**kw)


def test_action_registry_dispatches_on_the_action_knob(k8s_conn, monkeypatch):
    from include.platform.errors import ConfigError
    from include.scaling.actions import ActionError, action_for

    with pytest.raises(ConfigError, match="genai_allowed_connections"):  # not on the allow-list yet
        _cfg(action="kubernetes", kubernetes_conn_id=k8s_conn)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", k8s_conn)  # what an operator sets
    cfg = _cfg(action="kubernetes", kubernetes_conn_id=k8s_conn)
    action = action_for(cfg.action)
    assert action.target(cfg) == "genai/batch-inference" and not action.uses_api
    assert action.current(cfg, None) == 2
    assert action.apply(cfg, 3, False, None)["body"] == {"spec": {"replicas": 3}}
    aws_cfg = _cfg(action="aws")
    assert action_for("aws").target(aws_cfg) == "service/genai/batch-inference"
    assert action_for("pool").target(_cfg()) == "inference" and action_for("pool").uses_api
    with pytest.raises(ActionError, match="unknown scaling action 'gcp'"):
        action_for("gcp")


def test_deployment_wiring_comes_from_variables_not_the_form(k8s_conn, monkeypatch):
    from include.scaling.config import MonitorConfig

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SCALING_K8S_NAMESPACE", "inference-prod")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SCALING_KUBERNETES_CONN_ID", k8s_conn)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", k8s_conn)
    cfg = MonitorConfig.from_params({"action": "kubernetes", "k8s_namespace": "kube-system"})  # form ignored
    assert (cfg.k8s_namespace, cfg.kubernetes_conn_id, cfg.k8s_name) == ("inference-prod", k8s_conn, "batch-inference")
    assert not {"k8s_namespace", "kubernetes_conn_id", "aws_conn_id", "aws_resource_id", "k8s_name"} \
        & set(MonitorConfig.params())
