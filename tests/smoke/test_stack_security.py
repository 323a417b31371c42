"""`make start` is not open to the network, and its secrets stay out of task environments.

One real stack (scripts/start.sh on a free port, private AIRFLOW_HOME; never 8080) shared by the
module: every socket its processes listen on is loopback, the JWT secret file is 0600 and its value
is in no task's environment (a real task, run by the scheduler, reports ``os.environ``), and the
first-start seeding skips a lake that is not the default local one. Plus the refusals, which start
nothing: a non-loopback bind without users, or with "everyone is admin" forced on.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import urllib.request

import pytest

from tests.fixtures.emulators import free_port
from tests.fixtures.local_stack import ROOT, local_stack
from tests.smoke.stack_probes import LOOPBACK, PROBE_ENV, run_probe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("loopback"), first_start_seed=False, extra_env=PROBE_ENV) as s:
        yield s


@pytest.fixture(scope="module")
def probe(stack, tmp_path_factory):
    """The probe task's report and every listener the stack held while it ran."""
    return run_probe(stack, tmp_path_factory.mktemp("probe") / "report.json")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_listener_of_the_stack_is_loopback(stack, probe):
    _, seen = probe
    port = int(stack.env["AIRFLOW_PORT"])
    assert {(addr, p) for _, addr, p in seen if p == port} == {("127.0.0.1", port)}, seen
    assert all(addr in LOOPBACK for _, addr, _ in seen), f"non-loopback listeners: {seen}"
    # Airflow's log servers bind every interface and cannot be told otherwise: they are not started.
    assert not {p for _, _, p in seen} & {8793, 8794}, seen
    # The UI answers on loopback only, and "everyone is admin" there, as in astro's container.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/token", timeout=30) as resp:
        assert "access_token" in json.loads(resp.read())


def test_jwt_secret_is_private_and_in_no_task_environment(stack, probe):
    report, _ = probe
    secret_file = stack.home / "jwt_secret"
    secret = secret_file.read_text()
    assert len(secret) >= 32 and _mode(secret_file) == 0o600
    assert _mode(stack.home / "airflow.cfg") == 0o600  # fernet key, [api] secret_key
    env = report["environ"]
    assert report["pid"] != os.getpid() and env["AIRFLOW_HOME"] == str(stack.home)  # a stack task wrote it
    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in env
    assert not [k for k, v in env.items() if secret in v], "the JWT secret reached the task's environment"
    # What tasks do get: the command that reads the file (for the scheduler and api-server), not the value.
    assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"].startswith("cat ")
    # The task ran through the execution API, so scheduler and api-server agree on the secret; the
    # project's REST client works anonymously on a loopback stack.
    assert report["api"]["ok"] and "gpu" in report["api"]["pools"], report["api"]


def test_first_start_seeding_skips_a_lake_that_is_not_the_default_one(stack):
    stack.wait_parsed("seed_demo_data")
    first_run = "python scripts/first_run.py"
    # A bucket named in .env (the environment) ...
    out = stack.run_in_stack_env(first_run, extra_env={"AIRFLOW_VAR_GENAI_LAKE_ROOT": "s3://real-bucket/lake"})
    assert out.returncode == 3, out.stdout + out.stderr
    assert "not the project's default local lake" in out.stdout and "allow_other_lake=true" in out.stdout
    # ... or in the metadata DB (airflow_settings.yaml, the UI), read through the REST API.
    stack.request("PATCH", "variables/genai_lake_root", {"key": "genai_lake_root", "value": "gs://real/lake"})
    try:
        out = stack.run_in_stack_env(first_run)
        assert out.returncode == 3 and "gs://real/lake" in out.stdout, out.stdout + out.stderr
    finally:
        stack.request("PATCH", "variables/genai_lake_root", {"key": "genai_lake_root", "value": ""})
    for dag_id in ("seed_demo_data", "train_sentiment_model"):
        stack.wait_parsed(dag_id)
        assert stack.run_ids(dag_id) == [], f"{dag_id} was triggered on a foreign lake"
    assert not (stack.home / ".demo_seeded").exists()


def _start_refused(tmp_path, **settings: str) -> subprocess.CompletedProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW_PORT=str(port), GENAI_LOG_DIR=str(tmp_path / "logs"),
               AIRFLOW_VAR_GENAI_DATA_DIR=str(tmp_path / "data"), GENAI_SKIP_DEMO_SEED="1", **settings)
    out = subprocess.run(["bash", "scripts/start.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0, out.stdout
    assert not (tmp_path / "home" / "airflow.pgid").exists(), "a component was started"
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something listens on the refused stack's port"
    return out


def test_a_network_bind_without_users_refuses_to_start(tmp_path):
    out = _start_refused(tmp_path, AIRFLOW_HOST="0.0.0.0")
    assert "Refusing to start: AIRFLOW_HOST=0.0.0.0" in out.stderr
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS" in out.stderr


def test_a_network_bind_with_everyone_admin_refuses_to_start(tmp_path):
    out = _start_refused(tmp_path, AIRFLOW_HOST="0.0.0.0", AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="alice:admin",
                         AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True")
    assert "would make every\nvisitor admin" in out.stderr or "visitor admin" in out.stderr, out.stderr
