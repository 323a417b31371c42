"""AWS backends against a real moto server, through the amazon provider's hooks (connection aws_emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from include.canary.backends import BackendError, backend_for
from include.canary.backends.elbv2 import ElbV2Backend, arn_suffix
from include.canary.backends.sagemaker import SageMakerBackend


def _client(service: str, endpoint: str):
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def sagemaker_endpoint(aws_conn, moto_server):
    sm = _client("sagemaker", moto_server)
    name = f"sentiment-{datetime.now(UTC).strftime('%H%M%S%f')}"
    for variant in ("blue", "green"):
        sm.create_model(ModelName=f"{name}-{variant}", ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:latest"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": v, "ModelName": f"{name}-{v}", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": w} for v, w in (("blue", 1.0), ("green", 0.0))])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def test_backend_is_chosen_by_connection_type(aws_conn, sagemaker_endpoint):
    target = {"endpoint_name": sagemaker_endpoint, "champion_variant": "blue", "challenger_variant": "green"}
    assert isinstance(backend_for(aws_conn, target), SageMakerBackend)
    elb_target = {"listener_arn": "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/b/c",
                  "champion_target_group_arn": "x", "challenger_target_group_arn": "y"}
    assert isinstance(backend_for(aws_conn, elb_target), ElbV2Backend)
    with pytest.raises(BackendError, match="challenger_variant"):
        backend_for(aws_conn, {"endpoint_name": "e", "champion_variant": "blue"})
    with pytest.raises(BackendError, match="router"):
        backend_for(None, {}, {})


def test_sagemaker_variant_weights_follow_the_steps_and_keep_capacity(aws_conn, moto_server, sagemaker_endpoint):
    backend = SageMakerBackend(aws_conn, sagemaker_endpoint, "blue", "green")
    assert backend.current_weights() == {"champion": 100, "challenger": 0}
    for pct in (10, 25, 50, 100, 0):
        marker = backend.set_challenger_weight(pct)
        assert backend.current_weights() == {"champion": 100 - pct, "challenger": pct}
        assert datetime.fromisoformat(marker).tzinfo is not None
    variants = _client("sagemaker", moto_server).describe_endpoint(EndpointName=sagemaker_endpoint)["ProductionVariants"]
    assert {v["VariantName"]: v.get("CurrentInstanceCount") for v in variants} == {"blue": 2, "green": 2}


def test_sagemaker_window_reads_cloudwatch_per_variant(aws_conn, moto_server, sagemaker_endpoint):
    backend = SageMakerBackend(aws_conn, sagemaker_endpoint, "blue", "green")
    start = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    cw = _client("cloudwatch", moto_server)
    now = datetime.now(UTC)
    for variant, calls, errors in (("blue", 900, 1), ("green", 100, 20)):
        dims = [{"Name": "EndpointName", "Value": sagemaker_endpoint}, {"Name": "VariantName", "Value": variant}]
        cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
            {"MetricName": "Invocations", "Dimensions": dims, "Value": calls, "Timestamp": now},
            {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Value": errors, "Timestamp": now},
            {"MetricName": "ModelLatency", "Dimensions": dims, "Value": 40_000, "Timestamp": now}])
    champion, challenger, end = backend.window(start)
    assert (champion.n, champion.errors, challenger.n, challenger.errors) == (900, 1, 100, 20)
    assert champion.latencies_ms is None and end > start
    assert challenger.p95_ms == pytest.approx(40.0)  # microseconds -> ms (moto: via the Maximum fallback)

    from include.canary.analysis import evaluate_step
    from include.canary.policy import CanaryPolicy

    verdict = evaluate_step(CanaryPolicy(min_requests=50), 10, champion, challenger)
    assert verdict["status"] == "fail" and any("error_rate" in r for r in verdict["reasons"])


def test_elbv2_weighted_target_groups_as_in_the_article(aws_conn, moto_server):
    ec2, elb = _client("ec2", moto_server), _client("elbv2", moto_server)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    lb = elb.create_load_balancer(Name="llm-lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tgs = [elb.create_target_group(Name=f"llm-{v}", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
           ["TargetGroupArn"] for v in ("v1", "v2")]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": tgs[0]}])["Listeners"][0]["ListenerArn"]

    backend = backend_for(aws_conn, {"listener_arn": listener, "champion_target_group_arn": tgs[0],
                                     "challenger_target_group_arn": tgs[1]})
    backend.set_challenger_weight(10)
    assert backend.current_weights() == {"champion": 90, "challenger": 10}
    backend.set_challenger_weight(0)
    assert backend.current_weights() == {"champion": 100, "challenger": 0}
    dims = backend.queries()[0]["MetricStat"]["Metric"]["Dimensions"]
    assert {d["Name"]: d["Value"] for d in dims} == {"TargetGroup": arn_suffix(tgs[0], "targetgroup"),
                                                      "LoadBalancer": arn_suffix(lb, "targetgroup")[len("loadbalancer/"):]}


def test_sagemaker_request_always_carries_instance_counts():
    req = SageMakerBackend("c", "ep", "blue", "green").weights_request(25, {"champion": 3, "challenger": 1})
    assert req["DesiredWeightsAndCapacities"] == [
        {"VariantName": "blue", "DesiredWeight": 75.0, "DesiredInstanceCount": 3},
        {"VariantName": "green", "DesiredWeight": 25.0, "DesiredInstanceCount": 1}]
