"""Alerts under faults, through real DAG runs (``dag.test()``), a real SMTP sink and real Slack webhooks.

* a failed task alerts by e-mail exactly once, and a rerun of the same day does not alert again;
* a Slack webhook on a closed port, or one answering 500, neither blocks the e-mail nor changes the
  outcome of the task that sent the alert (a data task still succeeds, a failed task stays failed);
* a channel that failed is retried on the next send, without resending the channels that delivered;
* a ``<script>`` in a task's error arrives escaped.

The two probe DAGs live in a temporary folder registered with the session's metadata DB, so their
retries can be 0 (a project DAG retries twice with a back-off, ~30 s per forced failure).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pendulum
import pytest

from tests.fixtures.emulators import free_port

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")

PROBE_DAGS = '''
import pendulum
from airflow.sdk import dag, task

from include.platform.notify import task_failure_alert

ARGS = {"on_failure_callback": task_failure_alert, "retries": 0, "owner": "tests"}


@dag(dag_id="alert_probe_fail", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
     default_args=ARGS)
def alert_probe_fail():
    @task
    def extract():
        raise ValueError("<script>alert(1)</script> in row 7")

    extract()


@dag(dag_id="alert_probe_ok", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
     default_args=ARGS)
def alert_probe_ok():
    @task
    def report(**context):
        from include.platform.notify import Alert, send_alert

        return send_alert(Alert("Budget exceeded", "driver: SageMaker", "critical", kind="budget"),
                          context).to_dict()

    report()


alert_probe_fail()
alert_probe_ok()
'''


@pytest.fixture
def probe_dag(tmp_path):
    """Load and register the probe DAGs; returns ``get(dag_id)``."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    folder = tmp_path / "probe_dags"
    folder.mkdir()
    (folder / "alert_probes.py").write_text(PROBE_DAGS)
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    bag = BundleDagBag(dag_folder=str(folder), bundle_path=str(folder), bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.get_dag


class _SlackHook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(json.loads(body))
        status = self.server.status
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"no")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slack(monkeypatch):
    """A Slack webhook connection ``slack_alerts`` on loopback; ``set(mode)``: ok | error500 | closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackHook)
    server.received, server.status = [], 200
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    closed_port = free_port()  # bound and released: nothing listens there

    def set_mode(mode: str) -> None:
        port = closed_port if mode == "closed" else server.server_address[1]
        server.status = 500 if mode == "error500" else 200
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps({
            "conn_type": "slackwebhook", "password": f"http://127.0.0.1:{port}/services/T000/B000/XXXX"}))

    server.set_mode = set_mode
    yield server
    server.shutdown()
    server.server_close()


def _states(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return {ti.task_id: ti.state for ti in s.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id)}


def _html(message) -> str:
    return "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")


def _xcom(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as s:
        row = s.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id,
                                           key="return_value").one()
        return row.value if not isinstance(row.value, str) else json.loads(row.value)


def test_failed_task_emails_once_escaped_and_a_rerun_the_same_day_does_not_resend(probe_dag, lake, smtp_sink):
    dag = probe_dag("alert_probe_fail")
    run = dag.test(logical_date=DAY)
    assert run.state == "failed" and _states(run) == {"extract": "failed"}
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert message["Subject"] == "[critical] Task failed: alert_probe_fail.extract"
    html = _html(message)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; in row 7" in html and "<script>" not in html

    rerun = dag.test(logical_date=DAY)  # the same day fails again: the team already knows
    assert rerun.state == "failed"
    assert len(smtp_sink.messages) == 1
    markers = list((lake / "lake" / "reports" / "alerts" / "2026-11-22" / "alert_probe_fail").iterdir())
    assert [json.loads(m.read_text())["kind"] for m in markers] == ["task_failed:extract"]


@pytest.mark.parametrize("slack_mode", ["closed", "error500"])
def test_broken_slack_neither_blocks_email_nor_changes_the_task_outcome(probe_dag, lake, smtp_sink, slack,
                                                                        slack_mode):
    slack.set_mode(slack_mode)
    ok = probe_dag("alert_probe_ok").test(logical_date=DAY)
    assert ok.state == "success" and _states(ok) == {"report": "success"}
    delivery = _xcom(ok, "report")
    assert delivery["delivered"] == ["log", "email"] and list(delivery["failed"]) == ["slack"]
    assert len(smtp_sink.messages) == 1 and "Budget exceeded" in smtp_sink.messages[0]["Subject"]

    failed = probe_dag("alert_probe_fail").test(logical_date=DAY)
    assert failed.state == "failed" and _states(failed) == {"extract": "failed"}
    assert [m["Subject"] for m in smtp_sink.messages][1:] == ["[critical] Task failed: alert_probe_fail.extract"]
    if slack_mode == "error500":  # Slack was asked (and refused) both times
        assert {m["text"].split("\n")[0] for m in slack.received} == {
            "*Budget exceeded*", "*Task failed: alert_probe_fail.extract*"}
    else:
        assert slack.received == []


def test_a_channel_that_failed_is_retried_next_time_without_resending_the_others(probe_dag, lake, smtp_sink, slack):
    slack.set_mode("closed")
    first = probe_dag("alert_probe_ok").test(logical_date=DAY)
    assert list(_xcom(first, "report")["failed"]) == ["slack"]

    slack.set_mode("ok")  # Slack is back: the rerun delivers only what was missing
    second = probe_dag("alert_probe_ok").test(logical_date=DAY)
    delivery = _xcom(second, "report")
    assert delivery["delivered"] == ["log", "slack"] and list(delivery["skipped"]) == ["email"]
    assert len(smtp_sink.messages) == 1
    assert [m["text"] for m in slack.received] == ["*Budget exceeded*\ndriver: SageMaker"]


def test_a_channel_whose_settings_cannot_be_read_does_not_stop_the_email(probe_dag, lake, smtp_sink, slack,
                                                                         monkeypatch):
    from tests.fixtures.secrets_backends import denied_variables

    slack.set_mode("ok")
    with denied_variables(monkeypatch, "genai_slack_conn_id"):  # as a secrets manager without permission
        run = probe_dag("alert_probe_ok").test(logical_date=DAY)
    assert run.state == "success"
    delivery = _xcom(run, "report")
    assert delivery["delivered"] == ["log", "email"] and slack.received == []
    assert "AirflowSecretsBackendAccessDenied" in delivery["failed"]["slack"]
    assert len(smtp_sink.messages) == 1
