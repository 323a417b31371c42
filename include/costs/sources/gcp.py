"""GCP Cloud Billing export to BigQuery: daily cost by project, service, SKU and region.

Reads the *standard* usage cost export table (``<project>.<dataset>.gcp_billing_export_v1_<ID>``,
Variable ``genai_cost_gcp_billing_table``) through the google provider's ``BigQueryHook``
(connection ``gcp_billing``). The SQL sums ``cost`` (BilledCost), ``cost + credits``
(EffectiveCost: committed-use and sustained-use discounts arrive as negative credits),
``cost_at_list`` (ListCost) and the usage in pricing units (PricingQuantity) per usage day and SKU,
and names the committed use discount a row's credits came from (CommitmentDiscountId).

Why the partition filter has no upper bound: the export is partitioned by export time and rows
for a usage day keep arriving (and are corrected) for several days, so only the lower bound may
prune. Dates are passed as query parameters (``QueryJobConfig``), never formatted into the SQL.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.costs.focus import normalize
from include.costs.sources import SourceRead
from include.platform.connections import connection_exists

if TYPE_CHECKING:
    from include.costs.config import CostConfig

log = logging.getLogger(__name__)

SOURCE = "gcp_billing_export"
_TABLE = re.compile(r"\A[A-Za-z0-9_.\-]+\Z")

SQL = """
SELECT
  DATE(usage_start_time) AS usage_date,
  billing_account_id,
  project.id AS project_id,
  project.name AS project_name,
  service.id AS service_id,
  service.description AS service_name,
  sku.id AS sku_id,
  sku.description AS sku_description,
  location.region AS region,
  cost_type,
  currency,
  SUM(cost) AS cost,
  SUM(IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0)) AS credits,
  SUM(IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c
              WHERE c.type LIKE 'COMMITTED_USAGE_DISCOUNT%'), 0)) AS commitment_credits,
  MAX((SELECT c.id FROM UNNEST(credits) AS c WHERE c.type LIKE 'COMMITTED_USAGE_DISCOUNT%' LIMIT 1))
    AS commitment_id,
  MAX((SELECT c.full_name FROM UNNEST(credits) AS c WHERE c.type LIKE 'COMMITTED_USAGE_DISCOUNT%' LIMIT 1))
    AS commitment_name,
  MAX((SELECT c.type FROM UNNEST(credits) AS c WHERE c.type LIKE 'COMMITTED_USAGE_DISCOUNT%' LIMIT 1))
    AS commitment_type,
  SUM(IFNULL(cost_at_list, cost)) AS cost_at_list,
  SUM(usage.amount_in_pricing_units) AS pricing_quantity,
  ANY_VALUE(usage.pricing_unit) AS pricing_unit,
  SUM(usage.amount) AS usage_amount,
  ANY_VALUE(usage.unit) AS usage_unit,
  TO_JSON_STRING(labels) AS labels_json
FROM `{table}`
WHERE _PARTITIONTIME >= TIMESTAMP(DATE_SUB(@start_date, INTERVAL 1 DAY))
  AND usage_start_time >= TIMESTAMP(@start_date)
  AND usage_start_time < TIMESTAMP(@end_date_exclusive)
GROUP BY usage_date, billing_account_id, project_id, project_name, service_id, service_name, sku_id,
  sku_description, region, cost_type, currency, labels_json
ORDER BY usage_date, cost DESC
"""


def missing(cfg: CostConfig) -> str | None:
    needs = [] if cfg.gcp_billing_table else ["Variable genai_cost_gcp_billing_table"]
    if not connection_exists(cfg.gcp_conn_id):
        needs.insert(0, f"connection {cfg.gcp_conn_id} (type google_cloud_platform)")
    return f"add {' + '.join(needs)}" if needs else None


def read(cfg: CostConfig, start: date, end: date) -> SourceRead:
    """The query covers the whole window or raises: a complete read replaces the window."""
    return SourceRead(fetch(start, end, cfg.gcp_conn_id, cfg.gcp_billing_table))


def build_query(table: str, start: date, end: date) -> tuple[str, Any]:
    """SQL text and the ``google.cloud.bigquery.QueryJobConfig`` carrying its date parameters."""
    from google.cloud import bigquery

    if not _TABLE.match(table) or table.count(".") != 2:
        raise ValueError(f"billing table {table!r} must be project.dataset.gcp_billing_export_v1_<ID>")
    config = bigquery.QueryJobConfig(
        use_legacy_sql=False,
        query_parameters=[
            bigquery.ScalarQueryParameter("start_date", "DATE", start),
            bigquery.ScalarQueryParameter("end_date_exclusive", "DATE", end + timedelta(days=1)),
        ],
    )
    return SQL.format(table=table), config


def _labels(value: Any) -> dict[str, str] | None:
    """``labels_json`` is ``[{"key": .., "value": ..}]`` (TO_JSON_STRING of the labels array)."""
    import json

    if not value:
        return None
    items = json.loads(value) if isinstance(value, str) else value
    return {str(i["key"]): str(i.get("value") or "") for i in items} or None


#: ``cost_type`` of the export → FOCUS ChargeCategory ("regular" is usage).
CHARGE_CATEGORY = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding_error": "Adjustment"}
#: Committed use discount credit types → FOCUS CommitmentDiscountCategory (resource-based CUDs commit
#: to vCPUs/memory, spend-based "dollar base" CUDs to an hourly spend).
CUD_CATEGORY = {"COMMITTED_USAGE_DISCOUNT": "Usage", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE": "Spend"}
_DYNAMIC_SKU = ("spot", "preemptible")


def _pricing_category(sku_description: str | None, commitment_id: str | None) -> str:
    """FOCUS PricingCategory of a usage row: CUD-covered → Committed, Spot/preemptible SKUs → Dynamic."""
    if commitment_id:
        return "Committed"
    if any(word in (sku_description or "").lower() for word in _DYNAMIC_SKU):
        return "Dynamic"
    return "Standard"


def parse_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """FOCUS rows from the query's result rows (dicts keyed by the SELECT aliases).

    One row per day × project × SKU × region × labels, so the pricing columns are the SKU's:
    ``usage.amount_in_pricing_units``/``pricing_unit`` → PricingQuantity/PricingUnit, ``usage.amount``/
    ``unit`` → ConsumedQuantity/ConsumedUnit, ``cost_at_list`` → ListCost, ``cost`` → BilledCost and
    ContractedCost (the account's negotiated price, before credits), ``cost + credits`` →
    EffectiveCost; the unit prices follow as cost ÷ PricingQuantity (:func:`normalize`). SkuPriceId is
    the SKU id with its pricing unit (the export has no price id of its own).
    """
    out = []
    for r in rows:
        day = pd.Timestamp(str(r["usage_date"]), tz="UTC")
        cost = float(r.get("cost") or 0.0)
        category = CHARGE_CATEGORY.get(str(r.get("cost_type") or "regular"), "Adjustment")
        sku = r.get("sku_id") or None
        commitment = r.get("commitment_id") or None
        out.append({
            "ProviderName": "Google Cloud",
            "BillingAccountId": r.get("billing_account_id"),
            "BillingAccountType": "Billing Account",
            "SubAccountId": r.get("project_id"),
            "SubAccountName": r.get("project_name"),
            "SubAccountType": "Project",
            "BillingCurrency": r.get("currency") or "USD",
            "ChargePeriodStart": day,
            "ChargePeriodEnd": day + pd.Timedelta(days=1),
            "ChargeCategory": category,
            "ChargeDescription": r.get("sku_description"),
            "ServiceName": r.get("service_name"),
            "x_ServiceCode": r.get("service_id"),
            "RegionId": r.get("region") or None,
            "BilledCost": cost,
            "ContractedCost": cost,
            "EffectiveCost": cost + float(r.get("credits") or 0.0),
            "ListCost": r.get("cost_at_list"),
            "PricingQuantity": r.get("pricing_quantity"),
            "PricingUnit": r.get("pricing_unit"),
            "PricingCategory": _pricing_category(r.get("sku_description"), commitment) if category == "Usage" else None,
            "ConsumedQuantity": r.get("usage_amount") if category == "Usage" else None,
            "ConsumedUnit": r.get("usage_unit") if category == "Usage" else None,
            "SkuId": sku,
            "SkuMeter": r.get("sku_description") if sku else None,
            "SkuPriceId": f"{sku}/{r.get('pricing_unit')}" if sku and r.get("pricing_unit") else sku,
            "CommitmentDiscountId": commitment,
            "CommitmentDiscountName": r.get("commitment_name"),
            "CommitmentDiscountCategory": CUD_CATEGORY.get(str(r.get("commitment_type"))),
            "CommitmentDiscountType": "Committed use discount" if commitment else None,
            "Tags": _labels(r.get("labels_json")),
        })
    return normalize(pd.DataFrame(out), SOURCE)


def fetch(start: date, end: date, gcp_conn_id: str, table: str) -> pd.DataFrame:
    """Run the billing-export query through BigQueryHook's client; FOCUS rows."""
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    sql, config = build_query(table, start, end)
    hook = BigQueryHook(gcp_conn_id=gcp_conn_id, use_legacy_sql=False)
    client = hook.get_client(project_id=table.split(".")[0])
    rows = [dict(row.items()) for row in client.query(sql, job_config=config).result()]
    log.info("BigQuery billing export %s: %d grouped rows", table, len(rows))
    return parse_rows(rows)
