"""Put the demo data where each pipeline reads it (through the lake, so any cloud works)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from include.demo import costs, customers, feedback, metrics
from include.platform import storage


def write_feedback(end: date, days: int = 3, per_day: int = 400, seed: int = 42,
                   malformed_share: float = 0.03) -> list[str]:
    """``raw/feedback/<date>/export-<date>.jsonl`` for the ``days`` days ending at ``end``."""
    written = []
    for i in range(days):
        day = end - timedelta(days=days - 1 - i)
        lines = feedback.feedback_lines(day, per_day, seed=seed, malformed_share=malformed_share)
        path = storage.lake_path("raw", "feedback", day.isoformat(), f"export-{day.isoformat()}.jsonl")
        storage.write_text(path, "\n".join(lines) + "\n")
        written.append(str(path))
    return written


def write_customers(rows: int = 20_000, seed: int = 42) -> str:
    path = storage.lake_path("raw", "customers", "customers.parquet")
    storage.write_parquet(path, customers.customer_table(rows, seed=seed))
    return str(path)


def write_feature_batches(end: date, rows: int = 5_000, seed: int = 42) -> list[str]:
    """The reference set, a stable batch for ``end - 1`` and a drifted batch for ``end``."""
    batches = {
        ("reference", "reference.parquet"): customers.customer_table(rows * 2, seed=seed, drift=0.0),
        ((end - timedelta(days=1)).isoformat(), "batch.parquet"): customers.customer_table(rows, seed=seed + 1),
        (end.isoformat(), "batch.parquet"): customers.customer_table(rows, seed=seed + 2, drift=0.6),
    }
    written = []
    for (folder, name), frame in batches.items():
        path = storage.lake_path("raw", "features", folder, name)
        storage.write_parquet(path, frame)
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
        storage.write_text(path, part.to_csv(index=False))
        written.append(str(path))
    return written


def write_metric_trace(end: date, hours: int = 48, seed: int = 42) -> str:
    end_ts = datetime.combine(end, time(23, 45), tzinfo=UTC)
    path = storage.lake_path("raw", "metrics", f"trace-{end.isoformat()}.parquet")
    storage.write_parquet(path, metrics.metric_trace(end_ts, hours=hours, seed=seed))
    return str(path)
