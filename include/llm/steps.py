"""The tasks of ``llm_fine_tuning``, one step function each: what a task does, given its typed config.

:func:`prepare` → :func:`backend` (branch) → :func:`train` | (:func:`sagemaker_job` → the SageMaker
operator → :func:`sagemaker_model`) | (:func:`cloud_train` → :func:`cloud_model`, Vertex AI or Azure ML) →
:func:`trained_model` → :func:`evaluate` → :func:`gate` (branch) →
:func:`promote` | :func:`hand_to_canary` | :func:`investigate`.

The work lives in :mod:`include.llm.pipeline` (lake I/O around the pure modules) and
:mod:`include.llm.cloud` (the cloud requests); this module decides what runs, fails or branches, and what
goes to XCom, alerts and asset events. Both training paths return the same dict (``model_uri`` in the
lake + steps, timings, losses), so ``evaluate`` and ``gate`` do not know where training ran. The gate's
third branch, :func:`hand_to_canary` (``promotion=canary``), hands a passing challenger to
``canary_deploy`` (serving kind ``textgen``), which alone moves ``textgen@champion``.

Import-light at module level.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from include.llm import MODEL_NAME

if TYPE_CHECKING:
    from include.llm.config import FineTuneConfig

log = logging.getLogger(__name__)


def prepare(cfg: FineTuneConfig, context: dict[str, Any]) -> dict[str, Any]:
    """Validate the corpus (GX; quarantine with file, line, reason), tokenizer, packed blocks in the lake."""
    from include.llm import pipeline
    from include.platform.runtime import run_date

    return pipeline.prepare(cfg, run_date(context), context["run_id"])


def train(cfg: FineTuneConfig, prepared: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Train with checkpoints in the run's folder; a retried attempt resumes from the last checkpoint.

    Drill ``drill_crash_after_steps`` (> 0) makes the *first* attempt die after that many steps, so the
    retry's resume can be watched on a real stack.
    """
    from include.llm import pipeline

    ti = context.get("ti")
    first_try = getattr(ti, "try_number", 1) <= 1
    crash = cfg.drill_crash_after_steps if cfg.drill_crash_after_steps and first_try else None
    return pipeline.train(cfg, prepared, context["run_id"], crash_after=crash)


#: The branch each backend takes (task ids of the DAG).
BRANCH = {"local": "train", "sagemaker": "sagemaker_job", "vertex": "vertex_train", "azureml": "azureml_train"}


def backend(cfg: FineTuneConfig) -> str:
    """Where training runs (Param ``training_backend``, which connections exist, the lake's scheme): the
    branch's task id."""
    from include.llm import cloud
    from include.platform import storage
    from include.platform.connections import connection_type

    conns = {"aws": cfg.training_aws_conn_id, "gcp": cfg.training_gcp_conn_id, "azure": cfg.training_azure_conn_id}
    existing = {key: connection_type(conn_id) for key, conn_id in conns.items()}
    lake_scheme = storage.lake_root().protocol
    lake_scheme = lake_scheme[0] if isinstance(lake_scheme, (tuple, list)) else lake_scheme
    chosen = cloud.choose_backend(cfg.training_backend, existing, lake_scheme)
    log.info("training_backend=%s, connections %s, lake on %s:// → %s", cfg.training_backend,
             {conns[k]: v or "absent" for k, v in existing.items()}, lake_scheme,
             "training here" if chosen == "local" else f"a {chosen} training job")
    return BRANCH[chosen]


def sagemaker_job(cfg: FineTuneConfig, prepared: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request from the config (channels = the run's packed blocks) + its connection."""
    from include.llm import cloud, pipeline
    from include.platform import storage

    run_id = context["run_id"]
    config = cloud.sagemaker_training_job(
        cfg, name=cloud.job_name(run_id), data_uri=storage.path_from_uri(prepared["data_uri"]).as_uri(),
        output_uri=pipeline.run_folder(run_id, "sagemaker").as_uri(), role_arn=cfg.sagemaker_role_arn,
        image=cfg.training_image, run_id=run_id)
    return {"config": config, "aws_conn_id": cfg.training_aws_conn_id}


def sagemaker_model(cfg: FineTuneConfig, job: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The completed job's ``S3ModelArtifacts`` → the run's model folder; what :func:`train` returns."""
    from include.llm import cloud, pipeline

    artifact = cloud.sagemaker_artifact(job)
    fetched = pipeline.fetch_cloud_model(artifact, cfg.training_aws_conn_id, context["run_id"],
                                         job["Training"]["TrainingJobName"])
    return fetched | {"backend": "sagemaker"}


def _azure_account(target: dict[str, Any]) -> str:
    """The storage account of the abfs:// lake, as Azure ML names it: target ``storage_account``, else the lake
    connection's (``account_name`` extra, ``AccountName`` of its connection string, or its login)."""
    from include.platform.connections import lookup
    from include.platform.errors import ConfigError
    from include.platform.settings import get_setting

    if target.get("storage_account"):
        return str(target["storage_account"])
    conn_id = get_setting("lake_conn_id")
    conn = lookup(conn_id) if conn_id else None
    if conn is not None:
        extra = conn.extra_dejson
        parts = dict(p.split("=", 1) for p in str(extra.get("connection_string", "")).split(";") if "=" in p)
        account = extra.get("account_name") or parts.get("AccountName") or conn.login
        if account:
            return str(account)
    raise ConfigError("the Azure storage account of the abfs:// lake is unknown",
                      "set storage_account in Variable genai_llm_cloud_training (or give the lake connection "
                      "an account name)")


def cloud_train(cfg: FineTuneConfig, backend: str, prepared: dict[str, Any], context: dict[str, Any]
                ) -> dict[str, Any] | None:
    """One poke of ``vertex_train`` / ``azureml_train`` (reschedule-mode sensor): plan from what the cloud
    holds, then create, wait or finish. None = not done yet; else the completed job (what ``*_model`` fetches).

    Every poke looks before it acts (:func:`include.llm.cloud.resume_plan`), so a reschedule, a retry or a
    dead worker re-attaches to the run's job instead of starting a second one. A job that ended
    Failed/Cancelled under *this* task try fails the task (reason in the error); one that ended under an
    earlier try is replaced by the next name (``-r2``). A job still running ``cloud_max_runtime_minutes``
    (+ 30 min for queueing) after it was created fails the task: the cloud's own limit should have stopped it.
    """
    from datetime import UTC, datetime

    from include.llm import cloud, cloud_jobs, pipeline
    from include.platform import storage

    run_id = context["run_id"]
    try_number = str(getattr(context.get("ti"), "try_number", 1))
    conn_id = cfg.training_gcp_conn_id if backend == "vertex" else cfg.training_azure_conn_id
    jobs = cloud_jobs.jobs_for(backend, conn_id, dict(cfg.cloud_target))
    plan = cloud.resume_plan(cloud.job_name(run_id), jobs.describe, status=jobs.status, ended=jobs.ended,
                             completed=jobs.completed, reason=jobs.reason, where=jobs.where)
    if plan["action"] == "done":
        described = jobs.describe(plan["name"])
        log.info("%s job %s completed", backend, plan["name"])
        return {"backend": backend, "job": plan["name"], "status": plan["status"],
                "model_folder": jobs.model_folder(described)}
    if plan["action"] == "attach":
        described = jobs.describe(plan["name"])
        created = jobs.created(described)
        limit_s = (cfg.cloud_max_runtime_minutes + 30) * 60
        if created is not None and (datetime.now(UTC) - created).total_seconds() > limit_s:
            raise TimeoutError(f"{backend} job {plan['name']} is still {plan['status']} "
                               f"{cfg.cloud_max_runtime_minutes + 30} min after it was created "
                               "(cloud_max_runtime_minutes + 30): cancel it in the console and look at its logs")
        log.info("%s job %s is %s: waiting (try %s)", backend, plan["name"], plan["status"], try_number)
        return None
    previous = plan.get("previous")
    if previous:
        if jobs.try_of(jobs.describe(previous["name"]) or {}) == try_number:
            raise RuntimeError(f"{backend} job {previous['name']} ended {previous['status']}: "
                               f"{previous['reason'] or 'no reason given'} (read its logs in {jobs.where}; "
                               f"a retry of this task starts {plan['name']})")
        log.warning("this run's %s job %s ended %s (%s) under an earlier try: starting %s", backend,
                    previous["name"], previous["status"], previous["reason"], plan["name"])
    data = storage.path_from_uri(prepared["data_uri"]).as_uri()
    output = (pipeline.run_folder(run_id, backend) / plan["name"]).as_uri()
    target = dict(cfg.cloud_target)
    if backend == "vertex":
        body = cloud.vertex_custom_job(cfg, name=plan["name"], data_uri=data, output_uri=output,
                                       image=cfg.training_image, target=target, try_number=int(try_number))
    else:
        account = _azure_account(target)
        _, body = cloud.azureml_command_job(cfg, name=plan["name"], data_uri=cloud.abfss_uri(data, account),
                                            output_uri=cloud.abfss_uri(output, account), target=target,
                                            try_number=int(try_number))
    created = jobs.create(plan["name"], body)
    log.info("%s job %s created (%s), output %s", backend, plan["name"], created.get("name", plan["name"]), output)
    return None


def cloud_model(job: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The completed Vertex AI / Azure ML job's model folder (in the lake) → the run's model folder;
    what :func:`train` returns (like :func:`sagemaker_model`, without the archive)."""
    from include.llm import pipeline

    fetched = pipeline.fetch_cloud_model_folder(job["model_folder"], context["run_id"], job["job"])
    return fetched | {"backend": job["backend"]}


def trained_model(local: dict[str, Any] | None, cloud: dict[str, Any] | None,
                  context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Join of the two training branches: the one that ran (the other was skipped and returns None).

    Training is where this DAG spends compute, so the join says so on ``compute_spent`` (cloud_cost_report
    runs on it): which backend and device, the training seconds and steps.
    """
    if local is not None:  # train is a GPUJobOperator: its XCom wraps the training result with the placement
        local = local["result"] | {"placement": {k: local.get(k) for k in ("mode", "gpus", "fallback_reason")}}
    trained = local or cloud
    if not trained:
        raise RuntimeError("neither the local nor the cloud training branch produced a model")
    if context is not None:
        from include.platform import assets, compute

        seconds = trained.get("train_seconds")
        compute.emit(context, assets.COMPUTE_SPENT, device=trained.get("device"),
                     steps_s={"train": seconds} if seconds is not None else {},
                     backend=trained.get("backend", "local"), model=MODEL_NAME, train_steps=trained.get("steps"))
    return trained


def evaluate(cfg: FineTuneConfig, prepared: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """Held-out perplexity of the challenger and the champion, generations; registers the challenger."""
    from include.llm import pipeline

    return pipeline.evaluate(cfg, prepared, trained)


def gate(cfg: FineTuneConfig, evaluated: dict[str, Any], context: dict[str, Any]) -> str:
    """Apply the verdict (lifecycle); the task id of the branch to follow: ``promote`` or ``investigate``."""
    from include.llm.gate import gate_and_promote

    decision = gate_and_promote(MODEL_NAME, evaluated, cfg, context)
    if decision["handed_to_canary"]:
        return "hand_to_canary"
    return "promote" if decision["promoted"] else "investigate"


def hand_to_canary(evaluated: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Name the exact version on ``challenger_registered`` (what adaptive_retraining's hand_to_canary does);
    the champion stays until canary_deploy decides. ``serving_kind`` tells the canary how to serve it."""
    from include.platform import assets, registry

    mv = registry.get_version(MODEL_NAME, evaluated["version"])
    if str(mv.status) != "challenger":
        raise RuntimeError(f"{mv.ref} is {mv.status}, not a challenger the gate handed over")
    extra = {"model": MODEL_NAME, "version": mv.version, "kind": "model", "serving_kind": "textgen",
             "status": str(mv.status), "decision": mv.status_details.get("decision"),
             "metrics": mv.status_details.get("metrics", {})}
    context["outlet_events"][assets.CHALLENGER_REGISTERED].extra = extra
    log.info("%s handed to canary_deploy (champion %s stays until the canary decides)", mv.ref,
             registry.aliases(MODEL_NAME).get("champion"))
    return extra | {"reasons": mv.status_details.get("reasons", [])}


def promote(evaluated: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Announce the new champion: the ``textgen_model`` event carries the lifecycle's extra."""
    from include.llm import TEXTGEN_MODEL
    from include.platform import registry

    mv = registry.get_version(MODEL_NAME, evaluated["version"])
    extra = {"model": MODEL_NAME, "version": mv.version, "kind": "model", "status": mv.status,
             "decision": mv.status_details.get("decision"), "metrics": mv.status_details.get("metrics", {})}
    context["outlet_events"][TEXTGEN_MODEL].extra = extra
    return extra | {"reasons": mv.status_details.get("reasons", [])}


def investigate(evaluated: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """A rejected challenger: alert with the gate's reasons, the numbers and where the report is."""
    from include.platform import registry
    from include.platform.notify import Alert, send_alert

    mv = registry.get_version(MODEL_NAME, evaluated["version"])
    reasons = mv.status_details.get("reasons", [])
    m = evaluated["metrics"]
    body = "\n".join([f"{MODEL_NAME}/{mv.version} was rejected by the gate ({mv.status}):", *[f"- {r}" for r in reasons],
                      f"Held-out perplexity {m['perplexity']:.2f} (word {m['perplexity_word']:.2f}), "
                      f"repetition {m['repetition_rate']:.3f}, distinct-2 {m['distinct_2']:.3f}.",
                      f"Report and generations: {evaluated.get('report_uri')}",
                      "Look at the training loss in the train task's log, the quarantine and the report; "
                      "more steps or data usually help."])
    delivery = send_alert(Alert(subject=f"llm_fine_tuning: investigate {MODEL_NAME}/{mv.version}", body=body,
                                severity="warning", kind=f"investigate:{MODEL_NAME}/{mv.version}"), context)
    return {"version": mv.version, "status": str(mv.status), "reasons": reasons, "alert": delivery.to_dict()}
