"""Cloud training requests built from FineTuneConfig, checked against each cloud's documented API.

* SageMaker: the ``CreateTrainingJob`` body is validated by botocore's own parameter validator against
  the installed SageMaker service model (the API's machine-readable definition), and the job name against
  that model's ``TrainingJobName`` pattern.
* Vertex AI: the ``CustomJob`` JSON is parsed by the installed ``google.cloud.aiplatform_v1`` types (the
  API's proto definition: an unknown or misspelt field fails there).
* Azure ML: no SDK is installed, so the ARM body is checked against the documented REST API v2
  (2024-04-01) ``CommandJob`` schema: required properties and the enums the spec declares.

No network: nothing here sends a request.
"""

from __future__ import annotations

import json
import re

import pytest

from include.llm import cloud
from include.llm.config import FineTuneConfig
from include.platform.errors import ConfigError

ROLE = "arn:aws:iam::123456789012:role/genai-sagemaker-training"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/genai-airflow-pipelines:1.4.0"
DATA = "s3://lake-bucket/lake/curated/llm_fine_tuning/runs/manual__2026-12-04/data"
OUT = "s3://lake-bucket/lake/curated/llm_fine_tuning/runs/manual__2026-12-04/sagemaker"


def _cfg(**overrides) -> FineTuneConfig:
    return FineTuneConfig.from_params({"max_steps": 500, "n_layer": 6, "n_embd": 384, "n_head": 6,
                                       "sagemaker_instance_type": "ml.g5.xlarge", "cloud_max_runtime_minutes": 90}
                                      | overrides)


def _sagemaker(cfg: FineTuneConfig | None = None, **kw) -> dict:
    args = {"name": cloud.job_name("manual__2026-12-04T00:00:00+00:00"), "data_uri": DATA, "output_uri": OUT,
            "role_arn": ROLE, "image": IMAGE, "run_id": "manual__2026-12-04T00:00:00+00:00"} | kw
    return cloud.sagemaker_training_job(cfg or _cfg(), **args)


def _sagemaker_input_shape():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape


# ------------------------------------------------------------------------------------------- SageMaker
def test_sagemaker_request_is_valid_for_the_create_training_job_api():
    from botocore.validate import ParamValidator

    body = _sagemaker()
    report = ParamValidator().validate(body, _sagemaker_input_shape())
    assert not report.has_errors(), report.generate_report()


def test_sagemaker_request_carries_the_config():
    cfg = _cfg()
    body = _sagemaker(cfg)
    hp = body["HyperParameters"]
    assert set(hp) == set(cloud.TRAINING_KEYS)
    assert all(isinstance(v, str) for v in hp.values())
    assert json.loads(hp["max_steps"]) == 500 and json.loads(hp["n_embd"]) == 384
    assert json.loads(hp["base_model"]) == "local:tiny-gpt2"
    assert json.loads(hp["learning_rate"]) == cfg.learning_rate
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in body["InputDataConfig"]}
    assert channels == {"train": f"{DATA}/train_blocks.parquet", "tokenizer": f"{DATA}/tokenizer/"}
    assert body["OutputDataConfig"] == {"S3OutputPath": OUT}
    assert body["CheckpointConfig"] == {"S3Uri": f"{OUT}/checkpoints/{body['TrainingJobName']}",
                                        "LocalPath": "/opt/ml/checkpoints"}
    assert body["AlgorithmSpecification"] == {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                              "ContainerEntrypoint": ["python", "-m", "include.llm.cloud_entry"]}
    assert body["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    assert body["StoppingCondition"] == {"MaxRuntimeInSeconds": 90 * 60}
    assert body["RoleArn"] == ROLE


def test_sagemaker_limits_of_the_api_hold():
    """Hyper-parameter keys <= 256, values <= 2500 characters, at most 100 (CreateTrainingJob limits)."""
    hp = _sagemaker()["HyperParameters"]
    assert len(hp) <= 100
    assert all(len(k) <= 256 and len(v) <= 2500 for k, v in hp.items())
    shape = _sagemaker_input_shape().members["TrainingJobName"]
    pattern = shape.metadata["pattern"]
    for run_id in ("manual__2026-12-04T00:00:00+00:00", "scheduled__" + "x" * 300, "asset_triggered__ü/é"):
        name = cloud.job_name(run_id)
        assert re.fullmatch(pattern, name) and len(name) <= shape.metadata["max"]
    assert cloud.job_name("a") == cloud.job_name("a") != cloud.job_name("b")  # stable across retries


def test_hyperparameters_round_trip_into_the_container_config():
    cfg = _cfg(base_model="distilgpt2", precision="bf16", seed=11)
    back = cloud.config_from_hyperparameters(cloud.hyperparameters(cfg) | {"sagemaker_region": '"eu-west-1"'})
    assert {k: getattr(back, k) for k in cloud.TRAINING_KEYS} == {k: getattr(cfg, k) for k in cloud.TRAINING_KEYS}


@pytest.mark.parametrize(("kw", "needle"), [
    ({"data_uri": "file:///tmp/lake/curated/x/data"}, "s3://"),
    ({"output_uri": "gs://bucket/x"}, "s3://"),
    ({"role_arn": None}, "sagemaker_role_arn"),
    ({"image": ""}, "genai_llm_training_image"),
    ({"name": "bad_name!"}, "job name"),
])
def test_sagemaker_request_refuses_what_the_job_could_not_run(kw, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        _sagemaker(**kw)


def test_registry_base_model_is_refused_for_a_cloud_job():
    with pytest.raises(ConfigError, match="registry version runs locally only"):
        _sagemaker(_cfg(base_model="textgen@champion"))


def test_role_param_is_constrained_to_an_iam_role_arn():
    assert _cfg(sagemaker_role_arn=ROLE).sagemaker_role_arn == ROLE
    for bad in ("arn:aws:iam::123456789012:user/someone", "my-role", "arn:aws:s3:::bucket"):
        with pytest.raises(ConfigError, match="sagemaker_role_arn"):
            _cfg(sagemaker_role_arn=bad)


def test_artifact_is_read_from_a_completed_job_only():
    done = {"Training": {"TrainingJobName": "j", "TrainingJobStatus": "Completed",
                         "ModelArtifacts": {"S3ModelArtifacts": f"{OUT}/j/output/model.tar.gz"}}}
    assert cloud.sagemaker_artifact(done) == f"{OUT}/j/output/model.tar.gz"
    failed = {"TrainingJobName": "j", "TrainingJobStatus": "Failed", "FailureReason": "OOM"}
    with pytest.raises(ConfigError, match="Failed: OOM"):
        cloud.sagemaker_artifact(failed)


# ------------------------------------------------------------------------------------------- choosing
@pytest.mark.parametrize(("requested", "conns", "lake", "chosen"), [
    ("auto", {}, "s3", "local"), ("auto", {"aws": "aws"}, "s3", "sagemaker"),
    ("auto", {"aws": "google_cloud_platform"}, "s3", "local"),
    ("auto", {"aws": "aws"}, "file", "local"),  # the channels must be on S3: auto does not pick a backend that cannot run
    ("local", {"aws": "aws"}, "s3", "local"), ("sagemaker", {"aws": "aws"}, "s3", "sagemaker"),
    ("auto", {"gcp": "google_cloud_platform"}, "gs", "vertex"), ("auto", {"gcp": "google_cloud_platform"}, "gcs", "vertex"),
    ("auto", {"gcp": "google_cloud_platform"}, "s3", "local"), ("auto", {"azure": "azure"}, "abfs", "azureml"),
    ("auto", {"azure": "wasb"}, "abfs", "local"),  # a storage connection is not a training connection
    ("auto", {"aws": "aws", "gcp": "google_cloud_platform", "azure": "azure"}, "gs", "vertex"),  # where the lake is
    ("vertex", {"gcp": "google_cloud_platform"}, "gs", "vertex"), ("azureml", {"azure": "azure"}, "abfs", "azureml"),
    ("local", {"gcp": "google_cloud_platform"}, "gs", "local"),
])
def test_backend_is_chosen_by_param_connection_and_lake(requested, conns, lake, chosen):
    assert cloud.choose_backend(requested, conns, lake) == chosen


@pytest.mark.parametrize(("requested", "conns", "lake", "needle"), [
    ("sagemaker", {}, "s3", "is missing"), ("sagemaker", {"aws": "http"}, "s3", "has type 'http'"),
    ("sagemaker", {"aws": "aws"}, "file", "the lake is on file://"),
    ("vertex", {}, "gs", "training gcp connection is missing"),
    ("vertex", {"gcp": "google_cloud_platform"}, "s3", "the lake is on s3://, not Cloud Storage"),
    ("azureml", {"azure": "wasb"}, "abfs", "has type 'wasb'"),
    ("azureml", {"azure": "azure"}, "gs", "the lake is on gs://, not Azure Blob"),
])
def test_forced_backend_that_cannot_run_fails_at_once(requested, conns, lake, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)) as err:
        cloud.choose_backend(requested, conns, lake)
    assert "training_backend=local" in err.value.fix


def test_backend_step_reads_the_real_connection_and_lake(lake, monkeypatch):
    """steps.backend looks the connection up through Airflow (env AIRFLOW_CONN_*) and the lake root's scheme."""
    from include.llm import steps

    monkeypatch.delenv("AIRFLOW_CONN_AWS_TRAINING", raising=False)
    assert steps.backend(_cfg()) == "train"  # nothing configured: local
    monkeypatch.setenv("AIRFLOW_CONN_AWS_TRAINING", json.dumps({"conn_type": "aws"}))
    assert steps.backend(_cfg()) == "train"  # connection, but the lake is local: still local
    with pytest.raises(ConfigError, match="not S3"):
        steps.backend(_cfg(training_backend="sagemaker"))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", "s3://some-bucket/lake")
    assert steps.backend(_cfg()) == "sagemaker_job"
    assert steps.backend(_cfg(training_backend="local")) == "train"


# --------------------------------------------------------------------------------------------- Vertex
def test_vertex_custom_job_parses_as_the_apis_custom_job():
    from google.cloud import aiplatform_v1

    cfg = _cfg()
    body = cloud.vertex_custom_job(
        cfg, name="textgen-ft-1", data_uri="gs://lake/l/curated/llm_fine_tuning/runs/r/data",
        output_uri="gs://lake/l/curated/llm_fine_tuning/runs/r/vertex/textgen-ft-1",
        image="europe-docker.pkg.dev/p/r/genai:1", try_number=2,
        target={"project": "genai-prod", "region": "europe-west4", "machine_type": "g2-standard-8",
                "accelerator_type": "NVIDIA_L4", "service_account": "train@genai-prod.iam.gserviceaccount.com"})
    job = aiplatform_v1.CustomJob.from_json(json.dumps(body))  # unknown fields or wrong types raise here
    (pool,) = job.job_spec.worker_pool_specs
    assert pool.container_spec.image_uri == "europe-docker.pkg.dev/p/r/genai:1"
    assert list(pool.container_spec.command) == ["python", "-m", "include.llm.cloud_entry"]
    assert list(pool.container_spec.args) == [
        "--data-dir", "/gcs/lake/l/curated/llm_fine_tuning/runs/r/data",
        "--model-dir", "/gcs/lake/l/curated/llm_fine_tuning/runs/r/vertex/textgen-ft-1/model"]
    env = {e.name: e.value for e in pool.container_spec.env}
    assert json.loads(env[cloud.HYPERPARAMETERS_ENV]) == cloud.hyperparameters(cfg)
    assert (pool.machine_spec.machine_type, pool.machine_spec.accelerator_count, pool.replica_count) == (
        "g2-standard-8", 1, 1)
    assert pool.machine_spec.accelerator_type == aiplatform_v1.AcceleratorType.NVIDIA_L4
    assert job.job_spec.base_output_directory.output_uri_prefix.endswith("/vertex/textgen-ft-1")
    assert job.job_spec.scheduling.timeout.total_seconds() == 90 * 60
    assert job.job_spec.service_account == "train@genai-prod.iam.gserviceaccount.com"
    assert job.labels[cloud.TRY_LABEL] == "2"
    assert all(re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", k) and re.fullmatch(r"[a-z0-9_-]{0,63}", v)
               for k, v in job.labels.items())  # Vertex label rules
    assert cloud.vertex_parent({"project": "genai-prod", "region": "europe-west4"}) == (
        "projects/genai-prod/locations/europe-west4")
    assert cloud.vertex_endpoint({"region": "europe-west4"}) == "europe-west4-aiplatform.googleapis.com"


def test_vertex_needs_a_project_and_gcs_paths():
    with pytest.raises(ConfigError, match="project"):
        cloud.vertex_custom_job(_cfg(), name="n", data_uri="gs://b/d", output_uri="gs://b/o", image="i", target={})
    with pytest.raises(ConfigError, match="gs://"):
        cloud.vertex_custom_job(_cfg(), name="n", data_uri="s3://b/d", output_uri="gs://b/o", image="i",
                                target={"project": "p"})


def test_abfs_lake_paths_become_azureml_abfss_uris_and_back():
    uri = cloud.abfss_uri("abfs://lake/l/curated/llm_fine_tuning/runs/r/data", "genaistore")
    assert uri == "abfss://lake@genaistore.dfs.core.windows.net/l/curated/llm_fine_tuning/runs/r/data"
    assert cloud.lake_uri_from_abfss(uri + "/") == "abfs://lake/l/curated/llm_fine_tuning/runs/r/data"
    with pytest.raises(ConfigError, match="abfs://"):
        cloud.abfss_uri("gs://lake/x", "genaistore")


# ------------------------------------------------------------------------------------------- Azure ML
#: From the Azure ML REST API v2 spec (2024-04-01, mfe.json): CommandJob requires jobType, command,
#: environmentId; the enums of JobInputType, JobOutputType, InputDeliveryMode/OutputDeliveryMode and
#: JobLimitsType.
AZ_REQUIRED = {"jobType", "command", "environmentId"}
AZ_INPUT_TYPES = {"literal", "uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"}
AZ_OUTPUT_TYPES = {"uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"}
AZ_INPUT_MODES = {"ReadOnlyMount", "ReadWriteMount", "Download", "Direct", "EvalMount", "EvalDownload"}
AZ_OUTPUT_MODES = {"ReadWriteMount", "Upload", "Direct"}
AZ_TARGET = {"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "genai-rg",
             "workspace": "genai-ws", "compute": "gpu-cluster", "environment_id": "azureml:genai-airflow:3"}


def test_azureml_body_follows_the_rest_v2_command_job_schema():
    cfg = _cfg()
    data = "azureml://datastores/lake/paths/curated/llm_fine_tuning/runs/r/data"
    url, body = cloud.azureml_command_job(cfg, name="textgen-ft-1", data_uri=data,
                                          output_uri="azureml://datastores/lake/paths/runs/r/azureml",
                                          target=AZ_TARGET)
    assert url == ("https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
                   "genai-rg/providers/Microsoft.MachineLearningServices/workspaces/genai-ws/jobs/textgen-ft-1"
                   "?api-version=2024-04-01")
    props = body["properties"]
    assert AZ_REQUIRED <= set(props) and props["jobType"] == "Command"
    assert props["computeId"].endswith("/workspaces/genai-ws/computes/gpu-cluster")
    for spec in props["inputs"].values():
        assert spec["jobInputType"] in AZ_INPUT_TYPES and spec["mode"] in AZ_INPUT_MODES
    for spec in props["outputs"].values():
        assert spec["jobOutputType"] in AZ_OUTPUT_TYPES and spec["mode"] in AZ_OUTPUT_MODES
    # every ${{inputs.x}} / ${{outputs.y}} in the command names a declared binding
    refs = re.findall(r"\$\{\{(inputs|outputs)\.([A-Za-z0-9_]+)\}\}", props["command"])
    assert {("inputs", "data"), ("outputs", "model")} == set(refs)
    assert all(name in props[kind] for kind, name in refs)
    assert props["command"].startswith("python -m include.llm.cloud_entry ")
    assert props["limits"] == {"jobLimitsType": "Command", "timeout": "PT90M"}
    assert json.loads(props["environmentVariables"][cloud.HYPERPARAMETERS_ENV]) == cloud.hyperparameters(cfg)
    json.dumps(body)  # plain JSON, ready for the ARM PUT


def test_azureml_needs_its_workspace_description():
    with pytest.raises(ConfigError, match="environment_id"):
        cloud.azureml_command_job(_cfg(), name="n", data_uri="azureml://d", output_uri="azureml://o",
                                  target={k: v for k, v in AZ_TARGET.items() if k != "environment_id"})
