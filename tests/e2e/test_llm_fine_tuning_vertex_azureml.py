"""End to end: llm_fine_tuning trains as a Vertex AI custom job or an Azure ML command job, chosen by connection.

Data plane real, control plane a loopback listener. The lake (and so the registry) is on the GCS emulator
(``gs://``) or on Azurite (``abfs://``); the training connection exists (``google_cloud_platform`` /
``azure``), so ``training_backend=auto`` takes the cloud's branch. The DAG builds the job from the run's
config and submits it with the real client libraries — ``google.cloud.aiplatform_v1.JobServiceClient``
(REST transport, credentials from a service-account key through the google provider's hook) and
azure-core's ``ARMPipelineClient`` (bearer token from azure-identity's managed-identity credential through
the azure provider's hook) — to listeners implementing the documented endpoints
(tests/fixtures/training_listeners.py), polls them in a reschedule-mode sensor, fetches the model folder
from the job's output location in the lake and registers it.

What the listeners cannot do: run the container. So before the run the test does what the container
would: it prepares the same corpus with the same config (the tokenizer and packing are deterministic, so
the blocks equal the run's), runs the container entry point (``include.llm.cloud_entry``) with the job's
environment and writes the model folder where the job's output will be. Everything after that is the DAG's.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pendulum
import pytest

from tests.e2e.sentiment_fixtures import task_states, task_tries
from tests.fixtures.emulators import AZURE_CONTAINER, GCS_BUCKET
from tests.fixtures.training_listeners import ArmListener, VertexListener

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.emulator]

DAG_ID = "llm_fine_tuning"
GCP_IMAGE = "europe-west4-docker.pkg.dev/genai-test/genai/genai-airflow-pipelines:test"
AZ_ENV = "azureml:genai-airflow-pipelines:3"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
FAST = {"corpus_key": "womens_clothing_reviews.jsonl", "base_model": "local:tiny-gpt2", "max_docs": 800,
        "vocab_size": 400, "block_size": 64, "n_layer": 2, "n_embd": 64, "n_head": 2, "batch_size": 8,
        "learning_rate": 3e-3, "checkpoint_every": 40, "log_every": 20, "max_eval_blocks": 60,
        "max_new_tokens": 16, "threads": 2, "precision": "fp32", "seed": 7, "drill_crash_after_steps": 0,
        "max_perplexity": 1e9, "min_improvement": 0.02, "max_repetition": 1.0, "min_distinct_2": 0.0,
        "max_steps": 60, "training_backend": "auto", "cloud_max_runtime_minutes": 60}
CLOUD_TASKS = ("sagemaker_job", "vertex_train", "azureml_train")


def _service_account_key(token_uri: str) -> tuple[dict, str]:
    """A service-account key (fresh RSA key) whose token endpoint is the listener; and its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"type": "service_account", "project_id": "genai-test", "private_key_id": "loopback-key-1",
            "private_key": pem, "client_email": "trainer@genai-test.iam.gserviceaccount.com",
            "client_id": "100000000000000000001", "token_uri": token_uri}, public


@pytest.fixture
def vertex(lake, gcs_conn, monkeypatch):
    """The lake on the GCS emulator, a Vertex AI listener and the training gcp connection (a real key)."""
    listener = VertexListener()
    key, public = _service_account_key(f"{listener.url}/token")
    prefix = f"lake-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", f"gs://{GCS_BUCKET}/{prefix}")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", gcs_conn)
    monkeypatch.setenv("AIRFLOW_CONN_GCP_TRAINING_TEST", json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(key), "project": "genai-test"}}))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_TRAINING_GCP_CONN_ID", "gcp_training_test")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_TRAINING_IMAGE", GCP_IMAGE)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_CLOUD_TRAINING", json.dumps(
        {"project": "genai-test", "region": "europe-west4", "machine_type": "n1-standard-8",
         "api_endpoint": listener.url}))
    try:
        yield listener, public, prefix
    finally:
        listener.close()


@pytest.fixture
def azureml(lake, azure_conn, monkeypatch):
    """The lake on Azurite (abfs://), an ARM listener and the training azure connection (managed identity)."""
    import logging

    monkeypatch.setattr(logging.getLogger("azure"), "level", logging.WARNING)
    listener = ArmListener()
    prefix = f"lake-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", f"abfs://{AZURE_CONTAINER}/{prefix}")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", azure_conn)
    # azure-identity's ManagedIdentityCredential (App Service protocol) asks this endpoint for the ARM token.
    for var in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{listener.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", ArmListener.IDENTITY_HEADER)
    monkeypatch.setenv("AIRFLOW_CONN_AZUREML_TRAINING_TEST", json.dumps(
        {"conn_type": "azure", "extra": {"use_azure_identity_object": True}}))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_TRAINING_AZURE_CONN_ID", "azureml_training_test")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_CLOUD_TRAINING", json.dumps(
        {"subscription_id": SUBSCRIPTION, "resource_group": "genai-rg", "workspace": "genai-ws",
         "compute": "cpu-cluster", "environment_id": AZ_ENV, "arm_endpoint": listener.url}))
    try:
        yield listener, prefix
    finally:
        listener.close()


def _run_id(day):
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    return DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=day, run_after=day)


def _stage_model(tmp_path, run_id: str, backend: str, monkeypatch, job: str | None = None) -> dict:
    """Do what the job's container does: run the entry point on the run's blocks, model into the job's output."""
    from include.llm import cloud, cloud_entry, pipeline
    from include.llm.config import FineTuneConfig
    from include.platform import storage

    cfg = FineTuneConfig.from_params(FAST)
    prepared = pipeline.prepare(cfg, pendulum.date(2026, 12, 1), f"staging-for-the-{backend}-model")
    data = storage.path_from_uri(prepared["data_uri"], "curated")
    local_data, local_model = tmp_path / f"{backend}-data", tmp_path / f"{backend}-model"
    local_data.mkdir()
    (local_data / "train_blocks.parquet").write_bytes(storage.read_bytes(data / "train_blocks.parquet"))
    pipeline.download_dir(data / "tokenizer", local_data / "tokenizer")
    with monkeypatch.context() as env:  # the job's environment, as the request sets it
        env.setenv(cloud.HYPERPARAMETERS_ENV, json.dumps(cloud.hyperparameters(cfg), sort_keys=True))
        env.setenv("GENAI_TRAINING_BACKEND", backend)
        assert cloud_entry.main(["--prefix", str(tmp_path / "no-sagemaker"), "--data-dir", str(local_data),
                                 "--model-dir", str(local_model)]) == 0
    pipeline.upload_dir(local_model, pipeline.run_folder(run_id, backend) / (job or cloud.job_name(run_id)) / "model")
    return json.loads((local_model / cloud.TRAINING_INFO).read_text())


def _fast_polls(dag, monkeypatch, task_id: str) -> None:
    task = dag.get_task(task_id)
    monkeypatch.setattr(task, "poke_interval", 1)
    monkeypatch.setattr(task, "retry_delay", timedelta(seconds=0))
    monkeypatch.setattr(task, "retry_exponential_backoff", 0)


def _assert_ran_in(states: dict, backend_task: str, model_task: str) -> None:
    assert states["backend"] == "success" and states["train"] == "skipped", states
    assert {states[t] for t in CLOUD_TASKS if t != backend_task} == {"skipped"}, states
    assert {states[t] for t in (backend_task, model_task, "trained_model", "evaluate", "gate")} == {"success"}, states


def _assert_registered(backend: str, name: str, folder: str, staged: dict):
    from include.llm import MODEL_NAME
    from include.platform import registry

    (mv,) = [v for v in registry.list_versions(MODEL_NAME) if v.metadata.get("training_job") == name]
    assert mv.metadata["training_backend"] == backend
    assert mv.metadata["training_artifact"] == folder
    assert mv.metrics["train_steps"] == 60 == staged["steps"]
    assert mv.metrics["perplexity"] < mv.metrics["perplexity_untrained"]
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json"} <= set(mv.files)
    assert mv.status in ("champion", "rejected")
    return mv


# --------------------------------------------------------------------------------------------- Vertex AI
def _assert_vertex_auth(listener: VertexListener, public_pem: str) -> None:
    """Every customJobs call carried a bearer token the key really produced: the listener's OAuth token,
    or a self-signed JWT the client signed with the key (verified with its public half)."""
    from google.auth import jwt

    calls = [r for r in listener.requests if "/customJobs" in r["path"]]
    assert calls
    for call in calls:
        scheme, _, token = call["headers"]["authorization"].partition(" ")
        assert scheme == "Bearer"
        if token != listener.TOKEN:
            claims = jwt.decode(token, certs=public_pem, verify=True, audience=None)
            assert claims["iss"] == "trainer@genai-test.iam.gserviceaccount.com"


def test_vertex_custom_job_is_submitted_polled_fetched_and_registered(vertex, gcs_conn, dagbag, tmp_path, monkeypatch):
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    from include.llm import cloud, corpus, pipeline
    from include.llm.config import FineTuneConfig

    listener, public_pem, prefix = vertex
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 6, tz="UTC")
    run_id = _run_id(day)
    staged = _stage_model(tmp_path, run_id, "vertex", monkeypatch)
    dag = dagbag.get_dag(DAG_ID)
    _fast_polls(dag, monkeypatch, "vertex_train")

    run = dag.test(logical_date=day, run_after=day, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.run_id == run_id and run.state == "success", states
    _assert_ran_in(states, "vertex_train", "vertex_model")

    # one CreateCustomJob, as the real REST client sent it, built from the run's config
    name = cloud.job_name(run_id)
    (create,) = listener.creates()
    assert create["path"] == "/v1/projects/genai-test/locations/europe-west4/customJobs"
    body = create["body"]
    assert body["displayName"] == name and body["labels"][cloud.TRY_LABEL] == "1"
    (pool,) = body["jobSpec"]["workerPoolSpecs"]
    assert pool["machineSpec"] == {"machineType": "n1-standard-8"} and pool["replicaCount"] == "1"
    container = pool["containerSpec"]
    assert container["imageUri"] == GCP_IMAGE
    assert container["command"] == ["python", "-m", "include.llm.cloud_entry"]
    output = (pipeline.run_folder(run_id, "vertex") / name).as_uri()
    assert output.startswith(f"gs://{GCS_BUCKET}/{prefix}/curated/{DAG_ID}/runs/")
    assert body["jobSpec"]["baseOutputDirectory"] == {"outputUriPrefix": output}
    data_arg, model_arg = container["args"][1], container["args"][3]
    assert container["args"][::2] == ["--data-dir", "--model-dir"]
    assert data_arg.startswith(f"/gcs/{GCS_BUCKET}/{prefix}/curated/{DAG_ID}/runs/") and data_arg.endswith("/data")
    assert model_arg == "/gcs/" + output[len("gs://"):] + "/model"  # = AIP_MODEL_DIR, under baseOutputDirectory
    env = {e["name"]: e["value"] for e in container["env"]}
    assert json.loads(env[cloud.HYPERPARAMETERS_ENV]) == cloud.hyperparameters(FineTuneConfig.from_params(FAST))
    assert env["GENAI_TRAINING_BACKEND"] == "vertex"
    assert body["jobSpec"]["scheduling"] == {"timeout": "3600s"}
    # the FUSE path is the run's blocks, really written to (emulated) Cloud Storage by prepare
    assert GCSHook(gcp_conn_id=gcs_conn).exists(GCS_BUCKET, data_arg[len(f"/gcs/{GCS_BUCKET}/"):] +
                                                "/train_blocks.parquet")
    # the sensor waited: the job was read while pending/running and again once succeeded
    reads = [r for r in listener.requests if r["method"] == "GET" and r["path"].endswith("/customJobs")]
    assert len(reads) >= 3 and all(r["query"]["filter"] == [f'display_name="{name}"'] for r in reads)
    _assert_vertex_auth(listener, public_pem)

    _assert_registered("vertex", name, f"{output}/model", staged)


def test_retried_vertex_train_reattaches_to_its_first_tries_job(vertex, dagbag, tmp_path, monkeypatch):
    """The first try dies right after CreateCustomJob returned (the job runs on); the retry finds it by name."""
    from google.cloud import aiplatform_v1

    from include.llm import cloud, corpus

    listener, _, _ = vertex
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 7, tz="UTC")
    run_id = _run_id(day)
    staged = _stage_model(tmp_path, run_id, "vertex", monkeypatch)
    real_create = aiplatform_v1.JobServiceClient.create_custom_job
    calls: list[str] = []

    def create_then_worker_dies(self, *args, **kwargs):
        response = real_create(self, *args, **kwargs)
        calls.append(response.display_name)
        if len(calls) == 1:
            raise RuntimeError("worker lost right after CreateCustomJob; the job itself keeps training")
        return response

    monkeypatch.setattr(aiplatform_v1.JobServiceClient, "create_custom_job", create_then_worker_dies)
    dag = dagbag.get_dag(DAG_ID)
    _fast_polls(dag, monkeypatch, "vertex_train")

    run = dag.test(logical_date=day, run_after=day, run_conf=FAST)
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "success", states
    assert states["vertex_train"] == "success" and tries["vertex_train"] == 2, (states, tries)
    name = cloud.job_name(run_id)
    assert calls == [name] and len(listener.creates()) == 1  # the retry created nothing
    assert [j["displayName"] for j in listener.jobs.values()] == [name]
    mv = _assert_registered("vertex", name, f"{listener.jobs[next(iter(listener.jobs))]['jobSpec']['baseOutputDirectory']['outputUriPrefix']}/model", staged)
    assert mv.metadata["training_job"] == name


def test_vertex_job_failed_under_this_try_fails_the_task_and_the_retry_starts_r2(vertex, dagbag, tmp_path,
                                                                                  monkeypatch):
    """The run's job ends JOB_STATE_FAILED while try 1 waits: try 1 fails with the job's error; try 2 sees a
    job an earlier try created, so it starts ``<name>-r2`` (label genai-try 2), whose model is registered."""
    from include.llm import cloud, corpus, pipeline

    listener, _, _ = vertex
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 10, tz="UTC")
    run_id = _run_id(day)
    name = cloud.job_name(run_id)
    second = cloud.attempt_job_name(name, 2)
    staged = _stage_model(tmp_path, run_id, "vertex", monkeypatch, job=second)
    listener.fail.add(name)
    dag = dagbag.get_dag(DAG_ID)
    _fast_polls(dag, monkeypatch, "vertex_train")

    run = dag.test(logical_date=day, run_after=day, run_conf=FAST)
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "success", states
    assert states["vertex_train"] == "success" and tries["vertex_train"] == 2, (states, tries)
    created = [(r["body"]["displayName"], r["body"]["labels"][cloud.TRY_LABEL]) for r in listener.creates()]
    assert created == [(name, "1"), (second, "2")]
    output = (pipeline.run_folder(run_id, "vertex") / second).as_uri()
    _assert_registered("vertex", second, f"{output}/model", staged)


# ---------------------------------------------------------------------------------------------- Azure ML
def test_azureml_command_job_is_submitted_polled_fetched_and_registered(azureml, azure_conn, dagbag, tmp_path,
                                                                        monkeypatch):
    from include.llm import cloud, corpus, pipeline
    from include.llm.config import FineTuneConfig
    from include.platform import storage

    listener, prefix = azureml
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 8, tz="UTC")
    run_id = _run_id(day)
    staged = _stage_model(tmp_path, run_id, "azureml", monkeypatch)
    dag = dagbag.get_dag(DAG_ID)
    _fast_polls(dag, monkeypatch, "azureml_train")

    run = dag.test(logical_date=day, run_after=day, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.run_id == run_id and run.state == "success", states
    _assert_ran_in(states, "azureml_train", "azureml_model")

    name = cloud.job_name(run_id)
    (put,) = listener.creates()
    assert put["path"] == (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/genai-rg/providers/"
                           f"Microsoft.MachineLearningServices/workspaces/genai-ws/jobs/{name}")
    assert put["query"]["api-version"] == ["2024-04-01"]
    assert put["headers"]["authorization"] == f"Bearer {ArmListener.TOKEN}"  # from the managed identity endpoint
    props = put["body"]["properties"]
    assert props["jobType"] == "Command" and props["displayName"] == name and props["environmentId"] == AZ_ENV
    assert props["computeId"].endswith("/workspaces/genai-ws/computes/cpu-cluster")
    assert props["command"] == ("python -m include.llm.cloud_entry --data-dir ${{inputs.data}} "
                                "--model-dir ${{outputs.model}}")
    account = f"abfss://{AZURE_CONTAINER}@devstoreaccount1.dfs.core.windows.net/{prefix}/curated/{DAG_ID}/runs/"
    data_in, model_out = props["inputs"]["data"], props["outputs"]["model"]
    assert data_in["jobInputType"] == "uri_folder" and data_in["mode"] == "ReadOnlyMount"
    assert data_in["uri"].startswith(account) and data_in["uri"].endswith("/data/")
    assert model_out["jobOutputType"] == "uri_folder" and model_out["mode"] == "ReadWriteMount"
    output = (pipeline.run_folder(run_id, "azureml") / name).as_uri()
    assert model_out["uri"] == cloud.abfss_uri(output, "devstoreaccount1") + "/model/"
    env = props["environmentVariables"]
    assert json.loads(env[cloud.HYPERPARAMETERS_ENV]) == cloud.hyperparameters(FineTuneConfig.from_params(FAST))
    assert props["limits"] == {"jobLimitsType": "Command", "timeout": "PT60M"}
    assert props["tags"][cloud.TRY_LABEL] == "1"
    # the input folder is the run's blocks, really written to (emulated) Blob storage by prepare
    data_lake = cloud.lake_uri_from_abfss(data_in["uri"])
    assert storage.path_from_uri(data_lake + "/train_blocks.parquet").exists()
    gets = [r for r in listener.requests if r["method"] == "GET" and r["path"] == put["path"]]
    assert len(gets) >= 3  # looked before creating, polled while NotStarted/Running, read it Completed
    assert all(r["headers"]["authorization"] == f"Bearer {ArmListener.TOKEN}" for r in gets)

    _assert_registered("azureml", name, f"{output}/model", staged)


def test_retried_azureml_train_reattaches_to_its_first_tries_job(azureml, dagbag, tmp_path, monkeypatch):
    """The first try dies right after the ARM PUT returned (the job runs on); the retry GETs it, PUTs nothing."""
    from azure.mgmt.core import ARMPipelineClient

    from include.llm import cloud, corpus, pipeline

    listener, _ = azureml
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 9, tz="UTC")
    run_id = _run_id(day)
    staged = _stage_model(tmp_path, run_id, "azureml", monkeypatch)
    real_send = ARMPipelineClient.send_request
    puts: list[str] = []

    def send_then_worker_dies(self, request, **kwargs):
        response = real_send(self, request, **kwargs)
        if request.method == "PUT":
            puts.append(request.url)
            if len(puts) == 1:
                raise RuntimeError("worker lost right after the job PUT; the job itself keeps training")
        return response

    monkeypatch.setattr(ARMPipelineClient, "send_request", send_then_worker_dies)
    dag = dagbag.get_dag(DAG_ID)
    _fast_polls(dag, monkeypatch, "azureml_train")

    run = dag.test(logical_date=day, run_after=day, run_conf=FAST)
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "success", states
    assert states["azureml_train"] == "success" and tries["azureml_train"] == 2, (states, tries)
    name = cloud.job_name(run_id)
    assert len(puts) == 1 and len(listener.creates()) == 1 and list(listener.jobs) == [name]
    output = (pipeline.run_folder(run_id, "azureml") / name).as_uri()
    _assert_registered("azureml", name, f"{output}/model", staged)
