"""First `make start`: unpause and trigger the DAGs a newcomer needs before anything else.

* ``seed_demo_data`` writes every pipeline's demo input into the lake;
* ``train_sentiment_model`` builds the first ``sentiment@champion`` offline (fine-tuned MiniLM),
  which ``customer_sentiment_analysis`` loads.

Every other DAG stays paused (Airflow's default) until you switch it on in the UI.
"""

from __future__ import annotations

import sys
import time

from include.platform.airflow_api import AirflowAPI, AirflowAPIError

FIRST_RUNS = ("seed_demo_data", "train_sentiment_model")


def wait_parsed(api: AirflowAPI, dag_id: str, deadline: float) -> bool:
    while True:
        try:
            api.get(f"dags/{dag_id}")
            return True
        except AirflowAPIError:
            if time.monotonic() > deadline:
                return False
            time.sleep(2)


def main(timeout: float = 180.0) -> int:
    api = AirflowAPI.from_settings()
    deadline = time.monotonic() + timeout
    rc = 0
    for dag_id in FIRST_RUNS:
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
