"""``SageMakerFineTuneOperator`` hands its arguments to the provider's operator and forwards the deferred
resume (``execute_complete``, what the provider's ``SageMakerTrigger`` calls back) — against a moto server."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


def _request(name: str) -> dict:
    from include.llm import cloud
    from include.llm.config import FineTuneConfig

    return cloud.sagemaker_training_job(
        FineTuneConfig.from_params({}), name=name, data_uri="s3://b/lake/data", output_uri="s3://b/lake/sagemaker",
        role_arn="arn:aws:iam::123456789012:role/r", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/i:1")


def _operator_class():
    import airflow  # noqa: F401 - puts plugins/ on sys.path

    from genai_airflow.llm.operators import SageMakerFineTuneOperator

    return SageMakerFineTuneOperator


def test_the_provider_operator_gets_the_same_arguments():
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator

    operator_class = _operator_class()
    op = operator_class(task_id="sagemaker_train", config=_request("textgen-ft-a"), aws_conn_id="c",
                                   deferrable=True, check_interval=60, max_ingestion_time=600)
    inner = op.provider_operator()
    assert isinstance(inner, SageMakerTrainingOperator)
    assert (inner.config["TrainingJobName"], inner.aws_conn_id, inner.deferrable, inner.check_interval,
            inner.max_ingestion_time) == ("textgen-ft-a", "c", True, 60, 600)
    assert set(operator_class.template_fields) <= set(SageMakerTrainingOperator.template_fields)


def test_execute_complete_returns_the_providers_description_of_the_job(aws_conn):
    import boto3
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    endpoint = AwsBaseHook(aws_conn_id=aws_conn).conn_config.endpoint_url
    boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1").create_training_job(
        **_request("textgen-ft-deferred"))
    op = _operator_class()(task_id="sagemaker_train", config=_request("textgen-ft-deferred"), aws_conn_id=aws_conn)
    out = op.execute_complete({}, {"status": "success", "job_name": "textgen-ft-deferred"})
    assert out["Training"]["TrainingJobName"] == "textgen-ft-deferred"
    assert out["Training"]["ModelArtifacts"]["S3ModelArtifacts"] == (
        "s3://b/lake/sagemaker/textgen-ft-deferred/output/model.tar.gz")
    with pytest.raises(Exception, match="Error while running job"):
        op.execute_complete({}, {"status": "error", "message": "boom", "job_name": "textgen-ft-deferred"})


def test_the_providers_trigger_sees_the_job_complete_on_moto(aws_conn):
    """The wait ``deferrable=True`` hands to the triggerer: the provider's SageMakerTrigger, run against moto.

    moto completes a job at once, so the operator itself never defers in the e2e test; this runs the
    trigger the operator would defer to, with the same arguments, and gets its success event.
    """
    import asyncio

    import boto3
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger

    endpoint = AwsBaseHook(aws_conn_id=aws_conn).conn_config.endpoint_url
    boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1").create_training_job(
        **_request("textgen-ft-trigger"))
    trigger = SageMakerTrigger(job_name="textgen-ft-trigger", job_type="Training", waiter_delay=1,
                               waiter_max_attempts=3, aws_conn_id=aws_conn)

    async def first_event():
        async for event in trigger.run():
            return event.payload

    assert asyncio.run(first_event()) == {"status": "success", "job_name": "textgen-ft-trigger"}


def _no_second_job(monkeypatch, statuses: dict[str, str]):
    """The hook answers DescribeTrainingJob from ``statuses`` (what an earlier try left); CreateTrainingJob
    is recorded: the tests assert what the retry would create."""
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
    from botocore.exceptions import ClientError

    created: list[str] = []

    def describe(self, name):
        if name not in statuses:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "Requested resource not found."}},
                              "DescribeTrainingJob")
        return {"TrainingJobName": name, "TrainingJobStatus": statuses[name], "FailureReason": "AlgorithmError"}

    monkeypatch.setattr(SageMakerHook, "describe_training_job", describe)
    monkeypatch.setattr(SageMakerHook, "create_training_job",
                        lambda self, config, **kw: created.append(config["TrainingJobName"]) or
                        {"ResponseMetadata": {"HTTPStatusCode": 200}})
    return created


def test_a_retry_reattaches_to_the_runs_job_still_in_progress_instead_of_creating_one(monkeypatch):
    from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
    from airflow.sdk.exceptions import TaskDeferred

    created = _no_second_job(monkeypatch, {"textgen-ft-live": "InProgress"})
    op = _operator_class()(task_id="sagemaker_train", config=_request("textgen-ft-live"), aws_conn_id="aws_x",
                           deferrable=True, check_interval=30)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, SageMakerTrigger) and deferred.value.method_name == "execute_complete"
    assert (trigger.job_name, trigger.job_type, trigger.aws_conn_id) == ("textgen-ft-live", "Training", "aws_x")
    assert created == []


def test_after_the_runs_job_failed_the_retry_creates_the_next_name_never_a_timestamped_twin(monkeypatch):
    created = _no_second_job(monkeypatch, {"textgen-ft-dead": "Failed"})
    op = _operator_class()(task_id="sagemaker_train", config=_request("textgen-ft-dead"), aws_conn_id="aws_x",
                           deferrable=False)
    monkeypatch.setattr(op.provider_operator().__class__, "serialize_result",
                        lambda self, name: {"Training": {"TrainingJobName": name}})
    assert op.execute({})["Training"]["TrainingJobName"] == "textgen-ft-dead-r2"
    assert created == ["textgen-ft-dead-r2"]
    assert op.provider_operator().action_if_job_exists == "fail"


def test_cloud_training_sensor_reschedules_and_knows_its_two_clouds():
    import airflow  # noqa: F401 - puts plugins/ on sys.path

    from genai_airflow.llm.operators import CloudTrainingSensor

    sensor = CloudTrainingSensor(task_id="vertex_train", backend="vertex", prepared={"data_uri": "gs://b/d"})
    assert sensor.mode == "reschedule" and sensor.template_fields == ("prepared",)
    with pytest.raises(ValueError, match="vertex or azureml"):
        CloudTrainingSensor(task_id="x_train", backend="sagemaker", prepared={})
