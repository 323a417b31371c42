"""`AIRFLOW_HOST=0.0.0.0 make start`: reachable from the network, so users log in, and the stack's own clients still work.

One real stack (scripts/start.sh bound to 0.0.0.0 on a random free port, private AIRFLOW_HOME) with
users ``alice:admin,bob:viewer``. The test only ever sends traffic to 127.0.0.1. Checked: no anonymous
token or API access, passwords file 0600 and each password printed once (to the terminal, not into the
api-server log), only the API port leaves loopback, tasks run and reach the REST API through the
managed ``airflow_api`` connection with no secret in their environment, and the first-start script
triggers (and the seed run fills the default local lake) as that admin user.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request

import pytest

from tests.fixtures.local_stack import PASSWORDS_FILE, local_stack
from tests.smoke.stack_probes import LOOPBACK, PROBE_ENV, run_probe

pytestmark = pytest.mark.slow

USERS = "alice:admin,bob:viewer"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {**PROBE_ENV, "AIRFLOW_HOST": "0.0.0.0", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS}
    with local_stack(tmp_path_factory.mktemp("login"), first_start_seed=False, extra_env=env) as s:
        assert s.url.startswith("http://127.0.0.1:")
        s.login("alice")
        yield s


def _status(url: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> int:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    req = urllib.request.Request(url, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_no_anonymous_token_and_private_passwords(stack):
    assert _status(f"{stack.server_url}/auth/token") in (401, 403)
    assert _status(f"{stack.api}/dags") in (401, 403)
    assert _status(f"{stack.server_url}/auth/token", "POST", {"username": "alice", "password": "wrong"}) == 401  # pragma: allowlist secret

    passwords_file = stack.home / PASSWORDS_FILE
    assert stat.S_IMODE(os.stat(passwords_file).st_mode) == 0o600
    passwords = json.loads(passwords_file.read_text())
    assert set(passwords) == {"alice", "bob"}
    for user, password in passwords.items():
        # Printed once, by start.sh, to its terminal; Airflow printed nothing into its log.
        assert stack.start_output.count(f"Password for user '{user}': {password}") == 1
        assert password not in (stack.home.parent / "logs" / "api-server.log").read_text()

    assert {d["dag_id"] for d in stack.request("GET", "dags?limit=100")["dags"]} >= {"seed_demo_data"}
    stack.wait_parsed("seed_demo_data")
    bob = stack.__class__(stack.url, stack.env, "")
    bob.login("bob")  # a viewer reads but may not unpause
    assert bob.request("GET", "dags/seed_demo_data")["dag_id"] == "seed_demo_data"
    assert _status(f"{stack.api}/dags/seed_demo_data", "PATCH", {"is_paused": False}, bob.token()) == 403


def test_tasks_run_and_reach_the_api_with_only_the_api_port_exposed(stack, tmp_path):
    report, seen = run_probe(stack, tmp_path / "report.json")
    port = int(stack.env["AIRFLOW_PORT"])
    exposed = {(addr, p) for _, addr, p in seen if addr not in LOOPBACK}
    assert exposed == {("0.0.0.0", port)}, seen

    env = report["environ"]
    secrets = [(stack.home / "jwt_secret").read_text(), *json.loads((stack.home / PASSWORDS_FILE).read_text()).values()]
    assert not [k for k, v in env.items() for s in secrets if s in v], "a secret reached the task's environment"
    # The project's REST client, inside a task, logged in through the connection start.sh manages.
    assert report["api"]["ok"] and "gpu" in report["api"]["pools"], report["api"]
    conn = stack.request("GET", "connections/airflow_api")
    assert (conn["login"], conn["host"], conn["port"]) == ("alice", "127.0.0.1", port)


def test_first_run_triggers_as_the_admin_and_seeds_the_default_lake(stack):
    out = stack.run_in_stack_env(
        'python -c "import sys; from scripts.first_run import main; sys.exit(main(dag_ids=(\'seed_demo_data\',)))"')
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Triggered seed_demo_data" in out.stdout
    (run_id,) = stack.run_ids("seed_demo_data")
    assert stack.wait_run("seed_demo_data", run_id) == "success", stack.task_instances("seed_demo_data", run_id)
    lake = stack.home.parent / "data" / "lake" / "raw"
    assert (lake / "customers" / "customers.parquet").exists()
    assert len(list((lake / "feedback").rglob("*.jsonl"))) == 3
