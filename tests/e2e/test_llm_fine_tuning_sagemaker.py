"""End to end: llm_fine_tuning trains as a SageMaker training job, chosen by connection, against a moto server.

The lake (and so the registry) is on ``s3://`` in moto; the training aws connection exists, so
``training_backend=auto`` takes the SageMaker branch. The DAG builds the ``CreateTrainingJob`` request
from the run's config, the provider's ``SageMakerTrainingOperator`` creates the job and waits for it,
``sagemaker_model`` fetches ``S3ModelArtifacts`` and ``evaluate``/``gate`` register and judge it.

What moto cannot do: it runs no container and writes no artifact — it marks the job ``Completed`` at once
and reports ``<S3OutputPath>/<job>/output/model.tar.gz``. So before the run the test builds that archive
for real: it prepares the same corpus with the same config (the BPE tokenizer and the packing are
deterministic, so the blocks equal the run's), writes SageMaker's container layout with the request's own
hyper-parameters, runs the container entry point (``include.llm.cloud_entry``) on it and uploads the
model folder as ``model.tar.gz`` where the job will say it is. Everything after that is the DAG's.
"""

from __future__ import annotations

import io
import json
import tarfile

import pendulum
import pytest

from tests.e2e.sentiment_fixtures import task_states
from tests.fixtures.emulators import s3_lake_on

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.emulator]

DAG_ID = "llm_fine_tuning"
BUCKET = "genai-lake-test"
ROLE = "arn:aws:iam::123456789012:role/genai-sagemaker-training"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/genai-airflow-pipelines:test"
FAST = {"corpus_key": "womens_clothing_reviews.jsonl", "base_model": "local:tiny-gpt2", "max_docs": 800,
        "vocab_size": 400, "block_size": 64, "n_layer": 2, "n_embd": 64, "n_head": 2, "batch_size": 8,
        "learning_rate": 3e-3, "checkpoint_every": 40, "log_every": 20, "max_eval_blocks": 60,
        "max_new_tokens": 16, "threads": 2, "precision": "fp32", "seed": 7, "drill_crash_after_steps": 0,
        "max_perplexity": 1e9, "min_improvement": 0.02, "max_repetition": 1.0, "min_distinct_2": 0.0,
        "max_steps": 60, "training_backend": "auto", "sagemaker_role_arn": ROLE,
        "sagemaker_instance_type": "ml.m5.xlarge"}


@pytest.fixture
def s3_lake(lake, aws_conn, monkeypatch):
    """The lake on moto S3 and the training connection = the emulator's aws connection."""
    hook, prefix = s3_lake_on(aws_conn, BUCKET, monkeypatch)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_TRAINING_AWS_CONN_ID", aws_conn)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LLM_TRAINING_IMAGE", IMAGE)
    return hook, prefix


def _stage_artifact(tmp_path, run_id: str, conf: dict, hook) -> tuple[str, dict]:
    """Build the job's model.tar.gz by running the container entry point on SageMaker's layout."""
    from include.llm import cloud, cloud_entry, pipeline
    from include.llm.config import FineTuneConfig
    from include.platform import storage

    cfg = FineTuneConfig.from_params(conf)
    prepared = pipeline.prepare(cfg, pendulum.date(2026, 12, 1), "staging-for-the-sagemaker-artifact")
    data = storage.path_from_uri(prepared["data_uri"], "curated")
    prefix = tmp_path / "opt-ml"
    (prefix / "input" / "config").mkdir(parents=True)
    (prefix / "input" / "config" / "hyperparameters.json").write_text(json.dumps(cloud.hyperparameters(cfg)))
    (prefix / "input" / "data" / "train").mkdir(parents=True)
    (prefix / "input" / "data" / "train" / "train_blocks.parquet").write_bytes(
        storage.read_bytes(data / "train_blocks.parquet"))
    pipeline.download_dir(data / "tokenizer", prefix / "input" / "data" / "tokenizer")
    assert cloud_entry.main(["--prefix", str(prefix)]) == 0
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:  # what SageMaker does with /opt/ml/model
        for path in sorted((prefix / "model").iterdir()):
            tar.add(path, arcname=path.name)
    output = pipeline.run_folder(run_id, "sagemaker").as_uri()
    artifact = f"{output}/{cloud.job_name(run_id)}/output/model.tar.gz"
    bucket, key = artifact[len("s3://"):].split("/", 1)
    hook.load_bytes(buf.getvalue(), key, bucket, replace=True)
    return artifact, json.loads((prefix / "model" / cloud.TRAINING_INFO).read_text())


def test_sagemaker_training_job_on_moto_is_fetched_and_registered(s3_lake, aws_conn, dagbag, tmp_path):
    import boto3
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    from include.llm import MODEL_NAME, cloud, corpus
    from include.platform import registry

    hook, prefix = s3_lake
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 4, tz="UTC")
    run_id = DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=day, run_after=day)
    artifact, staged = _stage_artifact(tmp_path, run_id, FAST, hook)

    run = dagbag.get_dag(DAG_ID).test(logical_date=day, run_after=day, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.run_id == run_id
    assert run.state == "success", states
    assert states["backend"] == "success" and states["train"] == "skipped", states
    assert {states[t] for t in ("sagemaker_job", "sagemaker_train", "sagemaker_model", "trained_model",
                                "evaluate", "gate")} == {"success"}, states

    # the job moto holds was built from the run's config: hyper-parameters, channels, output, role, image
    sm = boto3.client("sagemaker", endpoint_url=hook.conn_config.endpoint_url, region_name="us-east-1")
    job = sm.describe_training_job(TrainingJobName=cloud.job_name(run_id))
    assert job["TrainingJobStatus"] == "Completed"
    assert job["HyperParameters"]["max_steps"] == "60" and job["HyperParameters"]["n_embd"] == "64"
    assert json.loads(job["HyperParameters"]["base_model"]) == "local:tiny-gpt2"
    assert set(job["HyperParameters"]) == set(cloud.TRAINING_KEYS)
    assert job["RoleArn"] == ROLE
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    data_prefix = f"s3://{BUCKET}/{prefix}/curated/{DAG_ID}/runs/"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert set(channels) == {"train", "tokenizer"}
    assert channels["train"].startswith(data_prefix) and channels["train"].endswith("/data/train_blocks.parquet")
    assert channels["tokenizer"].endswith("/data/tokenizer/")
    assert job["OutputDataConfig"]["S3OutputPath"] == artifact.rsplit("/", 3)[0]
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == artifact
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    # the channels point at blocks this run's prepare really wrote
    train_key = channels["train"][len(f"s3://{BUCKET}/"):]
    assert hook.check_for_key(train_key, BUCKET)

    # the artifact became a registered version with real files in the (S3) registry
    (mv,) = registry.list_versions(MODEL_NAME)
    assert mv.metadata["training_backend"] == "sagemaker"
    assert mv.metadata["training_job"] == cloud.job_name(run_id)
    assert mv.metadata["training_artifact"] == artifact
    assert mv.metrics["train_steps"] == 60 == staged["steps"]
    assert mv.metrics["perplexity"] < mv.metrics["perplexity_untrained"]
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json"} <= set(mv.files)
    keys = hook.list_keys(BUCKET, prefix=f"{prefix}/")
    assert any(k.endswith(f"/{MODEL_NAME}/versions/{mv.version}/model.safetensors") or
               (f"/{MODEL_NAME}/" in k and k.endswith("model.safetensors")) for k in keys), keys[:20]
    assert mv.status in ("champion", "rejected")


def test_retried_sagemaker_train_reattaches_to_its_first_tries_job(s3_lake, aws_conn, dagbag, tmp_path, monkeypatch):
    """The first try dies right after CreateTrainingJob (the job trains on); the retry must not start another.

    Before the fix the provider's default ``action_if_job_exists="timestamp"`` created a second job
    (``<name>-<timestamp>``) beside the first; now the retry finds the run's job by its try-independent
    name and takes its result (moto completes jobs at once; an InProgress job is re-attached to: see
    tests/include/llm/test_sagemaker_resume_plan.py and the operator).
    """
    from datetime import timedelta

    import boto3
    from airflow.models.dagrun import DagRun
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
    from airflow.utils.types import DagRunType

    from include.llm import MODEL_NAME, cloud, corpus
    from include.platform import registry
    from tests.e2e.sentiment_fixtures import task_tries

    hook, _ = s3_lake
    corpus.seed_corpus()
    day = pendulum.datetime(2026, 12, 5, tz="UTC")
    run_id = DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=day, run_after=day)
    artifact, _ = _stage_artifact(tmp_path, run_id, FAST, hook)

    created: list[str] = []
    real_create = SageMakerHook.create_training_job

    def create_then_worker_dies(self, config, *args, **kwargs):
        created.append(config["TrainingJobName"])
        response = real_create(self, config, *args, **kwargs)
        if len(created) == 1:
            raise RuntimeError("worker lost right after CreateTrainingJob; the job itself keeps training")
        return response

    monkeypatch.setattr(SageMakerHook, "create_training_job", create_then_worker_dies)
    task = dagbag.get_dag(DAG_ID).get_task("sagemaker_train")
    monkeypatch.setattr(task, "retry_delay", timedelta(seconds=0))
    monkeypatch.setattr(task, "retry_exponential_backoff", 0)

    run = dagbag.get_dag(DAG_ID).test(logical_date=day, run_after=day, run_conf=FAST)
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.run_id == run_id and run.state == "success", states
    assert states["sagemaker_train"] == "success" and tries["sagemaker_train"] == 2, (states, tries)
    name = cloud.job_name(run_id)
    assert created == [name]  # the retry created nothing: it found the first try's job
    sm = boto3.client("sagemaker", endpoint_url=hook.conn_config.endpoint_url, region_name="us-east-1")
    names = [j["TrainingJobName"] for j in sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]]
    assert [n for n in names if n.startswith(name)] == [name], names  # one job for the run, no "-<timestamp>" twin
    (mv,) = [v for v in registry.list_versions(MODEL_NAME) if v.metadata.get("training_job") == name]
    assert mv.metadata["training_artifact"] == artifact
