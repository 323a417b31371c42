"""Put the demo data where each pipeline reads it (through the lake, so any cloud works).

Never over existing objects: each file is created with the lake's conditional create
(:func:`include.platform.storage.create_exclusive`: a hard link locally, If-None-Match /
ifGenerationMatch=0 on object stores), so an object already at its key — even one written a moment
earlier by someone else — is left byte-for-byte as it is and logged (see :mod:`include.demo.guard`).
A rerun with the same seed therefore changes nothing, and demo data can never replace a real input
of the same name. To regenerate a file, delete it first. Each writer returns the paths it wrote in
this call.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from include.demo import costs, customers, feedback, metrics
from include.platform import storage

log = logging.getLogger(__name__)


def write_new(path: Any, make: Callable[[], bytes]) -> bool:
    """Create ``path`` with ``make()``'s bytes only if nothing is there yet; True when it wrote.

    One conditional create, no check-then-write race; ``make`` is not called for a key that is
    already taken (checked first, so a rerun does not regenerate every file).
    """
    path.fs.invalidate_cache(path.path)
    if path.exists() or not storage.create_exclusive(path, make()):
        log.warning("Demo seed: %s already exists; left untouched (demo data never overwrites)", path)
        return False
    return True


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_feedback(end: date, days: int = 3, per_day: int = 400, seed: int = 42,
                   malformed_share: float = 0.03) -> list[str]:
    """``raw/feedback/<date>/export-<date>.jsonl`` for the ``days`` days ending at ``end``."""
    written = []
    for i in range(days):
        day = end - timedelta(days=days - 1 - i)
        path = storage.lake_path("raw", "feedback", day.isoformat(), f"export-{day.isoformat()}.jsonl")
        if write_new(path, lambda d=day: _lines(feedback.feedback_lines(d, per_day, seed=seed,
                                                                        malformed_share=malformed_share))):
            written.append(str(path))
    return written


def write_customers(rows: int = 20_000, seed: int = 42) -> list[str]:
    path = storage.lake_path("raw", "customers", "customers.parquet")
    if write_new(path, lambda: _parquet(customers.customer_table(rows, seed=seed))):
        return [str(path)]
    return []


def write_feature_batches(end: date, rows: int = 5_000, seed: int = 42) -> list[str]:
    """The reference set, a stable batch for ``end - 1`` and a drifted batch for ``end``."""
    batches: dict[tuple[str, str], Callable[[], Any]] = {
        ("reference", "reference.parquet"): lambda: customers.customer_table(rows * 2, seed=seed, drift=0.0),
        ((end - timedelta(days=1)).isoformat(), "batch.parquet"): lambda: customers.customer_table(rows, seed=seed + 1),
        (end.isoformat(), "batch.parquet"): lambda: customers.customer_table(rows, seed=seed + 2, drift=0.6),
    }
    written = []
    for (folder, name), make in batches.items():
        path = storage.lake_path("raw", "features", folder, name)
        if write_new(path, lambda make=make: _parquet(make())):
            written.append(str(path))
    return written


def write_cost_exports(end: date, days: int = 35, seed: int = 42) -> list[str]:
    """One FOCUS CSV per provider and month, as the providers' scheduled exports deliver them."""
    frame = costs.focus_rows(end, days=days, seed=seed)
    written = []
    for (provider, month), part in frame.groupby(
        [frame["ProviderName"], frame["ChargePeriodStart"].dt.strftime("%Y-%m")]
    ):
        slug = provider.lower().replace(" ", "-")
        path = storage.lake_path("raw", "costs", "focus", slug, f"focus-{month}.csv")
        if write_new(path, lambda part=part: part.to_csv(index=False).encode("utf-8")):
            written.append(str(path))
    return written


def write_metric_trace(end: date, hours: int = 48, seed: int = 42) -> list[str]:
    end_ts = datetime.combine(end, time(23, 45), tzinfo=UTC)
    path = storage.lake_path("raw", "metrics", f"trace-{end.isoformat()}.parquet")
    if write_new(path, lambda: _parquet(metrics.metric_trace(end_ts, hours=hours, seed=seed))):
        return [str(path)]
    return []


def write_pending_requests(count: int, start: int = 0) -> list[str]:
    """``raw/requests/pending/request-<n>.json``: queued inference requests for ``batch_inference``
    (``autoscaling_monitor`` counts them). The scaling domain's writer, so the texts are customer
    messages the sentiment model can classify; ``overwrite=False``: a request still pending from an
    earlier seed, or a real one of the same name, is left alone."""
    from include.scaling.batches import write_requests

    return write_requests(storage.lake_path("raw", "requests", "pending"), count, start, overwrite=False)
