"""``cloud_train``'s plan against the loopback control-plane listeners, without a DAG run.

The real clients (``aiplatform_v1.JobServiceClient`` over REST, azure-core's ``ARMPipelineClient``) talk to
tests/fixtures/training_listeners.py: what a poke does when the run's job is live, done, or live for longer
than ``cloud_max_runtime_minutes`` + 30 min, and how a job's model folder is read from its description.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from include.llm import cloud, cloud_jobs, steps
from include.llm.config import FineTuneConfig
from tests.fixtures.training_listeners import ArmListener, VertexListener

RUN = "manual__2026-12-04T00:00:00+00:00"
NAME = cloud.job_name(RUN)
CONTEXT = {"run_id": RUN, "ti": SimpleNamespace(try_number=1)}


@pytest.fixture
def vertex(monkeypatch):
    listener = VertexListener(run_seconds=3600)  # a test ends the job by setting 0
    monkeypatch.setenv("AIRFLOW_CONN_GCP_TRAINING", json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True}}))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_CLOUD_TRAINING", json.dumps(
        {"project": "p", "region": "europe-west4", "api_endpoint": listener.url}))
    yield listener
    listener.close()


@pytest.fixture
def azure(monkeypatch):
    listener = ArmListener(run_seconds=3600)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{listener.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", ArmListener.IDENTITY_HEADER)
    monkeypatch.setenv("AIRFLOW_CONN_AZUREML_TRAINING", json.dumps(
        {"conn_type": "azure", "extra": {"use_azure_identity_object": True}}))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_CLOUD_TRAINING", json.dumps(
        {"subscription_id": "s", "resource_group": "rg", "workspace": "ws", "compute": "c", "environment_id": "e",
         "arm_endpoint": listener.url}))
    yield listener
    listener.close()


def _vertex_job(listener: VertexListener, created: str | None = None) -> None:
    jobs = cloud_jobs.VertexJobs("gcp_training", json.loads(os.environ["AIRFLOW_VAR_GENAI_LLM_CLOUD_TRAINING"]))
    assert jobs.describe(NAME) is None
    body = cloud.vertex_custom_job(FineTuneConfig.from_params({}), name=NAME, data_uri="gs://b/l/curated/x/data",
                                   output_uri=f"gs://b/l/curated/x/vertex/{NAME}", image="img",
                                   target={"project": "p", "region": "europe-west4"})
    jobs.create(NAME, body)
    if created:
        next(iter(listener.jobs.values()))["createTime"] = created


def test_vertex_poke_waits_then_returns_the_model_folder(vertex, lake):
    _vertex_job(vertex)
    cfg = FineTuneConfig.from_params({})
    assert steps.cloud_train(cfg, "vertex", {"data_uri": "unused"}, CONTEXT) is None  # pending: reschedule
    vertex.run_seconds = 0
    done = steps.cloud_train(cfg, "vertex", {"data_uri": "unused"}, CONTEXT)
    assert done == {"backend": "vertex", "job": NAME, "status": "JOB_STATE_SUCCEEDED",
                    "model_folder": f"gs://b/l/curated/x/vertex/{NAME}/model"}
    assert len(vertex.creates()) == 1  # the pokes created nothing


def test_vertex_job_live_past_the_runtime_limit_fails_the_poke(vertex, lake):
    _vertex_job(vertex, created="2026-01-01T00:00:00Z")
    with pytest.raises(TimeoutError, match="cloud_max_runtime_minutes"):
        steps.cloud_train(FineTuneConfig.from_params({}), "vertex", {"data_uri": "unused"}, CONTEXT)


def test_azureml_job_is_found_by_name_and_its_output_mapped_back_to_the_lake(azure, lake):
    target = json.loads(os.environ["AIRFLOW_VAR_GENAI_LLM_CLOUD_TRAINING"])
    jobs = cloud_jobs.AzureMLJobs("azureml_training", target)
    assert jobs.describe(NAME) is None  # the listener's 404
    _, body = cloud.azureml_command_job(
        FineTuneConfig.from_params({}), name=NAME, target=target,
        data_uri="abfss://lake@acct.dfs.core.windows.net/l/curated/x/data",
        output_uri=f"abfss://lake@acct.dfs.core.windows.net/l/curated/x/azureml/{NAME}")
    jobs.create(NAME, body)
    cfg = FineTuneConfig.from_params({})
    assert steps.cloud_train(cfg, "azureml", {"data_uri": "unused"}, CONTEXT) is None
    azure.run_seconds = 0
    done = steps.cloud_train(cfg, "azureml", {"data_uri": "unused"}, CONTEXT)
    assert done["status"] == "Completed" and done["model_folder"] == f"abfs://lake/l/curated/x/azureml/{NAME}/model"
    azure.jobs[NAME]["systemData"]["createdAt"] = "2026-01-01T00:00:00Z"
    azure.run_seconds = 3600
    with pytest.raises(TimeoutError, match="cloud_max_runtime_minutes"):
        steps.cloud_train(cfg, "azureml", {"data_uri": "unused"}, CONTEXT)
    assert all(r["headers"].get("authorization") == f"Bearer {ArmListener.TOKEN}"
               for r in azure.requests if "/jobs/" in r["path"])
