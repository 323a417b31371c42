"""Where a pipeline's per-day and per-run outputs live, and the one slug rule for names built from text.

Four rooms had their own ``_day_dir``/``report_dir``/``day_paths`` and three slug regexes; a run id
(``manual__2026-01-01T00:00:00+00:00``) or a model name must become one safe path segment the same
way everywhere, and every path still goes through the lake's guard.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # notify (imported by every DAG file for its failure callback) uses slug: stay light
    from airflow.sdk import ObjectStoragePath

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str, fallback: str = "_") -> str:
    """``text`` as one path segment: runs of other characters → ``_``; no leading/trailing ``.``/``_``."""
    return _UNSAFE.sub("_", str(text)).strip("._") or fallback


def day_path(zone: str, pipeline: str, day: date, *parts: str) -> ObjectStoragePath:
    """``<zone>/<pipeline>/<YYYY-MM-DD>/<parts...>`` in the lake (reports, quarantine, curated outputs)."""
    from include.platform import storage

    return storage.lake_path(zone, pipeline, day.isoformat(), *parts)


def run_path(zone: str, pipeline: str, run_id: str, *parts: str) -> ObjectStoragePath:
    """``<zone>/<pipeline>/runs/<slug(run_id)>/<parts...>``: outputs that belong to one DAG run."""
    from include.platform import storage

    return storage.lake_path(zone, pipeline, "runs", slug(run_id, "run"), *parts)
