from __future__ import annotations

from include.platform.notify import Alert, send_alert


def test_without_connections_the_alert_is_logged(caplog):
    with caplog.at_level("WARNING"):
        assert send_alert(Alert("Budget exceeded", "AWS SageMaker +300%")) == ["log"]
    assert "Budget exceeded" in caplog.text


def test_email_is_delivered_through_the_smtp_notifier(smtp_sink):
    handler = smtp_sink
    channels = send_alert(Alert("Daily budget exceeded", "driver: Amazon SageMaker", "critical"))
    assert channels == ["log", "email"]
    assert len(handler.messages) == 1
    assert handler.envelopes[0].rcpt_tos == ["ml-team@example.com"]
    parsed = handler.messages[0]
    assert "Daily budget exceeded" in parsed["Subject"]
    html = "".join(part.get_payload(decode=True).decode() for part in parsed.walk()
                   if part.get_content_type() == "text/html")
    assert "Amazon SageMaker" in html
