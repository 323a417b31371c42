"""Cloud training requests for ``llm_fine_tuning``, built from the same :class:`FineTuneConfig` as local training.

Pure functions (no I/O, no client): the DAG's tasks resolve where things are, call one of these and hand
the result to the provider's operator or API. One container entry point serves every cloud —
``python -m include.llm.cloud_entry`` in this project's own image (it holds ``include/llm`` and the
pinned stack), which trains exactly as the local ``train`` task does (:func:`include.llm.pipeline.train_on_blocks`)
and writes the model folder plus ``training.json``:

=============  ==================================================  ============================================
backend        request                                             how the config travels / where data is
=============  ==================================================  ============================================
``sagemaker``  ``CreateTrainingJob`` body for                      HyperParameters (str → JSON str) →
               ``SageMakerTrainingOperator(config=...)``            ``/opt/ml/input/config/hyperparameters.json``;
                                                                   channels ``train`` / ``tokenizer`` = the run's
                                                                   packed blocks in the s3:// lake; model →
                                                                   ``<output>/<job>/output/model.tar.gz``
``vertex``     ``CustomJob`` (REST JSON) for                         env ``GENAI_HYPERPARAMETERS``; data and model
               ``JobService.CreateCustomJob`` (aiplatform_v1)       through Cloud Storage FUSE (``/gcs/<bucket>/``)
``azureml``    ARM REST body of a Command job (API 2024-04-01)      env ``GENAI_HYPERPARAMETERS``; ``uri_folder``
                                                                   input/output mounted, paths in the command
=============  ==================================================  ============================================

Which backend runs is decided by :func:`choose_backend` from the Param, which connections exist and where
the lake is (the connection-type pattern of ``include/canary/backends``), never by editing code. The
Vertex AI and Azure ML clients (submit, find, read) are in :mod:`include.llm.cloud_jobs`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from include.llm import DAG_ID, MODEL_NAME
from include.llm.config import is_registry_ref
from include.platform.errors import ConfigError

if TYPE_CHECKING:
    from include.llm.config import FineTuneConfig

#: The module every cloud container runs (``python -m``); it lives in the project image.
ENTRY_MODULE = "include.llm.cloud_entry"
ENTRY_COMMAND = ("python", "-m", ENTRY_MODULE)
#: The Params the container needs to train exactly as the local task does (the rest stay in Airflow).
TRAINING_KEYS = ("seed", "base_model", "vocab_size", "block_size", "n_layer", "n_embd", "n_head", "max_steps",
                 "batch_size", "learning_rate", "checkpoint_every", "log_every", "precision", "device", "threads",
                 "lora", "lora_min_parameters", "lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules")
#: Env var through which Vertex AI and Azure ML containers receive the hyper-parameters (JSON object).
HYPERPARAMETERS_ENV = "GENAI_HYPERPARAMETERS"
#: File the entry point writes next to the model: steps, timings, losses (what ``train`` returns locally).
TRAINING_INFO = "training.json"
#: SageMaker's fixed container layout (BYO containers: https://docs.aws.amazon.com/sagemaker/latest/dg/
#: your-algorithms-training-algo-running-container.html).
SAGEMAKER_PREFIX = "/opt/ml"
SAGEMAKER_CHECKPOINTS = "/opt/ml/checkpoints"
#: CreateTrainingJob's TrainingJobName pattern and length (API reference).
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
AZUREML_API_VERSION = "2024-04-01"
ARM = "https://management.azure.com"
BACKENDS_RUN_BY_DAG = ("local", "sagemaker", "vertex", "azureml")


# ------------------------------------------------------------------------------------------ hyper-parameters
def hyperparameters(cfg: FineTuneConfig) -> dict[str, str]:
    """The training knobs as SageMaker wants them: string keys, JSON-encoded string values."""
    return {key: json.dumps(getattr(cfg, key)) for key in TRAINING_KEYS}


def config_from_hyperparameters(hp: Mapping[str, str]) -> FineTuneConfig:
    """Inverse of :func:`hyperparameters` inside the container (unknown keys, e.g. ``sagemaker_*``, ignored).

    Builds the dataclass directly: the container has no Airflow metadata DB, and every value was already
    validated by ``FineTuneConfig.from_params`` in the task that built the request.
    """
    from include.llm.config import FineTuneConfig

    values: dict[str, Any] = {}
    for key in TRAINING_KEYS:
        if key in hp:
            try:
                values[key] = json.loads(hp[key])
            except json.JSONDecodeError as exc:
                raise ConfigError(f"hyper-parameter {key}={hp[key]!r} is not JSON",
                                  "build the request with include.llm.cloud.hyperparameters") from exc
    cfg = FineTuneConfig(**values)
    if cfg.n_embd % cfg.n_head:
        raise ConfigError(f"n_embd {cfg.n_embd} is not a multiple of n_head {cfg.n_head}", "fix the request")
    return cfg


# ----------------------------------------------------------------------------------------------- choosing
#: Lake schemes each cloud backend trains from (fsspec's names: ``gcs``/``gs``, ``abfs``/``abfss``/``az``).
GCS_SCHEMES = ("gs", "gcs")
ABFS_SCHEMES = ("abfs", "abfss", "az")
#: Connection types: the provider hooks' ``conn_type`` (AwsBaseHook, GoogleBaseHook, AzureBaseHook).
CONN_TYPES = {"aws": "aws", "gcp": "google_cloud_platform", "azure": "azure"}
_CONN_VARIABLE = {"aws": "genai_llm_training_aws_conn_id (default aws_training)",
                  "gcp": "genai_llm_training_gcp_conn_id (default gcp_training)",
                  "azure": "genai_llm_training_azure_conn_id (default azureml_training)"}
_LAKE_FIX = {"sagemaker": ("S3", "SageMaker reads its input channels from S3: set Variable genai_lake_root to "
                           "s3://bucket/prefix (and genai_lake_conn_id)"),
             "vertex": ("Cloud Storage", "Vertex AI mounts the lake through Cloud Storage FUSE: set Variable "
                        "genai_lake_root to gs://bucket/prefix (and genai_lake_conn_id)"),
             "azureml": ("Azure Blob/ADLS", "Azure ML mounts the lake as a uri_folder: set Variable genai_lake_root "
                         "to abfs://container/prefix (and genai_lake_conn_id)")}
_NEEDS = {"sagemaker": ("aws", ("s3",)), "vertex": ("gcp", GCS_SCHEMES), "azureml": ("azure", ABFS_SCHEMES)}


def choose_backend(requested: str, existing: Mapping[str, str | None], lake_scheme: str = "s3") -> str:
    """``local`` / ``sagemaker`` / ``vertex`` / ``azureml`` from the Param, the connections and the lake.

    ``existing`` maps ``aws`` / ``gcp`` / ``azure`` to the conn_type of the configured training connection
    (Variables ``genai_llm_training_{aws,gcp,azure}_conn_id``), or None when it is not defined (a missing
    key counts as None); ``lake_scheme`` is the lake root's scheme (each cloud reads the run's blocks from
    its own storage). ``auto`` picks the first cloud whose connection exists with the right type *and*
    whose storage holds the lake — SageMaker (aws + s3://), Vertex AI (google_cloud_platform + gs://),
    Azure ML (azure + abfs://) — else local; a forced cloud that cannot run fails at once, naming the fix.
    """
    if requested == "local":
        return "local"
    if requested in _NEEDS:
        key, schemes = _NEEDS[requested]
        conn_type = existing.get(key)
        if conn_type != CONN_TYPES[key]:
            raise ConfigError(f"training_backend={requested} but the training {key} connection "
                              f"{'is missing' if conn_type is None else f'has type {conn_type!r}'}",
                              f"add a {CONN_TYPES[key]} connection named by Variable {_CONN_VARIABLE[key]} "
                              "or choose training_backend=local")
        if lake_scheme not in schemes:
            store, fix = _LAKE_FIX[requested]
            raise ConfigError(f"training_backend={requested} but the lake is on {lake_scheme}://, not {store}",
                              f"{fix}, or choose training_backend=local")
        return requested
    if requested != "auto":
        raise ConfigError(f"training_backend={requested!r} is unknown", "use auto, local, sagemaker, vertex or azureml")
    for backend, (key, schemes) in _NEEDS.items():
        if existing.get(key) == CONN_TYPES[key] and lake_scheme in schemes:
            return backend
    return "local"


def job_name(run_id: str) -> str:
    """A SageMaker-valid, per-run job name (``textgen-ft-`` + 16 hex of the run id): stable across retries."""
    name = f"{MODEL_NAME}-ft-{hashlib.sha256(run_id.encode()).hexdigest()[:16]}"
    assert JOB_NAME.fullmatch(name)
    return name


#: A run's training jobs after the first (one per earlier job that ended Failed/Stopped): name-r2, name-r3 ...
MAX_JOB_ATTEMPTS = 20
#: DescribeTrainingJob statuses (the amazon provider's SageMakerHook.non_terminal_states / training_failed_states).
LIVE_STATES = frozenset({"InProgress", "Stopping"})
ENDED_STATES = frozenset({"Failed", "Stopped"})


def attempt_job_name(base: str, attempt: int) -> str:
    """The run's ``attempt``-th job name: ``base`` first, then ``base-r<attempt>`` (try-independent)."""
    name = base if attempt <= 1 else f"{base}-r{attempt}"
    assert JOB_NAME.fullmatch(name)
    return name


def resume_plan(base: str, describe: Any, *, status: Any = None, ended: frozenset[str] = ENDED_STATES,
                completed: str = "Completed", reason: Any = None, where: str = "SageMaker") -> dict[str, Any]:
    """What a (retried) cloud training attempt does, from the jobs this run already has.

    ``describe(name)`` returns the job's description (SageMaker: DescribeTrainingJob's dict), or None when
    no job has that name. A task retry never knows whether its earlier attempt's job still runs (the
    worker may have died while the job trains on), so it looks before it creates:

    * no job yet → ``{"action": "create", "name": base}``;
    * the latest job is live (``InProgress``/``Stopping``, any state not ended or completed) → ``"attach"``:
      wait for it, never start a second;
    * ``Completed`` → ``"done"``: its result is the task's result;
    * ``Failed``/``Stopped`` → ``"create"`` with the next name (``-r2``, ...): nothing of this run is
      training any more, and a job name can never be reused.

    ``status`` / ``reason`` read a description (default: SageMaker's ``TrainingJobStatus`` /
    ``FailureReason``); ``ended`` and ``completed`` are the cloud's terminal states (Vertex AI and Azure ML
    pass theirs: :data:`VERTEX_ENDED`, :data:`AZUREML_ENDED`).

    Why not the SageMaker provider's ``action_if_job_exists``: it offers "timestamp" (a second job, the
    very thing to avoid) and "fail" (a retry that can never succeed); it has no re-attach.
    """
    status = status or (lambda d: d["TrainingJobStatus"])
    reason = reason or (lambda d: d.get("FailureReason"))
    last: tuple[str, Any] | None = None
    for attempt in range(1, MAX_JOB_ATTEMPTS + 1):
        name = attempt_job_name(base, attempt)
        described = describe(name)
        if described is None:  # every earlier name (if any) ended Failed/Stopped: this one is free
            previous = None if last is None else {"name": last[0], "status": status(last[1]),
                                                  "reason": reason(last[1])}
            return {"action": "create", "name": name, "previous": previous}
        last = (name, described)
        if status(described) not in ended:
            break
    else:
        raise ConfigError(f"training jobs {base} .. {attempt_job_name(base, MAX_JOB_ATTEMPTS)} all failed",
                          f"read the jobs' failure reasons in {where} and fix the cause before a new run")
    name, described = last
    state = status(described)
    return {"action": "done" if state == completed else "attach", "name": name, "status": state}


def _require_scheme(uri: str, scheme: str, what: str, fix: str) -> str:
    if not uri.startswith(f"{scheme}://"):
        raise ConfigError(f"{what} must be a {scheme}:// URI, got {uri!r}", fix)
    return uri.rstrip("/")


def _require(value: str | None, what: str, fix: str) -> str:
    if not value:
        raise ConfigError(f"{what} is not set", fix)
    return value


# ---------------------------------------------------------------------------------------------- SageMaker
def sagemaker_training_job(cfg: FineTuneConfig, *, name: str, data_uri: str, output_uri: str, role_arn: str | None,
                           image: str, run_id: str = "") -> dict[str, Any]:
    """``CreateTrainingJob`` request (the ``config`` of ``SageMakerTrainingOperator``).

    ``data_uri``: the run's ``data/`` folder in the s3:// lake (``train_blocks.parquet`` + ``tokenizer/``);
    ``output_uri``: where SageMaker writes ``<name>/output/model.tar.gz``; checkpoints go beside it
    (``CheckpointConfig``: SageMaker syncs ``/opt/ml/checkpoints`` there, so a restarted job resumes).
    """
    fix_lake = ("SageMaker reads its input channels from S3: put the lake on S3 (Variable genai_lake_root = "
                "s3://bucket/prefix, genai_lake_conn_id = an aws connection)")
    data = _require_scheme(data_uri, "s3", "the run's data folder", fix_lake)
    output = _require_scheme(output_uri, "s3", "the SageMaker output path", fix_lake)
    role = _require(role_arn, "Param sagemaker_role_arn (or Variable genai_llm_sagemaker_role_arn)",
                    "set the IAM role ARN SageMaker assumes for the job")
    image = _require(image, "Variable genai_llm_training_image",
                     "push this project's image to ECR and set the Variable to its URI")
    if is_registry_ref(cfg.base_model):
        raise ConfigError(f"base_model {cfg.base_model!r}: continuing a registry version runs locally only "
                          "(the container cannot read the registry)", "use training_backend=local")
    if not JOB_NAME.fullmatch(name):
        raise ConfigError(f"SageMaker job name {name!r} is invalid", "use include.llm.cloud.job_name(run_id)")

    def channel(channel_name: str, uri: str, content_type: str) -> dict[str, Any]:
        return {"ChannelName": channel_name, "ContentType": content_type, "InputMode": "File",
                "CompressionType": "None",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                                "S3DataDistributionType": "FullyReplicated"}}}

    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File",
                                   "ContainerEntrypoint": list(ENTRY_COMMAND)},
        "RoleArn": role,
        "HyperParameters": hyperparameters(cfg),
        "InputDataConfig": [channel("train", f"{data}/train_blocks.parquet", "application/x-parquet"),
                            channel("tokenizer", f"{data}/tokenizer/", "application/json")],
        "OutputDataConfig": {"S3OutputPath": output},
        "CheckpointConfig": {"S3Uri": f"{output}/checkpoints/{name}", "LocalPath": SAGEMAKER_CHECKPOINTS},
        "ResourceConfig": {"InstanceType": cfg.sagemaker_instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": cfg.cloud_max_runtime_minutes * 60},
        "Environment": {"GENAI_TRAINING_BACKEND": "sagemaker"},
        "Tags": [{"Key": "genai:dag", "Value": DAG_ID}, {"Key": "genai:model", "Value": MODEL_NAME},
                 {"Key": "genai:run", "Value": run_id[:256] or "-"}],
    }


def sagemaker_artifact(description: Mapping[str, Any]) -> str:
    """The model artifact URI of a *completed* training job (``DescribeTrainingJob`` / the operator's XCom)."""
    job = description.get("Training", description)
    status = job.get("TrainingJobStatus")
    if status != "Completed":
        raise ConfigError(f"SageMaker job {job.get('TrainingJobName')} is {status}: "
                          f"{job.get('FailureReason', 'no reason given')}",
                          "read the job's CloudWatch log (/aws/sagemaker/TrainingJobs)")
    uri = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    return _require_scheme(_require(uri, "ModelArtifacts.S3ModelArtifacts of the job", "the job wrote no model"),
                           "s3", "S3ModelArtifacts", "the job's output must be on S3")


# ---------------------------------------------------------------------------------------------- Vertex AI
def gcs_fuse_path(uri: str) -> str:
    """``gs://bucket/key`` → ``/gcs/bucket/key``: where Vertex AI custom training mounts Cloud Storage."""
    return "/gcs/" + _require_scheme(uri, "gs", "a Vertex AI path", "put the lake on gs://")[len("gs://"):]


#: Vertex AI ``JobState`` values after which nothing of the job runs any more (not succeeded).
VERTEX_ENDED = frozenset({"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED",
                          "JOB_STATE_PARTIALLY_SUCCEEDED"})
VERTEX_DONE = "JOB_STATE_SUCCEEDED"
#: Label/tag carrying the task try that created a job: a job that failed under *this* try fails the task
#: (its retry then creates ``-r2``); one that failed under an earlier try is replaced at once.
TRY_LABEL = "genai-try"


def vertex_endpoint(target: Mapping[str, Any]) -> str:
    """The Vertex AI API host of the target's region (``api_endpoint`` overrides it: a private endpoint)."""
    return target.get("api_endpoint") or f"{target.get('region', 'us-central1')}-aiplatform.googleapis.com"


def vertex_parent(target: Mapping[str, Any]) -> str:
    project = _require(target.get("project"), "genai_llm_cloud_training.project", "set the GCP project")
    return f"projects/{project}/locations/{target.get('region', 'us-central1')}"


def vertex_custom_job(cfg: FineTuneConfig, *, name: str, data_uri: str, output_uri: str, image: str,
                      target: Mapping[str, Any], try_number: int = 1) -> dict[str, Any]:
    """A Vertex AI ``CustomJob`` (REST JSON, API v1) for ``JobService.CreateCustomJob``.

    Why a CustomJob through ``google.cloud.aiplatform_v1.JobServiceClient`` and not the google provider's
    ``CreateCustomContainerTrainingJobOperator``: that operator drives the high-level ``aiplatform`` SDK,
    which wraps the job in a TrainingPipeline, stages to a bucket and expects a Vertex Model at the end
    (we register the model in our own registry); the GAPIC client is the documented API itself, takes an
    ``api_endpoint`` (a private endpoint, or the loopback listener the tests use) and lets a retry find
    the run's job by display name before it creates one (:func:`resume_plan`).

    The container reads the blocks and writes the model through Cloud Storage FUSE (``/gcs/<bucket>/``);
    ``baseOutputDirectory`` is the job's output (Vertex sets ``AIP_MODEL_DIR`` = ``<output>/model``, where
    ``--model-dir`` points), so the model folder comes back at ``<output_uri>/model`` in the lake.
    """
    out = _require_scheme(output_uri, "gs", "the Vertex AI output directory", "put the lake on gs://")
    machine: dict[str, Any] = {"machineType": target.get("machine_type", "n1-standard-8")}
    if target.get("accelerator_type"):
        machine |= {"acceleratorType": target["accelerator_type"],
                    "acceleratorCount": int(target.get("accelerator_count", 1))}
    env = {HYPERPARAMETERS_ENV: json.dumps(hyperparameters(cfg), sort_keys=True), "GENAI_TRAINING_BACKEND": "vertex"}
    spec: dict[str, Any] = {
        "workerPoolSpecs": [{
            "machineSpec": machine, "replicaCount": "1",
            "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
            "containerSpec": {
                "imageUri": _require(image, "Variable genai_llm_training_image", "push the image to Artifact Registry"),
                "command": list(ENTRY_COMMAND),
                "args": ["--data-dir", gcs_fuse_path(data_uri), "--model-dir", gcs_fuse_path(f"{out}/model")],
                "env": [{"name": k, "value": v} for k, v in env.items()]}}],
        "baseOutputDirectory": {"outputUriPrefix": out},
        "scheduling": {"timeout": f"{cfg.cloud_max_runtime_minutes * 60}s"},
    }
    if target.get("service_account"):
        spec["serviceAccount"] = target["service_account"]
    if is_registry_ref(cfg.base_model):
        raise ConfigError(f"base_model {cfg.base_model!r}: continuing a registry version runs locally only "
                          "(the container cannot read the registry)", "use training_backend=local")
    vertex_parent(target)  # the project is required
    return {"displayName": name, "jobSpec": spec,
            "labels": {"genai-dag": DAG_ID.replace("_", "-"), "genai-model": MODEL_NAME, TRY_LABEL: str(try_number)}}


# ----------------------------------------------------------------------------------------------- Azure ML
#: Azure ML ``JobStatus`` values after which nothing of the job runs any more (not completed).
AZUREML_ENDED = frozenset({"Failed", "Canceled", "NotResponding"})
AZUREML_DONE = "Completed"


def abfss_uri(lake_uri: str, account: str) -> str:
    """``abfs://container/path`` (the lake as fsspec names it) → ``abfss://container@<account>.dfs.core.windows.net/path``
    (how Azure ML names a storage folder for a ``uri_folder`` input or output)."""
    scheme, _, rest = lake_uri.partition("://")
    if scheme not in ABFS_SCHEMES or not rest:
        raise ConfigError(f"{lake_uri!r} is not an abfs:// lake path", "put the lake on abfs://container/prefix")
    container, _, path = rest.partition("/")
    if "@" in container:  # already abfs://container@account.dfs.core.windows.net/...
        return f"abfss://{container}/{path}".rstrip("/")
    return f"abfss://{container}@{account}.dfs.core.windows.net/{path}".rstrip("/")


def lake_uri_from_abfss(uri: str) -> str:
    """Inverse of :func:`abfss_uri`: ``abfss://container@account.dfs.../path`` → ``abfs://container/path``."""
    match = re.fullmatch(r"abfss?://([^@/]+)@[^/]+/(.*)", uri.rstrip("/"))
    if not match:
        raise ConfigError(f"Azure ML output {uri!r} is not an abfss://container@account... URI",
                          "the job's output must be the lake folder this DAG asked for")
    return f"abfs://{match[1]}/{match[2]}"


def azureml_workspace(target: Mapping[str, Any]) -> str:
    need = {k: _require(target.get(k), f"genai_llm_cloud_training.{k}", "describe the Azure ML workspace")
            for k in ("subscription_id", "resource_group", "workspace")}
    return (f"/subscriptions/{need['subscription_id']}/resourceGroups/{need['resource_group']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{need['workspace']}")


def azureml_job_url(target: Mapping[str, Any], name: str) -> str:
    """The job's ARM URL (``arm_endpoint`` overrides ``https://management.azure.com``: sovereign clouds, tests)."""
    arm = (target.get("arm_endpoint") or ARM).rstrip("/")
    return f"{arm}{azureml_workspace(target)}/jobs/{name}?api-version={AZUREML_API_VERSION}"


def azureml_command_job(cfg: FineTuneConfig, *, name: str, data_uri: str, output_uri: str,
                        target: Mapping[str, Any], try_number: int = 1) -> tuple[str, dict[str, Any]]:
    """``(url, body)`` of the ARM PUT that creates an Azure ML Command job (REST API v2, 2024-04-01).

    ``azure-ai-ml`` is not installed here (the canary's Azure backend speaks ARM REST for the same
    reason), so the body follows the documented ``JobBase``/``CommandJob`` schema: ``jobType``,
    ``command`` with ``${{inputs.data}}`` / ``${{outputs.model}}``, ``environmentId``, ``computeId``,
    ``uri_folder`` input (read-only mount) and output (read-write mount), ``limits.timeout`` (ISO 8601).
    """
    need = {k: _require(target.get(k), f"genai_llm_cloud_training.{k}", "describe the Azure ML workspace")
            for k in ("subscription_id", "resource_group", "workspace", "compute", "environment_id")}
    for uri, what in ((data_uri, "data"), (output_uri, "output")):
        if not uri.startswith(("azureml://", "abfss://", "https://", "wasbs://")):
            raise ConfigError(f"Azure ML {what} URI {uri!r} is not an azureml://, abfss:// or https:// URI",
                              "put the lake on Azure Blob/ADLS (abfs://) and pass its datastore URI")
    if is_registry_ref(cfg.base_model):
        raise ConfigError(f"base_model {cfg.base_model!r}: continuing a registry version runs locally only "
                          "(the container cannot read the registry)", "use training_backend=local")
    ws = azureml_workspace(target)
    url = azureml_job_url(target, name)
    compute = need["compute"] if need["compute"].startswith("/") else f"{ws}/computes/{need['compute']}"
    body = {"properties": {
        "jobType": "Command",
        "displayName": name,
        "experimentName": DAG_ID,
        "command": f"{' '.join(ENTRY_COMMAND)} --data-dir ${{{{inputs.data}}}} --model-dir ${{{{outputs.model}}}}",
        "environmentId": need["environment_id"],
        "computeId": compute,
        "environmentVariables": {HYPERPARAMETERS_ENV: json.dumps(hyperparameters(cfg), sort_keys=True),
                                 "GENAI_TRAINING_BACKEND": "azureml"},
        "inputs": {"data": {"jobInputType": "uri_folder", "uri": data_uri.rstrip("/") + "/", "mode": "ReadOnlyMount"}},
        "outputs": {"model": {"jobOutputType": "uri_folder", "uri": output_uri.rstrip("/") + "/model/",
                              "mode": "ReadWriteMount"}},
        "resources": {"instanceCount": 1},
        "limits": {"jobLimitsType": "Command", "timeout": f"PT{cfg.cloud_max_runtime_minutes}M"},
        "tags": {"genai:dag": DAG_ID, "genai:model": MODEL_NAME, TRY_LABEL: str(try_number)},
    }}
    return url, body
