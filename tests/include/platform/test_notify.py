from __future__ import annotations

import pendulum

from include.platform.notify import Alert, AlertKey, alert_key, send_alert

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")


class _Dag:
    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id


def _context(dag_id: str = "cloud_cost_report", day=DAY) -> dict:
    """The keys of a task context that alerts read (what Airflow passes to a task or callback)."""
    return {"dag": _Dag(dag_id), "logical_date": day}


def _html(message) -> str:
    return "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")


def test_without_connections_the_alert_is_logged(caplog):
    with caplog.at_level("WARNING"):
        assert send_alert(Alert("Budget exceeded", "AWS SageMaker +300%")) == ["log"]
    assert "Budget exceeded" in caplog.text


def test_email_is_delivered_through_the_smtp_notifier(smtp_sink):
    handler = smtp_sink
    channels = send_alert(Alert("Daily budget exceeded", "driver: Amazon SageMaker", "critical"))
    assert channels == ["log", "email"] and channels.failed == {} and channels.skipped == {}
    assert len(handler.messages) == 1
    assert handler.envelopes[0].rcpt_tos == ["ml-team@example.com"]
    parsed = handler.messages[0]
    assert "Daily budget exceeded" in parsed["Subject"]
    assert "Amazon SageMaker" in _html(parsed)


def test_kind_defaults_to_the_subject_and_the_key_comes_from_the_context():
    alert = Alert("Cost anomaly on 2026-11-22", "body")
    assert alert.kind == "Cost anomaly on 2026-11-22"
    assert Alert("s", "b", kind="budget").kind == "budget"
    assert alert_key(alert, _context()) == AlertKey("cloud_cost_report", "2026-11-22", alert.kind)
    assert alert_key(alert, None) is None  # outside a DAG run there is nothing to de-duplicate on


def test_same_alert_twice_for_the_same_dag_day_and_kind_delivers_once(smtp_sink, lake):
    alert = Alert("Daily budget exceeded", "driver: Amazon SageMaker", "critical", kind="budget_exceeded")
    first = send_alert(alert, _context())
    again = send_alert(Alert("Daily budget exceeded (rerun)", "same news", kind="budget_exceeded"), _context())
    assert first == ["log", "email"]
    assert again == ["log"] and "already sent" in again.skipped["email"]
    assert len(smtp_sink.messages) == 1
    markers = list((lake / "lake" / "reports" / "alerts" / "2026-11-22" / "cloud_cost_report").iterdir())
    assert len(markers) == 1 and markers[0].name.endswith(".email.json")

    # Another kind, another DAG or another day is other news.
    assert send_alert(Alert("Cost anomaly", "x", kind="anomaly"), _context()) == ["log", "email"]
    assert send_alert(alert, _context("canary_deploy")) == ["log", "email"]
    assert send_alert(alert, _context(day=DAY.add(days=1))) == ["log", "email"]
    assert len(smtp_sink.messages) == 4


def test_html_in_the_body_arrives_escaped_and_the_subject_cannot_inject_headers(smtp_sink):
    body = "<script>alert('x')</script> & {{ conn.smtp_alerts.password }}"
    send_alert(Alert("Bad row\r\nBcc: attacker@example.com", body))
    message = smtp_sink.messages[0]
    html = _html(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp;" in html
    assert "{{ conn.smtp_alerts.password }}" in html  # not rendered as a template
    assert message["Bcc"] is None and smtp_sink.envelopes[0].rcpt_tos == ["ml-team@example.com"]


def test_concurrent_senders_of_the_same_alert_deliver_once(smtp_sink, lake):
    from concurrent.futures import ThreadPoolExecutor

    alert = Alert("Cost anomaly", "driver: Amazon SageMaker", kind="anomaly")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: send_alert(alert, _context()), range(8)))
    assert sorted(len(r) for r in results) == [1] * 7 + [2]  # one ["log", "email"], seven ["log"]
    assert len(smtp_sink.messages) == 1
