"""Alerts through Airflow's notifiers, when their connections exist; a log line always.

Slack (connection ``slack_alerts``, a Slack webhook connection) and e-mail (connection
``smtp_alerts``, an SMTP connection; recipients in Variable ``genai_alert_emails``) are used when
configured. With neither, the message is still logged at WARNING so nothing is lost locally.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from include.platform.settings import SLACK_CONN_ID, SMTP_CONN_ID, get_setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str
    severity: str = "warning"  # info | warning | critical


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not found / no metadata DB: treat as not configured
        return False
    return True


def send_alert(alert: Alert, context: dict[str, Any] | None = None) -> list[str]:
    """Deliver ``alert`` on every configured channel; return the channels used (``log`` always)."""
    context = context or {}
    delivered = ["log"]
    log.warning("[%s] %s\n%s", alert.severity.upper(), alert.subject, alert.body)

    slack_conn = get_setting("slack_conn_id", SLACK_CONN_ID) or SLACK_CONN_ID
    if _connection_exists(slack_conn):
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        SlackWebhookNotifier(
            slack_webhook_conn_id=slack_conn, text=f"*{alert.subject}*\n{alert.body}"
        ).notify(context)
        delivered.append("slack")

    smtp_conn = get_setting("smtp_conn_id", SMTP_CONN_ID) or SMTP_CONN_ID
    recipients = [r.strip() for r in (get_setting("alert_emails", "") or "").split(",") if r.strip()]
    if recipients and _connection_exists(smtp_conn):
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            smtp_conn_id=smtp_conn,
            to=recipients,
            from_email=get_setting("alert_from", "airflow@genai-pipelines.local"),
            subject=f"[{alert.severity}] {alert.subject}",
            html_content=f"<pre>{alert.body}</pre>",
        ).notify(context)
        delivered.append("email")
    return delivered


def task_failure_alert(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every DAG: one alert per failed task, through the same channels.

    A callback must never raise (Airflow would log it and the alert would be lost silently), so
    delivery problems are logged here instead.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", "?")
    exc = context.get("exception")
    alert = Alert(
        subject=f"Task failed: {dag_id}.{task_id}",
        body=f"DAG {dag_id}, task {task_id}, run {run_id}, try {getattr(ti, 'try_number', '?')}\n"
             f"Error: {exc!r}\nLog: {getattr(ti, 'log_url', '')}",
        severity="critical",
    )
    try:
        send_alert(alert, context)
    except Exception:  # noqa: BLE001 - a callback that raises loses the alert; log instead
        log.exception("could not deliver the failure alert for %s.%s", dag_id, task_id)
