"""The analyst's workflow in a real browser: Debian's Chromium, headless, driven by Playwright.

Starts the project exactly as `make start` does (scripts/start.sh on a free port with a private
AIRFLOW_HOME and data folder), then: DAG list with every DAG and its tags and no import errors ->
unpause seed_demo_data with its toggle -> open its trigger form and read the Params' descriptions ->
trigger a small run and watch it succeed -> open the DAG's docs. Then the analyst's view (plugin
``genai_plugin``): a champion is trained and the seeded day scored (REST, small Params) -> "Reports" in
the nav -> the DAG's latest report shows the day's numbers, equal to the warehouse's -> the run's
"Report" extra link opens the same report -> "Models" in the nav shows the registry's champion.
Screenshots land in artifacts/browser/ (the README's come from there: docs/img/).
Selectors (data-testid, roles, visible text) were read from the live Airflow 3.3 DOM.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.fixtures.local_stack import local_stack

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "browser"
DAG_ID = "seed_demo_data"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path):
    """`make start` on a free port (first-start runs skipped: the test seeds through the trigger form
    itself, so seed_demo_data stays paused for the toggle step); `make stop` afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: run `make tools` (scripts/install_browser.sh)")
    with local_stack(tmp_path, first_start_seed=False) as s:
        yield s


@pytest.mark.timeout(2700)  # a champion is trained and a day scored on a loaded 2-core machine
def test_analyst_workflow_in_chromium(stack):
    from playwright.sync_api import expect, sync_playwright

    deadline = time.monotonic() + 240
    while True:  # the dag-processor parses every file in dags/ after start-up
        dags = {d["dag_id"]: d for d in stack.request("GET", "dags?limit=100")["dags"]}
        expected = {p.stem for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_")}
        if DAG_ID in dags and len(dags) >= len(expected) or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert stack.request("GET", "importErrors")["total_entries"] == 0
    SHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        try:
            # (1) DAG list: every DAG with its tags, no import-error banner.
            page.goto(f"{stack.url}/dags")
            expect(page.get_by_role("heading", name=f"{len(dags)} Dags")).to_be_visible()
            for dag_id, dag in dags.items():
                card = page.get_by_test_id("dag-card").filter(has=page.locator(f'a[href="/dags/{dag_id}"]'))
                expect(card).to_have_count(1)
                expect(card.get_by_test_id("dag-id")).to_have_text(dag["dag_display_name"])
                shown = card.locator('a[href^="/dags?tags="]').all_inner_texts()
                more = card.get_by_test_id("limited-items-expand-button")
                hidden = int(more.inner_text().split()[0].lstrip("+")) if more.count() else 0
                tags = {t["name"] for t in dag["tags"]}
                assert set(shown) <= tags and len(shown) + hidden == len(tags), (dag_id, shown, tags)
            expect(page.get_by_text("Import Error", exact=False)).to_have_count(0)
            page.screenshot(path=str(SHOTS / "1-dag-list.png"))

            # (2) Unpause seed_demo_data with its toggle.
            card = page.get_by_test_id("dag-card").filter(has=page.locator(f'a[href="/dags/{DAG_ID}"]'))
            card.get_by_test_id("toggle-pause").click()
            for _ in range(30):
                if not stack.request("GET", f"dags/{DAG_ID}")["is_paused"]:
                    break
                time.sleep(1)
            assert stack.request("GET", f"dags/{DAG_ID}")["is_paused"] is False
            page.screenshot(path=str(SHOTS / "2-unpaused.png"))

            # (3) Trigger form with the Params and their descriptions.
            page.goto(f"{stack.url}/dags/{DAG_ID}")
            page.get_by_role("button", name="Trigger Dag").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_be_visible()
            params_toggle = dialog.get_by_text("Run Parameters", exact=False)
            if params_toggle.count() and not dialog.get_by_text("Random seed of every generator").count():
                params_toggle.first.click()
            # Params sit in form sections (SeedConfig's section= names), collapsed until opened; the
            # form may keep only one open at a time, so open each one right before using its fields.
            from include.demo.config import FEEDBACK, SIZES

            def open_section(section: str, field: str) -> None:
                if not dialog.get_by_role("spinbutton", name=field, exact=True).is_visible():
                    dialog.get_by_role("button", name=section).first.click()
                expect(dialog.get_by_role("spinbutton", name=field, exact=True)).to_be_visible()

            open_section(SIZES, "customer_rows")
            expect(dialog.get_by_text("Random seed of every generator", exact=False)).to_be_visible()
            expect(dialog.get_by_text("Rows of the demo customer table", exact=False)).to_be_visible()
            page.screenshot(path=str(SHOTS / "3-trigger-form.png"))

            # (4) Small Params, trigger, watch the run succeed.
            for section, name, value in ((SIZES, "customer_rows", "500"), (FEEDBACK, "feedback_per_day", "50")):
                open_section(section, name)
                dialog.get_by_role("spinbutton", name=name, exact=True).fill(value)
            dialog.get_by_role("contentinfo").get_by_role("button", name="Trigger").click()
            deadline = time.monotonic() + 420
            runs = []
            while time.monotonic() < deadline:
                runs = stack.request("GET", f"dags/{DAG_ID}/dagRuns?order_by=-run_after&limit=5")["dag_runs"]
                if runs and runs[0]["state"] in ("success", "failed"):
                    break
                time.sleep(5)
            assert runs and runs[0]["state"] == "success", runs[:1]
            page.goto(f"{stack.url}/dags/{DAG_ID}/runs")
            expect(page.get_by_text("success").first).to_be_visible()
            page.screenshot(path=str(SHOTS / "4-run-success.png"))

            # (5) The DAG's docs: doc_md rendered.
            page.goto(f"{stack.url}/dags/{DAG_ID}")
            page.get_by_role("button", name="Dag Docs").click()
            expect(page.get_by_role("dialog").get_by_text("Seed demo data").first).to_be_visible()
            page.screenshot(path=str(SHOTS / "5-dag-docs.png"))

            _reports_and_models(stack, page, expect)
        finally:
            browser.close()


SENTIMENT = "customer_sentiment_analysis"
#: A champion in minutes on 2 shared cores: this test checks what the UI shows, not model quality (the
#: gate's real thresholds are tested in tests/e2e/test_train_sentiment_model.py), so the gate is opened
#: ("Off only for plumbing checks") and the student skipped. Measured with FAST_TRAIN_CONF alone on a
#: loaded machine: ~25 s per training step, over 25 min for the run.
UI_TRAIN_CONF = {"train_rows": 300, "examples": 60, "max_length": 64, "trainable_layers": 2, "student_layers": 0,
                 "min_macro_f1": 0.0, "beat_lexicon": False}
#: Docs screenshots refreshed from this run (README "Results in the UI"): artifacts name -> docs/img name.
DOC_SHOTS = {"6-reports.png": "reports.png", "7-report.png": "report.png", "8-models.png": "models.png"}


def _stack_python(stack, code: str) -> dict:
    """Run ``code`` with the stack's own settings (lake, and the warehouse connection its tasks use, read
    through REST: airflow_settings.yaml defines it in the metadata DB); it prints one JSON line."""
    conn = stack.request("GET", "connections/warehouse_default")
    uri = json.dumps({"conn_type": conn["conn_type"], "host": conn["host"], "schema": conn.get("schema"),
                      "extra": json.loads(conn.get("extra") or "{}")})
    out = stack.run_in_stack_env(f".venv/bin/python -c {json.dumps(code)}", timeout=300,
                                 extra_env={"AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri})
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _reports_and_models(stack, page, expect) -> None:
    """Steps 6-8: a champion and a scored day through the DAGs, then Reports and Models in the UI."""
    from tests.e2e.sentiment_fixtures import FAST_TRAIN_CONF, SCORING_DEFAULTS, TRAINING_DEFAULTS

    # (6) The data the pages show, made by the pipelines themselves (small Params: 2 shared cores).
    _, state = stack.run_once("train_sentiment_model", TRAINING_DEFAULTS | FAST_TRAIN_CONF | UI_TRAIN_CONF, timeout=1500)
    assert state == "success", stack.task_instances("train_sentiment_model", stack.run_ids("train_sentiment_model")[0])
    run_id, state = stack.run_once(SENTIMENT, SCORING_DEFAULTS | {"chunk_size": 64, "batch_size": 32, "threads": 2,
                                                                    "max_tokens": 64}, timeout=1200)
    assert state == "success", stack.task_instances(SENTIMENT, run_id)
    run = stack.request("GET", f"dags/{SENTIMENT}/dagRuns/{run_id}")
    day = (run["logical_date"] or run["run_after"])[:10]
    truth = _stack_python(stack, (
        "import json; from include.platform import warehouse, registry; "
        f"f = warehouse.query(\"SELECT channel, n FROM sentiment_daily_report WHERE report_date = '{day}'\"); "
        "print(json.dumps({'rows': [[str(c), int(n)] for c, n in zip(f['channel'], f['n'])], "
        "'aliases': registry.aliases('sentiment')}))"))
    assert truth["rows"] and truth["aliases"].get("champion"), truth

    # (7) Reports in the nav -> the DAG -> its latest report: the day's numbers, as the warehouse has them.
    page.goto(f"{stack.url}/dags")
    page.get_by_role("link", name="Reports", exact=True).first.click()
    frame = page.frame_locator("iframe").first
    expect(frame.get_by_role("heading", name="Reports")).to_be_visible()
    frame.get_by_role("link", name=SENTIMENT, exact=True).click()
    expect(frame.get_by_role("heading", name=SENTIMENT)).to_be_visible()
    page.screenshot(path=str(SHOTS / "6-reports.png"))
    frame.get_by_role("link", name=day, exact=True).first.click()
    expect(frame.get_by_role("heading", name=f"Customer sentiment report — {day}")).to_be_visible()
    table = frame.locator("article table").first
    for channel, n in truth["rows"]:
        row = table.locator("tbody tr").filter(has=frame.get_by_role("cell", name=channel, exact=True))
        expect(row.locator("td").nth(1)).to_have_text(str(n))
    expect(frame.locator("article img").first).to_have_js_property("complete", True)
    assert frame.locator("article img").first.evaluate("img => img.naturalWidth") > 0  # the chart, served inline
    # Sortable: a click on "messages" orders the rows by that column.
    table.get_by_role("columnheader", name="messages", exact=True).click()
    counts = [int(t) for t in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    assert counts == sorted(counts)
    page.screenshot(path=str(SHOTS / "7-report.png"), full_page=True)

    # The run's final task carries the "Report" link; it opens that run's report.
    links = stack.request("GET", f"dags/{SENTIMENT}/dagRuns/{run_id}/taskInstances/report/links")["extra_links"]
    assert links.get("Report"), links
    report_url = links["Report"] if links["Report"].startswith("http") else stack.url + links["Report"]
    page.goto(report_url)
    assert page.url.endswith(f"/genai/reports/{SENTIMENT}/{day}/report.md"), page.url
    expect(page.get_by_role("heading", name=f"Customer sentiment report — {day}")).to_be_visible()

    # (8) Models in the nav: the registry's champion, with its status.
    page.goto(f"{stack.url}/dags")
    page.get_by_role("link", name="Models", exact=True).first.click()
    frame = page.frame_locator("iframe").first
    section = frame.locator("#model-sentiment")
    expect(section.locator('[data-alias="champion"]')).to_have_text(f"champion: v{truth['aliases']['champion']}")
    expect(section.locator("table.versions tbody tr").first.locator("td").nth(1)).to_have_text("champion")
    page.screenshot(path=str(SHOTS / "8-models.png"), full_page=True)
    for shot, doc in DOC_SHOTS.items():
        shutil.copyfile(SHOTS / shot, ROOT / "docs" / "img" / doc)
