"""First `make start`: unpause and trigger the DAGs a newcomer needs before anything else.

* ``seed_demo_data`` writes every pipeline's demo input into the lake;
* ``train_sentiment_model`` builds the first ``sentiment@champion`` offline (fine-tuned MiniLM),
  which ``customer_sentiment_analysis`` loads.

Only into the project's default local lake (see include/demo/guard.py): when ``genai_lake_root``
points anywhere else — the bucket a ``.env`` names, say — neither runs, since one would mix demo
records into a real ``raw/`` zone and the other could promote a demo champion over a real one. The
script then exits with :data:`SKIPPED` and says how to seed on purpose; start.sh checks again on the
next start. Every other DAG stays paused (Airflow's default) until you switch it on in the UI.

The REST client logs in the way the stack is set up: anonymously when everyone is admin (loopback),
as the admin user of ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS`` in login mode, or through the
user's own ``AIRFLOW_CONN_AIRFLOW_API``.
"""

from __future__ import annotations

import os
import sys
import time

from include.platform.airflow_api import API_CONN_ID, AirflowAPI, AirflowAPIError

FIRST_RUNS = ("seed_demo_data", "train_sentiment_model")
SKIPPED = 3  # exit status: nothing triggered on purpose (not the default local lake)


def client() -> AirflowAPI:
    """A REST client for the stack start.sh just started (see the module docstring)."""
    if os.environ.get(f"AIRFLOW_CONN_{API_CONN_ID.upper()}"):
        return AirflowAPI.from_settings()
    from scripts.stack_auth import api_credentials

    base = os.environ.get("GENAI_API_CLIENT_URL") or AirflowAPI.from_settings().base_url
    username, password = api_credentials() or (None, None)
    return AirflowAPI(base, username, password)


def setting(api: AirflowAPI, name: str) -> str | None:
    """Variable ``genai_<name>`` as a task will see it: environment / secrets backend, then the metadata DB.

    Outside a task the SDK reads only the environment and external backends, so the DB value
    (``airflow_settings.yaml``, the UI) is asked of the REST API.
    """
    from include.platform.settings import get_setting

    value = get_setting(name)
    if value is None:
        try:
            value = (api.get(f"variables/genai_{name}") or {}).get("value")
        except AirflowAPIError as exc:
            if getattr(exc, "status_code", None) != 404 and "-> 404" not in str(exc):
                raise  # unknown is not "unset": never seed a lake we could not check
            value = None  # not set anywhere
    return value if value and value.strip() else None


def lake_refusal(api: AirflowAPI) -> str | None:
    """Why the demo must not be seeded into the configured lake, or None when it is the default local one."""
    from include.demo.guard import default_lake_path, is_default_local_lake

    lake_root, data_folder = setting(api, "lake_root"), setting(api, "data_dir")
    folder = data_folder or str(default_lake_path().parent)
    if is_default_local_lake(lake_root, folder):
        return None
    return (f"the lake is {lake_root}, not the project's default local lake ({default_lake_path(folder)}).\n"
            "  Demo data would land in a real lake (and train_sentiment_model could promote a demo champion),\n"
            "  so neither runs. To seed it on purpose, trigger seed_demo_data with allow_other_lake=true\n"
            "  (existing objects are never overwritten).")


def wait_parsed(api: AirflowAPI, dag_id: str, deadline: float) -> bool:
    while True:
        try:
            api.get(f"dags/{dag_id}")
            return True
        except AirflowAPIError:
            if time.monotonic() > deadline:
                return False
            time.sleep(2)


def main(timeout: float = 180.0, dag_ids: tuple[str, ...] = FIRST_RUNS) -> int:
    api = client()
    refusal = lake_refusal(api)
    if refusal:
        print(f"Skipped the first-start runs: {refusal}")
        return SKIPPED
    deadline = time.monotonic() + timeout
    rc = 0
    for dag_id in dag_ids:
        if not wait_parsed(api, dag_id, deadline):
            print(f"{dag_id} was not parsed within {timeout:.0f}s; see logs/dag-processor.log", file=sys.stderr)
            rc = 1
            continue
        api.patch(f"dags/{dag_id}", {"is_paused": False})
        run = api.post(f"dags/{dag_id}/dagRuns", {"logical_date": None, "conf": {}})
        print(f"Triggered {dag_id}: run {run['dag_run_id']} (watch it in the UI)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
