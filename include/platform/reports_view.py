"""The reports zone as an analyst reads it: which DAG wrote which report, newest first, rendered safely.

Every pipeline writes Markdown + PNG charts under ``reports/<folder>/…`` in the lake (local files or
a bucket); the Airflow UI's **Reports** page (``plugins/genai_airflow/ui``) shows those same files,
nothing is copied. This module is the plain-Python half of that page, testable without a server:

* :func:`list_reports` — one recursive listing of ``reports/`` through the lake layer
  (:func:`include.platform.storage.find_files`), grouped by DAG id, newest first;
* :func:`report_path` — a report's or chart's lake path from the URL parts, through the one path guard
  (:func:`include.platform.storage.lake_path`): ``..``, absolute or encoded parts raise ``PathRefused``;
* :func:`render_markdown` — Markdown → HTML with raw HTML *escaped* (a feedback text holding
  ``<script>`` shows as text) and unsafe link schemes refused, by markdown-it-py (CommonMark + tables);
* :func:`reports_for_run` — the report(s) a DAG run wrote, for the task's **Report** link.

Folder → DAG: most pipelines name their folder after the DAG id; the older ones use a short name
(:data:`REPORT_FOLDERS`). A folder not listed there is shown under its own name, so a new DAG that
follows the convention appears without a change here. Non-report files in the zone (the notifier's
``alerts/`` de-duplication markers) hold no Markdown and are never listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from include.platform import storage
from include.platform.errors import PathRefused

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: reports/<folder> written by a DAG whose id is not the folder name (grep ``lake_path("reports"``).
REPORT_FOLDERS: dict[str, str] = {
    "sentiment": "customer_sentiment_analysis",
    "sentiment_training": "train_sentiment_model",
    "synthetic": "synthetic_data_generation",
    "cost": "cloud_cost_report",
    "canary": "canary_deploy",
    "scaling": "autoscaling_whatif_replay",
}
#: Folders of the reports zone that hold no reports.
NOT_REPORTS = ("alerts",)
#: Files the app serves from a report's folder, with their media type. No SVG or HTML: those can
#: carry script and would run with the UI's origin.
ASSET_TYPES: dict[str, str] = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".csv": "text/plain; charset=utf-8", ".json": "application/json",
    ".txt": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"(\d+)")
#: Airflow's own rule for DAG ids (letters, digits, '_', '.', '-'): one path segment, never '..'.
_DAG_ID = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,250}$")


@dataclass(frozen=True)
class Report:
    """One Markdown report in the lake: ``reports/<folder>/<rel>``."""

    dag_id: str
    folder: str
    rel: str
    modified: datetime | None

    @property
    def day(self) -> str | None:
        """The ``YYYY-MM-DD`` folder the report sits in, if any (version-keyed reports have none)."""
        return next((part for part in self.rel.split("/") if _DAY.fullmatch(part)), None)

    @property
    def title(self) -> str:
        """What the list shows: the path below the DAG's folder, without ``report.md``."""
        parts = self.rel.split("/")
        return "/".join(parts[:-1]) if parts[-1] == "report.md" and len(parts) > 1 else self.rel

    @property
    def url(self) -> str:
        """Path of the rendered report below the app's ``/reports`` route."""
        return f"{self.dag_id}/{self.rel}"


def folder_for(dag_id: str) -> str:
    """The reports folder of ``dag_id`` (the DAG id itself unless :data:`REPORT_FOLDERS` says otherwise)."""
    return {dag: folder for folder, dag in REPORT_FOLDERS.items()}.get(dag_id, dag_id)


def dag_for(folder: str) -> str:
    return REPORT_FOLDERS.get(folder, folder)


def _modified(info: dict[str, Any]) -> datetime | None:
    """A file's modification time from fsspec's info, whatever the backend calls it.

    local: ``mtime`` (epoch float); s3fs: ``LastModified``; gcsfs: ``updated`` (ISO text); adlfs:
    ``last_modified`` (datetime).
    """
    for key in ("mtime", "LastModified", "last_modified", "updated", "modified"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _natural(text: str) -> list[Any]:
    """Sort key where ``v10`` comes after ``v9`` and ISO days sort by date."""
    return [int(piece) if piece.isdigit() else piece for piece in _DIGITS.split(text)]


def _newest_first(report: Report) -> tuple[Any, ...]:
    stamp = report.modified.timestamp() if report.modified else 0.0
    return (report.day or "", stamp, _natural(report.rel))


def list_reports(dag_id: str | None = None) -> dict[str, list[Report]]:
    """``{dag_id: [Report, ...]}``, newest first (by day folder, then modification time), DAG ids sorted.

    ``dag_id`` limits the listing to that DAG's folder (one LIST of its prefix instead of the zone).
    """
    root = storage.zone("reports")
    if dag_id is not None:
        folder = folder_for(dag_id)
        found = [(f"{folder}/{rel}", info) for rel, info in storage.find_files(report_path(dag_id), ".md")]
    else:
        found = storage.find_files(root, ".md")
    out: dict[str, list[Report]] = {}
    for key, info in found:
        folder, _, rel = key.partition("/")
        if not rel or folder in NOT_REPORTS:
            continue
        report = Report(dag_id=dag_for(folder), folder=folder, rel=rel, modified=_modified(info))
        out.setdefault(report.dag_id, []).append(report)
    return {dag: sorted(reports, key=_newest_first, reverse=True) for dag, reports in sorted(out.items())}


def report_path(dag_id: str, rel: str = "") -> ObjectStoragePath:
    """``reports/<folder of dag_id>/<rel>`` through the path guard; raises ``PathRefused`` on anything else."""
    folder = folder_for(dag_id)
    if not _DAG_ID.fullmatch(dag_id) or folder in NOT_REPORTS:
        raise PathRefused(f"{dag_id!r} is not a DAG's reports folder", "open a DAG's reports from /genai/reports")
    return storage.lake_path("reports", folder, *([rel] if rel else []))


def asset_type(rel: str) -> str | None:
    """The media type the app may serve ``rel`` with, or None (not a file a report links to)."""
    dot = rel.rfind(".")
    return ASSET_TYPES.get(rel[dot:].lower()) if dot > rel.rfind("/") else None


def reports_for_run(dag_id: str, start: datetime | None, end: datetime | None,
                    day: str | None = None, slack_s: float = 5.0, before_s: float = 1.0) -> list[Report]:
    """The reports one DAG run wrote: modified between its start (less ``before_s``) and end (plus ``slack_s``).

    Version-keyed folders (``v3/``) and day folders chosen by a Param or a lake arrival both work,
    because the test is *when* the file was written, not where. When the store reports no times, or
    nothing was written in that window (the report task was skipped), the run's ``day`` folder is the
    answer if it exists.

    ``before_s`` only covers stores that round modification times down to the second: with
    ``max_active_runs=1`` the scheduler starts the next run a second or two after the previous one
    wrote its report (a lake arrival queues one run per day folder). For the same reason, when the
    window still holds several reports and one sits in the run's own ``day`` folder, that one wins.
    """
    reports = list_reports(dag_id).get(dag_id, [])
    if start is not None:
        low = start.timestamp() - before_s
        high = (end or datetime.now(UTC)).timestamp() + slack_s
        written = [r for r in reports if r.modified and low <= r.modified.timestamp() <= high]
        own_day = [r for r in written if day and r.day == day]
        if own_day:
            return own_day
        if written:
            return written
    return [r for r in reports if day and r.day == day]


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "commonmark" + tables, and html=False: any raw HTML in a report (feedback text, an LLM answer,
    # a file name) is emitted as escaped text, never as markup. markdown-it's validateLink refuses
    # javascript:, vbscript:, file: and non-image data: URLs in links and images.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> str:
    """Markdown → HTML fragment; raw HTML escaped, tables kept (the page makes them sortable)."""
    return _markdown().render(text)
