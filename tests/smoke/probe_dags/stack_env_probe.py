"""Test-only DAG: what a task process of the running stack really sees.

Loaded by the stack-security smoke tests as a second DAG bundle (never from ``dags/``). Its one task
writes its own ``os.environ`` and the outcome of a call through the project's REST client
(``AirflowAPI.from_settings()``, as the cost and autoscaling tasks use it) to the file named by the
``out`` Param (mode 0600), for the test to inspect.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(dag_id="stack_env_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     tags=["test"], params={"out": Param("", type="string", description="File the task writes its report to.")})
def stack_env_probe():
    @task
    def report(params=None) -> str:
        import json
        import os

        from include.platform.airflow_api import AirflowAPI

        out: dict = {"pid": os.getpid(), "environ": dict(os.environ)}
        try:
            out["api"] = {"ok": True, "pools": [p["name"] for p in AirflowAPI.from_settings().paginate("pools", "pools")]}
        except Exception as exc:  # noqa: BLE001 - the test reads the failure
            out["api"] = {"ok": False, "error": repr(exc)}
        fd = os.open(params["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(out, fh)
        return params["out"]

    report()


stack_env_probe()
