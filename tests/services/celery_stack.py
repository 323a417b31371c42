"""Airflow on PostgreSQL + CeleryExecutor (Redis broker) with two workers, started like `make start`.

The stack is the project's own start script with different settings, so what the service suite
proves is what a user gets from the README's "Beyond one laptop" recipe.
"""

from __future__ import annotations

import os
import random
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures.local_stack import StackClient

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres@127.0.0.1:5432"


def _admin_sql(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"postgresql://{PG}/postgres")
    conn.autocommit = True
    try:
        conn.cursor().execute(statement)
    finally:
        conn.close()


@dataclass
class CeleryStack(StackClient):
    root: Path
    port: int
    env: dict[str, str]
    databases: list[str] = field(default_factory=list)
    redis_db: int = 0

    @property
    def api(self) -> str:
        return f"http://localhost:{self.port}/api/v2"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def worker_processes(self, index: int) -> list:
        """Celery worker ``index``'s main process and every descendant (pool, task supervisors, tasks).

        Celery retitles its main process ``[celeryd: worker<i>@host:MainProcess]`` (overwriting the
        original command line and environment block), so that title is what identifies it.
        """
        import psutil

        pgid = int((self.root / "home" / "airflow.pgid").read_text())
        title = f"[celeryd: worker{index}@"
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                if os.getpgid(proc.pid) == pgid and " ".join(proc.info["cmdline"] or []).startswith(title):
                    return [proc, *proc.children(recursive=True)]
            except (psutil.Error, ProcessLookupError):
                continue
        raise RuntimeError(f"no main process of worker{index} in process group {pgid}")


def start_stack(tmp: Path, port: int) -> CeleryStack:
    suffix = uuid.uuid4().hex[:8]
    meta_db, wh_db = f"genai_af_{suffix}", f"genai_wh_{suffix}"
    for db in (meta_db, wh_db):
        _admin_sql(f"CREATE DATABASE {db}")
    redis_db = random.randint(1, 15)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_")) and k != "AIRFLOW_HOST"}
    env.update({
        "AIRFLOW_HOME": str(tmp / "home"),
        "AIRFLOW_PORT": str(port),
        "GENAI_LOG_DIR": str(tmp / "logs"),
        "GENAI_SKIP_DEMO_SEED": "1",
        "AIRFLOW_VAR_GENAI_DATA_DIR": str(tmp / "data"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{PG}/{meta_db}",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{PG}/{meta_db}",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "include.platform.runtime.worker_hostname",
        # A lost worker's tasks are noticed after this many seconds without a heartbeat (default 300).
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        # The warehouse moves to Postgres by connection only.
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": f"postgresql://{PG}/{wh_db}",
        "GENAI_CELERY_WORKERS": "2",
        "GENAI_CELERY_CONCURRENCY": "2",
    })
    stack = CeleryStack(root=tmp, port=port, env=env, databases=[meta_db, wh_db], redis_db=redis_db)
    proc = subprocess.run(["bash", "scripts/start.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        stop_stack(stack)
        raise RuntimeError(f"stack did not start:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return stack


def stop_stack(stack: CeleryStack) -> bool:
    """Stop the stack, drop its databases and Redis keys; True when no process of it survived."""
    pgid_file = stack.root / "home" / "airflow.pgid"
    pgid = pgid_file.read_text().strip() if pgid_file.exists() else None
    stop = subprocess.run(["bash", "scripts/stop.sh"], cwd=ROOT, env=stack.env, capture_output=True, text=True,
                          timeout=180)
    out = subprocess.run(["ps", "-eo", "pgid=,stat=,cmd="], capture_output=True, text=True).stdout
    survivors = [line for line in out.splitlines()
                 if pgid and line.split()[0] == pgid and not line.split()[1].startswith("Z")]
    if survivors:
        print("survivors after stop:", survivors, stop.stdout, stop.stderr)
    alive = bool(survivors)
    subprocess.run(["redis-cli", "-n", str(stack.redis_db), "FLUSHDB"], capture_output=True)
    for db in stack.databases:
        try:
            _admin_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        except Exception:  # noqa: BLE001, S110 - best effort clean-up
            pass
    return not alive
