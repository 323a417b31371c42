"""Shared by the sentiment e2e tests: the offline champion, trained ONCE per test session.

Training is the expensive part (minutes on 2 shared cores), so the train_sentiment_model DAG runs
once, in a private lake, with small settings; the registered version is downloaded to a session
folder and re-registered as ``sentiment@champion`` in each test's own lake (a file copy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pendulum
import pytest

# No hub here: transformers / huggingface_hub must never try the network (read at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TRAIN_DAY = pendulum.datetime(2026, 11, 20, tz="UTC")
#: A smaller budget than the DAG's defaults (fewer real rows), still scored on the full cross-domain test set and
#: still required to beat the lexicon; the generated supplement (template-disjoint) keeps the demo DAGs' language.
FAST_TRAIN_CONF = {"corpus_sources": "all", "train_rows": 1000, "examples": 200, "epochs": 1, "batch_size": 32,
                   "learning_rate": 1e-4, "max_length": 96, "trainable_layers": 6, "class_weights": True,
                   "threads": 2, "seed": 7, "min_macro_f1": 0.40, "student_layers": 3, "student_rows": 800,
                   "student_epochs": 1}


#: customer_sentiment_analysis Params at their defaults. dag.test() runs tasks in this process and
#: Airflow 3.3's process_params writes a run's conf into the DAG's shared Param objects, so a value
#: from one test's run_conf (backend=llm, a refused model) would leak into the next run that omits
#: it; every sentiment test passes these first.
SCORING_DEFAULTS = {"backend": "transformers", "model": "", "runtime": "auto", "precision": "auto", "device": "auto",
                    "llm_conn_id": "sentiment_llm", "llm_model_id": ""}
#: train_sentiment_model's Params that select inputs, at their defaults (same reason).
TRAINING_DEFAULTS = {"base_model": "", "labeled_csv_uri": ""}


@dataclass(frozen=True)
class TrainedChampion:
    run_state: str
    task_states: dict[str, str]
    version: str
    metrics: dict[str, float]
    metadata: dict
    aliases: dict[str, str]
    local_dir: Path
    run_id: str = ""
    #: a copy of the run's lake report folder (reports/sentiment_training/v<version>/)
    report_dir: Path | None = None


_CACHE: dict[str, TrainedChampion] = {}


def task_states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        tis = s.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state for ti in tis}


def task_tries(dag_id: str, run_id: str) -> dict[str, int]:
    """``try_number`` per task of a run: 1 on a failed task means it failed at once, without retries."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        tis = s.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.try_number for ti in tis}


def failure_errors(caplog, dag_id: str, task_id: str) -> list[str]:
    """The errors named by the failure alerts (every DAG's on_failure_callback) for one task."""
    subject = f"Task failed: {dag_id}.{task_id}"
    return [r.getMessage() for r in caplog.records if subject in r.getMessage() and "Error:" in r.getMessage()]


def _train(dagbag, root: Path) -> TrainedChampion:
    from include.platform import registry

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_VAR_GENAI_DATA_DIR", str(data))
        mp.delenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", raising=False)
        mp.delenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", raising=False)
        run = dagbag.get_dag("train_sentiment_model").test(logical_date=TRAIN_DAY,
                                                            run_conf=TRAINING_DEFAULTS | FAST_TRAIN_CONF)
        states = task_states("train_sentiment_model", run.run_id)
        mv = registry.resolve("sentiment@champion")
        _, local = registry.download("sentiment@champion", cache_dir=root / "champion")
        from include.platform import storage

        report_dir = root / "report"
        report_dir.mkdir(exist_ok=True)
        lake_report = storage.lake_path("reports", "sentiment_training", f"v{mv.version}")
        for name in ("report.md", "evaluation.json"):
            (report_dir / name).write_text(storage.read_text(lake_report / name))
        return TrainedChampion(run_state=run.state, task_states=states, version=mv.version, metrics=mv.metrics,
                               metadata=mv.metadata, aliases=registry.aliases("sentiment"), local_dir=local,
                               run_id=run.run_id, report_dir=report_dir)


@pytest.fixture(scope="session")
def trained_sentiment(airflow_db, dagbag, tmp_path_factory) -> TrainedChampion:
    if "champion" not in _CACHE:
        _CACHE["champion"] = _train(dagbag, tmp_path_factory.mktemp("sentiment-train"))
    return _CACHE["champion"]


def install_champion(trained: TrainedChampion):
    """Register the session's trained model as sentiment@champion in the current (per-test) lake."""
    from include.platform import registry

    return registry.register_model("sentiment", trained.local_dir, metrics=trained.metrics,
                                   metadata=trained.metadata, alias="champion")
