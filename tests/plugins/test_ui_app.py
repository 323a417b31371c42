"""The /genai app inside the real API server app (airflow.api_fastapi.app.create_app), in process.

The plugin is loaded from plugins/ the way the API server loads it; requests go through the API
server's own auth (simple auth manager, JWTs it signs): 401 without a token, 200 with one (header or
the UI's ``_token`` cookie), and in the "everyone is admin" mode (the local default) no token needed.
Reports are real files in a private lake; traversal attempts answer 404 without reading outside it.
"""

from __future__ import annotations

from datetime import date

import pytest

from include.platform import storage

DAY = date(2026, 11, 22)


@pytest.fixture
def lake_with_report(lake):
    folder = storage.lake_path("reports", "sentiment", DAY.isoformat())
    storage.write_text(folder / "report.md", "# Customer sentiment report — 2026-11-22\n\n"
                       "| channel | messages |\n|---|---:|\n| <script>alert(1)</script> | 40 |\n\n![c](chart.png)\n")
    storage.write_bytes(folder / "chart.png", b"\x89PNG\r\n\x1a\nfake-but-served-as-bytes")
    storage.write_text(folder / "evil.html", "<script>alert(1)</script>")
    (lake / "secret.txt").write_text("outside the reports zone")
    return lake


def _client(monkeypatch, all_admins: bool):
    from airflow.api_fastapi import app as api_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", str(all_admins))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "alice:viewer")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-secret-for-the-genai-app-only-" + "0123456789" * 4)
    api_app.purge_cached_app()
    return TestClient(api_app.create_app(), base_url="http://localhost")


def _token() -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="alice", role="viewer"))


def test_pages_require_the_api_servers_auth(airflow_db, lake_with_report, monkeypatch):
    client = _client(monkeypatch, all_admins=False)
    paths = ["/genai/reports", "/genai/reports/customer_sentiment_analysis",
             "/genai/reports/customer_sentiment_analysis/2026-11-22/report.md",
             "/genai/reports/customer_sentiment_analysis/2026-11-22/chart.png", "/genai/models"]
    for path in paths:
        assert client.get(path).status_code == 401, path
    # A browser page request without a session goes to the login page and comes back after.
    resp = client.get("/genai/reports", headers={"Accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/auth/login")
    assert "next=%2Fgenai%2Freports" in resp.headers["location"]
    assert client.get("/genai/reports", headers={"Authorization": "Bearer not-a-jwt"}).status_code in (401, 403)

    token = _token()
    auth = {"Authorization": f"Bearer {token}"}
    for path in paths:
        assert client.get(path, headers=auth).status_code == 200, path
    client.cookies.set("_token", token)  # what the UI's session holds
    page = client.get("/genai/reports/customer_sentiment_analysis/2026-11-22/report.md")
    assert page.status_code == 200 and "Customer sentiment report" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert "script-src 'nonce-" in page.headers["content-security-policy"]
    assert '<img src="chart.png"' in page.text  # resolves to the route below, beside the report
    chart = client.get("/genai/reports/customer_sentiment_analysis/2026-11-22/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content.startswith(b"\x89PNG")
    index = client.get("/genai/reports")
    assert 'href="/genai/reports/customer_sentiment_analysis"' in index.text


@pytest.mark.parametrize("path", [
    "/genai/reports/customer_sentiment_analysis/..%2F..%2Fsecret.txt",
    "/genai/reports/customer_sentiment_analysis/%2e%2e/%2e%2e/secret.txt",
    "/genai/reports/customer_sentiment_analysis/2026-11-22/%252e%252e/x.txt",
    "/genai/reports/customer_sentiment_analysis/%2Fetc%2Fpasswd",
    "/genai/reports/customer_sentiment_analysis//etc/passwd",
    "/genai/reports/..%2F..%2F/secret.txt",
    "/genai/reports/alerts/2026-11-22/x.json",
    "/genai/reports/customer_sentiment_analysis/2026-11-22/evil.html",
    "/genai/reports/customer_sentiment_analysis/2026-11-22/missing.png",
])
def test_paths_outside_the_reports_zone_answer_404(airflow_db, lake_with_report, monkeypatch, path):
    client = _client(monkeypatch, all_admins=True)
    resp = client.get(path)
    assert resp.status_code in (400, 404), (path, resp.status_code)
    assert "outside the reports zone" not in resp.text and "<script>" not in resp.text


def test_everyone_admin_mode_needs_no_token(airflow_db, lake_with_report, monkeypatch):
    client = _client(monkeypatch, all_admins=True)
    resp = client.get("/genai/reports")
    assert resp.status_code == 200 and "customer_sentiment_analysis" in resp.text
    models = client.get("/genai/models")
    assert models.status_code == 200 and "No models registered yet" in models.text
    assert client.get("/genai/run/customer_sentiment_analysis/no-such-run").status_code == 404


def test_plugin_registers_nav_views_app_and_report_link():
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    views, _ = plugins_manager._get_ui_plugins()
    ours = {v["name"]: v for v in views if v.get("url_route", "").startswith("genai-")}
    assert ours["Reports"]["href"] == "/genai/reports" and ours["Reports"]["destination"] == "nav"
    assert ours["Models"]["href"] == "/genai/models"
    apps, _ = plugins_manager.get_fastapi_plugins()
    assert [a["url_prefix"] for a in apps if a["name"].startswith("GenAI")] == ["/genai"]
    assert "Report" in {link.name for link in plugins_manager.get_global_operator_extra_links()}


def test_report_link_is_on_the_final_task_of_a_dag_with_reports(lake):
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from genai_airflow.ui.links import RunReportLink

    with DAG("customer_sentiment_analysis", schedule=None):
        extract = EmptyOperator(task_id="extract")
        report = EmptyOperator(task_id="report")
        extract >> report
    run_id = "manual__2026-11-22T00:00:00+00:00"
    link = RunReportLink()
    key = TaskInstanceKey("customer_sentiment_analysis", "report", run_id)
    assert link.get_link(report, ti_key=key) == ""  # no reports folder in the lake yet: no button
    storage.write_text(storage.lake_path("reports", "sentiment", "2026-11-22", "report.md"), "# r\n")
    assert link.get_link(report, ti_key=key) == \
        "/genai/run/customer_sentiment_analysis/manual__2026-11-22T00%3A00%3A00%2B00%3A00"
    assert link.get_link(extract, ti_key=TaskInstanceKey("customer_sentiment_analysis", "extract", run_id)) == ""
