"""``SageMakerFineTuneOperator``: the amazon provider's ``SageMakerTrainingOperator``, imported when the task runs;
``CloudTrainingSensor``: the Vertex AI / Azure ML training job of the run, submitted and waited for (end of file).

Why a wrapper and not the provider's class in the DAG file: importing
``airflow.providers.amazon.aws.operators.sagemaker`` pulls boto3/botocore, measured at 0.45 s here — over
the 0.2 s parse budget every DAG file keeps (tests/dags/test_dag_integrity.py). This operator holds the
same arguments, builds the provider's operator on the worker and delegates ``execute`` and
``execute_complete`` to it, so the provider does the work: create the job, then either poll
(``deferrable=False``) or hand the wait to the provider's ``SageMakerTrigger`` on the triggerer
(``deferrable=True``, the default here). The provider's ``TaskDeferred`` names ``execute_complete``, which
this class forwards; its return value (XCom) is the provider's: ``{"Training": <DescribeTrainingJob>}``.

**A retried attempt never starts a second job while the first may still run.** The job name is the run's
(:func:`include.llm.cloud.job_name`: the same for every try). Before creating anything this operator
describes the run's jobs (:func:`include.llm.cloud.resume_plan`): a job still ``InProgress`` is re-attached
(the same trigger, or polling), a ``Completed`` one is the result, and only after ``Failed``/``Stopped`` is a
next job (``<name>-r2``) created. The provider's own ``action_if_job_exists`` is set to ``"fail"``: its
default ("timestamp") would silently start a second, parallel job with a new name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, BaseSensorOperator, PokeReturnValue


class SageMakerFineTuneOperator(BaseOperator):
    template_fields: Sequence[str] = ("config", "aws_conn_id")
    template_fields_renderers = {"config": "json"}
    ui_color = "#ededed"

    def __init__(self, *, config: Any, aws_conn_id: Any = "aws_default", deferrable: bool = True,
                 print_log: bool = True, check_interval: int = 60, max_ingestion_time: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.aws_conn_id = aws_conn_id
        self.deferrable = deferrable
        self.print_log = print_log
        self.check_interval = check_interval
        self.max_ingestion_time = max_ingestion_time

    def provider_operator(self) -> Any:
        """The provider's operator with this task's (rendered) arguments."""
        from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator

        return SageMakerTrainingOperator(
            task_id=self.task_id, config=dict(self.config), aws_conn_id=self.aws_conn_id, deferrable=self.deferrable,
            print_log=self.print_log, check_interval=self.check_interval, max_ingestion_time=self.max_ingestion_time,
            execution_timeout=self.execution_timeout, action_if_job_exists="fail")

    @staticmethod
    def _as_task_runner(operator: Any) -> dict[str, Any]:
        # BaseOperator's ExecutorSafeguard logs "cannot be called outside of the Task Runner" when an
        # operator's execute is called by another operator; the Task Runner passes this sentinel. We are
        # inside the Task Runner's call of *this* operator, so pass it on (no behaviour change, no noise).
        from airflow.sdk.bases.operator import ExecutorSafeguard

        return {f"{type(operator).__name__}__sentinel": ExecutorSafeguard.sentinel_value}

    @staticmethod
    def _describer(hook: Any) -> Any:
        """``describe(name)``: DescribeTrainingJob's dict, or None when no job has that name."""
        from botocore.exceptions import ClientError

        def describe(name: str) -> dict[str, Any] | None:
            try:
                return hook.describe_training_job(name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ValidationException":  # "not found"
                    return None
                raise

        return describe

    def execute(self, context: Any) -> dict[str, Any]:
        from include.llm.cloud import resume_plan

        operator = self.provider_operator()
        plan = resume_plan(operator.config["TrainingJobName"], self._describer(operator.hook))
        ti = context.get("ti")
        self.log.info("try %s: %s", getattr(ti, "try_number", "?"), plan)
        if plan["action"] == "done":
            self.log.info("job %s of this run already completed: taking its result", plan["name"])
            return operator.serialize_result(plan["name"])
        if plan["action"] == "attach":
            return self._attach(operator, plan["name"])
        if plan.get("previous"):
            self.log.warning("this run's job %s ended %s (%s): starting %s", plan["previous"]["name"],
                             plan["previous"]["status"], plan["previous"]["reason"], plan["name"])
        operator.config["TrainingJobName"] = plan["name"]
        return operator.execute(context, **self._as_task_runner(operator))

    def _attach(self, operator: Any, name: str) -> dict[str, Any]:
        """Wait for a job an earlier try started: the provider's trigger (deferrable) or its poll loop."""
        self.log.info("job %s of this run is still running: re-attaching instead of starting another", name)
        if self.deferrable:
            from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger

            self.defer(trigger=SageMakerTrigger(job_name=name, job_type="Training", waiter_delay=self.check_interval,
                                                waiter_max_attempts=operator.max_attempts,
                                                aws_conn_id=self.aws_conn_id),
                       method_name="execute_complete", timeout=self.execution_timeout)
        hook = operator.hook
        done = hook.check_status(name, "TrainingJobStatus", hook.describe_training_job, self.check_interval,
                                 self.max_ingestion_time)
        if done["TrainingJobStatus"] != "Completed":  # check_status fails on "Failed" only, not on "Stopped"
            raise RuntimeError(f"SageMaker training job {name} ended {done['TrainingJobStatus']}")
        return operator.serialize_result(name)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.provider_operator().execute_complete(context, event)


class CloudTrainingSensor(BaseSensorOperator):
    """``vertex_train`` / ``azureml_train``: submit the run's Vertex AI custom job or Azure ML command job and
    wait for it, one plan per poke (:func:`include.llm.steps.cloud_train`).

    Meant for ``mode="reschedule"`` (the default here): between pokes the task holds no worker slot, and
    every poke re-reads the cloud's view of the run's jobs, so a reschedule, a retry or a dead worker
    re-attaches to the job instead of starting a second one. The XCom is the completed job (backend, name,
    status, model folder in the lake). A subclass of the SDK's ``BaseSensorOperator`` rather than
    ``@task.sensor``: that decorator imports the standard provider's ``PythonSensor``, which warns about a
    deprecated Airflow import at every parse.
    """

    template_fields: Sequence[str] = ("prepared",)
    ui_color = "#e8f0fe"

    def __init__(self, *, backend: str, prepared: Any, mode: str = "reschedule", **kwargs: Any) -> None:
        if backend not in ("vertex", "azureml"):
            raise ValueError(f"CloudTrainingSensor backend {backend!r}: vertex or azureml")
        super().__init__(mode=mode, **kwargs)
        self.backend = backend
        self.prepared = prepared

    def poke(self, context: Any) -> PokeReturnValue:
        from include.llm import steps
        from include.llm.config import FineTuneConfig

        job = steps.cloud_train(FineTuneConfig.from_params(context["params"]), self.backend, dict(self.prepared),
                                context)
        return PokeReturnValue(is_done=job is not None, xcom_value=job)
