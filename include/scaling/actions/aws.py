"""AWS action: Application Auto Scaling, as in the article's ``configure_autoscaling`` step.

Application Auto Scaling owns the desired count of the scalable target (an ECS service, a SageMaker
endpoint variant...). We do not fight it: each decision moves the target's *floor* to our desired
count (``register_scalable_target`` with ``MinCapacity``) and keeps a target-tracking policy on
CPU so AWS still reacts between our runs. The floor we set last time is the "current" count.

Boto3 client from the amazon provider's ``AwsBaseHook`` (any ``aws`` connection: real account,
assumed role, or the moto server in tests).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

#: (service namespace, scalable dimension, predefined metric for the tracking policy)
TARGET_KINDS = {
    "ecs": ("ecs", "ecs:service:DesiredCount", "ECSServiceAverageCPUUtilization"),
    "sagemaker": ("sagemaker", "sagemaker:variant:DesiredInstanceCount", "SageMakerVariantInvocationsPerInstance"),
}


def _client(aws_conn_id: str) -> Any:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=aws_conn_id, client_type="application-autoscaling").get_conn()


def register_request(resource_id: str, desired: int, max_replicas: int, kind: str = "ecs") -> dict[str, Any]:
    namespace, dimension, _ = TARGET_KINDS[kind]
    return {
        "ServiceNamespace": namespace,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "MinCapacity": int(desired),
        "MaxCapacity": max(int(max_replicas), int(desired)),
    }


def policy_request(resource_id: str, target_value: float, kind: str = "ecs",
                   policy_name: str = "genai-autoscaling-monitor") -> dict[str, Any]:
    namespace, dimension, metric = TARGET_KINDS[kind]
    return {
        "PolicyName": policy_name,
        "ServiceNamespace": namespace,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(target_value),
            "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
            "ScaleOutCooldown": 60,
            "ScaleInCooldown": 300,
        },
    }


def current(aws_conn_id: str, resource_id: str, kind: str = "ecs", default: int = 1) -> int:
    namespace, dimension, _ = TARGET_KINDS[kind]
    resp = _client(aws_conn_id).describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension)
    targets = resp.get("ScalableTargets", [])
    return int(targets[0]["MinCapacity"]) if targets else default


def apply(aws_conn_id: str, resource_id: str, desired: int, max_replicas: int, kind: str = "ecs",
          target_value: float = 70.0, dry_run: bool = False) -> dict[str, Any]:
    register = register_request(resource_id, desired, max_replicas, kind)
    policy = policy_request(resource_id, target_value, kind)
    result: dict[str, Any] = {"action": "aws", "target": resource_id, "after": desired, "dry_run": dry_run,
                              "register": register, "policy": policy}
    if dry_run:
        log.info("DRY RUN: would register %s and put policy %s", register, policy["PolicyName"])
        return {**result, "status": "dry_run"}
    client = _client(aws_conn_id)
    client.register_scalable_target(**register)
    resp = client.put_scaling_policy(**policy)
    log.info("Registered %s floor=%d max=%d; policy %s", resource_id, register["MinCapacity"],
             register["MaxCapacity"], resp.get("PolicyARN"))
    return {**result, "status": "applied", "policy_arn": resp.get("PolicyARN")}
