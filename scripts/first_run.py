"""First `make start`: wait for seed_demo_data to be parsed, unpause it and trigger one run."""

from __future__ import annotations

import sys
import time

from include.platform.airflow_api import AirflowAPI, AirflowAPIError

DAG_ID = "seed_demo_data"


def main(timeout: float = 180.0) -> int:
    api = AirflowAPI.from_settings()
    deadline = time.monotonic() + timeout
    while True:
        try:
            api.get(f"dags/{DAG_ID}")
            break
        except AirflowAPIError:
            if time.monotonic() > deadline:
                print(f"{DAG_ID} was not parsed within {timeout:.0f}s; see logs/dag-processor.log", file=sys.stderr)
                return 1
            time.sleep(2)
    api.patch(f"dags/{DAG_ID}", {"is_paused": False})
    run = api.post(f"dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})
    print(f"Triggered {DAG_ID}: run {run['dag_run_id']} (watch it in the UI)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
