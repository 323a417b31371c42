"""Alerts through Airflow's notifiers, when their connections exist; a log line always.

Slack (connection ``slack_alerts``, a Slack webhook connection) and e-mail (connection
``smtp_alerts``, an SMTP connection; recipients in Variable ``genai_alert_emails``) are used when
configured. With neither, the message is still logged at WARNING so nothing is lost locally.

Three rules, each learnt from an alert that went wrong:

* **Channels are independent.** A Slack outage must not swallow the e-mail, and an alert is a side
  effect: it never fails the data task that sends it. :func:`send_alert` returns a
  :class:`Delivery` naming the channels that delivered, failed (with the error) or were skipped.
* **One alert per (DAG, day, kind).** A daily DAG rerun, a retried task or an asset-triggered run
  on the same day must not page the team again. The first sender claims a marker object per
  channel in the lake (``reports/alerts/<day>/<dag_id>/<kind>.<channel>.json``), created with
  exclusive semantics (``O_EXCL`` locally, ``open("xb")`` — If-None-Match / ifGenerationMatch=0 —
  on S3/GCS/ADLS), so concurrent workers cannot both send. A channel that failed gives its marker
  back, so the next run retries just that channel.
* **Bodies are data, not markup.** Task errors and input values end up in alerts; the e-mail body is
  HTML-escaped and Slack's control characters are escaped, so a ``<script>`` arrives as text.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from include.platform.runs import slug
from include.platform.settings import SLACK_CONN_ID, SMTP_CONN_ID, setting

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

#: Seconds a Slack webhook call may take before that channel counts as failed.
SLACK_TIMEOUT_S = 10


@dataclass(frozen=True)
class Alert:
    """One alert. ``kind`` names *what* happened, for de-duplication within a DAG and day.

    ``kind`` defaults to the subject: two alerts with the same subject on the same DAG and day are
    the same news. Give an explicit kind (``"budget_exceeded"``) when the subject carries changing
    figures but the news is the same.
    """

    subject: str
    body: str
    severity: str = "warning"  # info | warning | critical
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.subject)


@dataclass(frozen=True)
class AlertKey:
    """What an alert is de-duplicated on."""

    dag_id: str
    day: str
    kind: str

    def marker_parts(self, channel: str) -> tuple[str, ...]:
        """Lake path parts of this key's marker for ``channel``; path-safe whatever the kind holds."""
        digest = hashlib.sha256(self.kind.encode()).hexdigest()[:12]
        return ("alerts", self.day, slug(self.dag_id), f"{slug(self.kind)[:80]}-{digest}.{channel}.json")


class Delivery(list):
    """The channels that delivered (``log`` first) — a list, so ``for c in send_alert(...)`` works —
    plus ``failed`` (channel → error) and ``skipped`` (channel → why, e.g. already sent today)."""

    def __init__(self, key: AlertKey | None = None) -> None:
        super().__init__(["log"])
        self.key = key
        self.failed: dict[str, str] = {}
        self.skipped: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"delivered": list(self), "failed": dict(self.failed), "skipped": dict(self.skipped),
                "key": None if self.key is None else vars(self.key)}


@dataclass
class _Channel:
    name: str
    send: Callable[[Alert, dict[str, Any]], None]
    meta: dict[str, Any] = field(default_factory=dict)


def _connection_exists(conn_id: str) -> bool:
    """Whether an alert channel's connection is configured; never raises (a notifier must not fail the task)."""
    from include.platform.connections import connection_exists

    try:
        return connection_exists(conn_id)
    except Exception as exc:  # noqa: BLE001 - a denying secrets backend: skip this channel, say why in the log
        log.warning("alert channel connection %s unreadable (%s): channel skipped", conn_id, exc)
        return False


def _slack_escape(text: str) -> str:
    # Slack's own rule for message text: only &, < and > are control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    """A header value: CR/LF would let an alert subject inject e-mail headers."""
    return " ".join(text.split())


def _slack_channel() -> _Channel | None:
    slack_conn = setting("slack_conn_id", SLACK_CONN_ID)
    if not _connection_exists(slack_conn):
        return None

    def send_slack(alert: Alert, context: dict[str, Any]) -> None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        SlackWebhookNotifier(slack_webhook_conn_id=slack_conn, timeout=SLACK_TIMEOUT_S,
                             text=f"*{_slack_escape(alert.subject)}*\n{_slack_escape(alert.body)}",
                             ).notify(context)

    return _Channel("slack", send_slack)


def _email_channel() -> _Channel | None:
    smtp_conn = setting("smtp_conn_id", SMTP_CONN_ID)
    recipients = [r.strip() for r in setting("alert_emails", "").split(",") if r.strip()]
    if not recipients or not _connection_exists(smtp_conn):
        return None
    sender = setting("alert_from", "airflow@genai-pipelines.local")

    def send_email(alert: Alert, context: dict[str, Any]) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        # notify() directly, not __call__: the notifier would otherwise render the body as a
        # Jinja template, and an alert body is data ("{{ conn... }}" must stay text).
        SmtpNotifier(
            smtp_conn_id=smtp_conn, to=recipients, from_email=sender,
            subject=_one_line(f"[{alert.severity}] {alert.subject}"),
            html_content=f"<pre>{html.escape(alert.body)}</pre>",
        ).notify(context)

    return _Channel("email", send_email)


def _configured_channels() -> tuple[list[_Channel], dict[str, str]]:
    """The channels to use, and those whose configuration could not even be read (a secrets backend
    that denies a Variable inside a task raises): one channel's broken config must not stop another."""
    channels, broken = [], {}
    for name, build in (("slack", _slack_channel), ("email", _email_channel)):
        try:
            channel = build()
        except Exception as exc:  # noqa: BLE001 - reported per channel, never raised into the task
            broken[name] = f"configuration unreadable: {type(exc).__name__}: {exc}"
            continue
        if channel is not None:
            channels.append(channel)
    return channels, broken


# -- de-duplication ------------------------------------------------------------------------------
def alert_key(alert: Alert, context: dict[str, Any] | None) -> AlertKey | None:
    """(DAG, day, kind) from a task context; None outside a DAG run (nothing to de-duplicate on)."""
    if not context:
        return None
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) \
        or getattr(context.get("dag_run"), "dag_id", None)
    if not dag_id:
        return None
    from include.platform.runtime import run_date

    return AlertKey(dag_id=str(dag_id), day=run_date(context).isoformat(), kind=alert.kind)


def _marker(key: AlertKey, channel: str) -> ObjectStoragePath:
    from include.platform import storage

    return storage.lake_path("reports", *key.marker_parts(channel))


def _claim(key: AlertKey, channel: str, alert: Alert, context: dict[str, Any]) -> bool:
    """True if this sender may deliver on ``channel``; a broken lake never blocks an alert.

    The marker carries a random token: a conditional PUT retried by the client after a lost
    response finds its *own* marker (412), and that still counts as our claim.
    """
    ti = context.get("ti") or context.get("task_instance")
    token = uuid.uuid4().hex
    record = {"dag_id": key.dag_id, "day": key.day, "kind": key.kind, "channel": channel, "token": token,
              "subject": alert.subject, "severity": alert.severity, "run_id": getattr(ti, "run_id", None),
              "task_id": getattr(ti, "task_id", None), "claimed_at": datetime.now(UTC).isoformat()}
    error: Exception | None = None
    try:
        from include.platform import storage

        path = _marker(key, channel)
    except Exception as exc:  # noqa: BLE001 - no lake here: a duplicate beats a lost alert
        log.warning("alert de-duplication unavailable (%s); sending %r on %s anyway", exc, key.kind, channel)
        return True
    try:
        if storage.create_exclusive(path, json.dumps(record, indent=2).encode()):
            return True
    except Exception as exc:  # noqa: BLE001 - e.g. a store that reports 412 as another error type
        error = exc
    try:
        holder = storage.read_json(path)
    except Exception as exc:  # noqa: BLE001 - a duplicate beats a lost alert
        log.warning("alert de-duplication unavailable (%s); sending %r on %s anyway", error or exc, key.kind,
                    channel)
        return True
    return holder.get("token") == token


def _release(key: AlertKey, channel: str) -> None:
    try:
        _marker(key, channel).unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - worst case the next run skips a channel that failed
        log.warning("could not release the alert marker of %s on %s: %s", key, channel, exc)


# -- sending -------------------------------------------------------------------------------------
def send_alert(alert: Alert, context: dict[str, Any] | None = None) -> Delivery:
    """Deliver ``alert`` on every configured channel, each on its own; never raises for delivery.

    Within a DAG run (``context`` given) each channel sends at most once per (DAG, day, kind).
    """
    context = context or {}
    key = alert_key(alert, context)
    result = Delivery(key)
    log.warning("[%s] %s\n%s", alert.severity.upper(), alert.subject, alert.body)
    channels, broken = _configured_channels()
    for name, error in broken.items():
        result.failed[name] = error
        log.error("alert %r not delivered on %s: %s", alert.subject, name, error)
    for channel in channels:
        if key is not None and not _claim(key, channel.name, alert, context):
            result.skipped[channel.name] = f"already sent for {key.dag_id} on {key.day} (kind {key.kind!r})"
            continue
        try:
            channel.send(alert, context)
        except Exception as exc:  # noqa: BLE001 - one channel's failure must not stop the next one
            result.failed[channel.name] = f"{type(exc).__name__}: {exc}"
            log.error("alert %r not delivered on %s: %s", alert.subject, channel.name, result.failed[channel.name])
            if key is not None:
                _release(key, channel.name)
            continue
        result.append(channel.name)
    log.info("alert %r: delivered=%s failed=%s skipped=%s", alert.subject, list(result), sorted(result.failed),
             sorted(result.skipped))
    return result


def task_failure_alert(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every DAG: one alert per failed task, through the same channels.

    Kind ``task_failed:<task_id>``: a task failing again in a rerun the same day does not page again.
    A callback must never raise (Airflow would log it and the alert would be lost silently), so
    anything unexpected is logged here instead.
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
        kind=f"task_failed:{task_id}",
    )
    try:
        send_alert(alert, context)
    except Exception:  # noqa: BLE001 - a callback that raises loses the alert; log instead
        log.exception("could not deliver the failure alert for %s.%s", dag_id, task_id)
