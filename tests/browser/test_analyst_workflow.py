"""The analyst's workflow in a real browser: Debian's Chromium, headless, driven by Playwright.

Starts the project exactly as `make start` does (scripts/start.sh on a free port with a private
AIRFLOW_HOME and data folder), then: DAG list with every DAG and its tags and no import errors ->
unpause seed_demo_data with its toggle -> open its trigger form and read the Params' descriptions ->
trigger a small run and watch it succeed -> open the DAG's docs. Screenshots land in artifacts/browser/.
Selectors (data-testid, roles, visible text) were read from the live Airflow 3.3 DOM.
"""

from __future__ import annotations

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
        finally:
            browser.close()
