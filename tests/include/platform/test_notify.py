from __future__ import annotations

import email
import json

import pytest

from include.platform.notify import Alert, send_alert
from tests.fixtures.emulators import free_port


def test_without_connections_the_alert_is_logged(caplog):
    with caplog.at_level("WARNING"):
        assert send_alert(Alert("Budget exceeded", "AWS SageMaker +300%")) == ["log"]
    assert "Budget exceeded" in caplog.text


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Collect(Sink):
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            self.messages.append(envelope)
            return "250 OK"

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_email_is_delivered_through_the_smtp_notifier(smtp_sink, monkeypatch):
    controller, handler = smtp_sink
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port, "login": "", "password": "",
        "extra": {"disable_tls": True, "disable_ssl": True},
    }))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALERT_EMAILS", "ml-team@example.com")
    channels = send_alert(Alert("Daily budget exceeded", "driver: Amazon SageMaker", "critical"))
    assert channels == ["log", "email"]
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message.rcpt_tos == ["ml-team@example.com"]
    parsed = email.message_from_bytes(message.content)
    assert "Daily budget exceeded" in parsed["Subject"]
    html = "".join(part.get_payload(decode=True).decode() for part in parsed.walk()
                   if part.get_content_type() == "text/html")
    assert "Amazon SageMaker" in html
