"""Our own platform's cost: task durations from Airflow's REST API × a rate card.

What OpenCost does for Kubernetes (requested resources × time × price), done for Airflow workers:
each finished task instance costs ``duration_h × pool_slots × (cpus × cpu_hour + gpus × gpu_hour)``
where cpus/gpus/prices come from the rate card entry of its pool, overridden by its queue (a GPU
queue served by GPU workers). Rows are aggregated per day × DAG × pool × queue, so the report can
divide a DAG's cost by its output (unit economics) and the anomaly detector can name the DAG.

Rate card: ``cfg.rate_card`` (Variable ``genai_cost_rate_card``, JSON, merged over
:data:`include.costs.config.DEFAULT_RATE_CARD`: on-demand list prices of comparable cloud capacity);
set your own negotiated prices there. Durations are read through ``/api/v2`` because Airflow 3 task code may not query the
metadata DB; the API counts each task instance's latest try (earlier tries are not billed here).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.costs.config import DEFAULT_RATE_CARD
from include.costs.focus import empty_frame, normalize
from include.costs.sources import SourceRead
from include.platform.airflow_api import api_path

if TYPE_CHECKING:
    from include.costs.config import CostConfig

log = logging.getLogger(__name__)

SOURCE = "airflow_platform"
PROVIDER = "Airflow platform"

FINISHED_STATES = {"success", "failed", "up_for_retry", "up_for_reschedule", "skipped"}


def rate_card(custom: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``custom`` (``cfg.rate_card``) merged over :data:`DEFAULT_RATE_CARD` (a partial card is fine)."""
    card = copy.deepcopy(DEFAULT_RATE_CARD)
    custom = custom or {}
    card["currency"] = custom.get("currency", card["currency"])
    card["default"].update(custom.get("default", {}))
    for section in ("pools", "queues"):
        for name, entry in custom.get(section, {}).items():
            card[section].setdefault(name, {}).update(entry)
    return card


def resolve_rates(card: dict[str, Any], pool: str | None, queue: str | None) -> dict[str, float]:
    """Default entry, then the pool's, then the queue's: later keys win."""
    rates = dict(card["default"])
    rates.update(card.get("pools", {}).get(pool or "", {}))
    rates.update(card.get("queues", {}).get(queue or "", {}))
    return {k: float(rates.get(k, 0.0)) for k in ("cpus", "gpus", "cpu_hour", "gpu_hour")}


def unit_price(rates: dict[str, float]) -> float:
    """Price of one slot-hour of a worker with these rates (FOCUS ListUnitPrice, PricingUnit "Hours")."""
    return rates["cpus"] * rates["cpu_hour"] + rates["gpus"] * rates["gpu_hour"]


def cost_rows(task_instances: Iterable[dict[str, Any]], card: dict[str, Any], account: str = "genai-airflow") -> pd.DataFrame:
    """FOCUS rows (one per day × DAG × pool × queue) from ``/api/v2`` task-instance records.

    PricingQuantity is the slot-hours, ListUnitPrice/ContractedUnitPrice the rate card's price of one
    (the card is the contract: list = contracted), so BilledCost = PricingQuantity × ListUnitPrice
    before rounding. No SkuId: the card's entries are pools and queues, already in ResourceType.
    """
    records = []
    for ti in task_instances:
        if ti.get("state") not in FINISHED_STATES or not ti.get("duration") or not ti.get("start_date"):
            continue
        started = pd.Timestamp(ti["start_date"]).tz_convert("UTC")
        rates = resolve_rates(card, ti.get("pool"), ti.get("queue"))
        hours = float(ti["duration"]) / 3600.0 * max(int(ti.get("pool_slots") or 1), 1)
        records.append({
            "day": started.normalize(), "dag_id": ti["dag_id"], "run_id": ti.get("dag_run_id") or ti.get("run_id"),
            "pool": ti.get("pool") or "default_pool", "queue": ti.get("queue") or "default",
            "gpu": rates["gpus"] > 0, "hours": hours, "rate": unit_price(rates),
            "cost": hours * unit_price(rates),
        })
    if not records:
        return empty_frame()
    tis = pd.DataFrame(records)
    runs = tis.groupby(["day", "dag_id"])["run_id"].nunique().rename("runs")
    grouped = (tis.groupby(["day", "dag_id", "pool", "queue", "gpu"], as_index=False)
               .agg(hours=("hours", "sum"), cost=("cost", "sum"), rate=("rate", "first"))
               .join(runs, on=["day", "dag_id"]))
    rows = [{
        "ProviderName": PROVIDER,
        "PublisherName": "Apache Airflow",
        "BillingAccountId": account,
        "SubAccountId": account,
        "BillingCurrency": card.get("currency", "USD"),
        "ChargePeriodStart": g.day,
        "ChargePeriodEnd": g.day + pd.Timedelta(days=1),
        "ChargeCategory": "Usage",
        "ServiceName": "Airflow workers (GPU)" if g.gpu else "Airflow workers (CPU)",
        "ServiceCategory": "Compute",
        "ResourceType": f"pool={g.pool}; queue={g.queue}",
        "ResourceId": f"airflow/{g.dag_id}",
        "ResourceName": g.dag_id,
        "BilledCost": round(g.cost, 6),
        "ConsumedQuantity": round(g.hours, 6),
        "ConsumedUnit": "Hours",
        "PricingQuantity": round(g.hours, 6),
        "PricingUnit": "Hours",
        "PricingCategory": "Standard",
        "ListUnitPrice": g.rate,
        "ContractedUnitPrice": g.rate,
        "Tags": {"dag_id": g.dag_id, "pool": g.pool, "queue": g.queue},
        "x_DagId": g.dag_id,
        "x_DagRuns": int(g.runs),
    } for g in grouped.itertuples()]
    return normalize(pd.DataFrame(rows), SOURCE)


def task_instances(api: Any, start: date, end: date) -> list[dict[str, Any]]:
    """Every task instance that started between ``start`` and ``end`` (inclusive days), all DAGs."""
    lo = datetime.combine(start, time.min).isoformat() + "Z"
    hi = datetime.combine(end + timedelta(days=1), time.min).isoformat() + "Z"
    return list(api.paginate(api_path("dags", "~", "dagRuns", "~", "taskInstances"), "task_instances",
                             start_date_gte=lo, start_date_lt=hi, order_by="id"))


def fetch(start: date, end: date, api: Any = None, required: bool = False, card: Mapping[str, Any] | None = None,
          account: str = "genai-airflow") -> pd.DataFrame:
    """Platform cost rows for the window; with ``required=False`` a missing API server skips the source.

    The embedded default must work on a laptop where only ``airflow dags test`` runs (no API
    server): like a cloud source whose connection is missing, the source is *skipped* with the
    reason in the log and in ``frame.attrs["status"]`` (shown in the report's "Data loaded" table),
    rather than failing the whole cost report. Other HTTP errors degrade the same way; credentials
    the API refuses raise :class:`~include.platform.errors.PermanentError` naming connection
    ``airflow_api`` (a retry cannot fix them).
    """
    from include.platform.airflow_api import AirflowAPI, AirflowAPIError, AirflowAPIUnavailable

    api = api or AirflowAPI.from_settings()
    try:
        tis = task_instances(api, start, end)
    except AirflowAPIUnavailable as exc:
        if required:
            raise
        log.warning("Source %s skipped: %s", SOURCE, exc)
        return _without_rows(f"skipped: Airflow REST API at {api.base_url} not reachable (run `make start`, or "
                             "set connection airflow_api / Variable genai_airflow_api_url)")
    except AirflowAPIError as exc:
        if required:
            raise
        log.warning("Source %s degraded: Airflow REST API at %s answered with an error (%s); platform cost "
                    "left out of this run.", SOURCE, api.base_url, exc)
        return _without_rows(f"degraded: Airflow REST API at {api.base_url} answered {exc.status_code}")
    log.info("Read %d task instances from %s", len(tis), api.base_url)
    return cost_rows(tis, rate_card(card), account=account)


def missing(cfg: CostConfig) -> str | None:
    """The embedded default: always readable (an unreachable API degrades inside :func:`read`)."""
    return None


def read(cfg: CostConfig, start: date, end: date) -> SourceRead:
    """Upserted by key, never a window replace: ``airflow db clean`` removes old task instances, so a
    day re-read later may have lost rows the warehouse still holds."""
    frame = fetch(start, end, card=cfg.rate_card, account=cfg.platform_account)
    return SourceRead(frame, status=frame.attrs.get("status", "ok"), replaces_window=False)


def _without_rows(status: str) -> pd.DataFrame:
    frame = empty_frame()
    frame.attrs["status"] = status
    return frame
