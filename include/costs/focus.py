"""FOCUS 1.2: the one column set every cost source is normalized into.

FOCUS (FinOps Open Cost and Usage Specification) is what AWS Data Exports, Azure ``FocusCost`` and
GCP's FOCUS view already emit; mapping the native APIs onto the same columns lets one report and one
anomaly detector cover every cloud plus our own Airflow workers.

The warehouse table ``focus_costs`` holds :data:`TABLE_COLUMNS`: the FOCUS columns we can fill from
every source, plus a few ``x_`` extras (the spec's prefix for provider-specific columns). Columns a
source cannot fill stay null where the spec allows it. Each row carries a deterministic
``x_RowKey`` (hash of its dimensions): together with ``x_Source`` and ``ChargePeriodStart`` it is the
natural key for :func:`include.platform.warehouse.replace_rows`, so rerunning a date replaces rows
instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

TABLE = "focus_costs"

COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
DATETIME_COLUMNS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")

#: FOCUS 1.2 columns the table carries (a subset of the spec: those the native APIs can fill).
FOCUS_COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
    "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ConsumedQuantity", "ConsumedUnit",
    "ProviderName", "PublisherName", "InvoiceIssuerName",
    "RegionId", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "SubAccountId", "Tags",
)
#: Provider/project extras (FOCUS requires the ``x_`` prefix for anything outside the spec).
EXTRA_COLUMNS = ("x_Source", "x_RowKey", "x_ServiceCode", "x_DagId", "x_DagRuns")
TABLE_COLUMNS = FOCUS_COLUMNS + EXTRA_COLUMNS
KEY_COLUMNS = ("x_Source", "ChargePeriodStart", "x_RowKey")

#: Columns that make a row unique within one source and charge period (hashed into ``x_RowKey``).
DIMENSIONS = ("ProviderName", "BillingAccountId", "SubAccountId", "ServiceName", "ResourceType", "ResourceId",
              "RegionId", "ChargeCategory", "ChargeClass", "ChargeDescription", "Tags", "BillingCurrency")

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media",
    "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other",
)

# Keyword → FOCUS ServiceCategory. The native APIs return only a service name; the spec's category
# list is short, so a keyword table covers the services ML teams pay for (first match wins).
_CATEGORY_KEYWORDS = (
    (("sagemaker", "bedrock", "vertex", "machine learning", "openai", "cognitive", "ai platform",
      "comprehend", "rekognition", "gemini"), "AI and Machine Learning"),
    (("bigquery", "athena", "redshift", "glue", "emr", "dataflow", "dataproc", "databricks", "synapse",
      "kinesis", "analytics"), "Analytics"),
    (("rds", "dynamodb", "cloud sql", "spanner", "cosmos", "database", "firestore", "elasticache"), "Databases"),
    (("s3", "storage", "glacier", "efs", "ebs", "backup"), "Storage"),
    (("cloudfront", "vpc", "network", "load balanc", "dns", "route 53", "nat", "bandwidth", "cdn"), "Networking"),
    (("cloudwatch", "monitor", "logging", "cloudtrail", "config"), "Management and Governance"),
    (("kms", "key vault", "security", "guardduty", "waf", "defender"), "Security"),
    (("ec2", "compute", "virtual machine", "lambda", "fargate", "ecs", "eks", "kubernetes", "cloud run",
      "functions", "batch", "airflow", "container"), "Compute"),
)


def service_category(service_name: str | None) -> str:
    """FOCUS ServiceCategory for a service name (``Other`` when no keyword matches)."""
    name = (service_name or "").lower()
    for keywords, category in _CATEGORY_KEYWORDS:
        if any(k in name for k in keywords):
            return category
    return "Other"


def tags_json(tags: dict[str, Any] | str | None) -> str | None:
    """FOCUS ``Tags``: a JSON object of string keys to string values, keys sorted (stable hashes)."""
    if _missing(tags):
        return None
    if isinstance(tags, str):
        if not tags.strip():
            return None
        tags = json.loads(tags)
    if not isinstance(tags, dict):
        raise ValueError(f"Tags must be a JSON object, got {type(tags).__name__}")
    return json.dumps({str(k): ("" if v is None else str(v)) for k, v in tags.items()}, sort_keys=True) or None


def row_key(row: dict[str, Any]) -> str:
    """Deterministic hash of a row's dimensions: the same charge always gets the same key."""
    parts = [_text(row.get(c)) or "" for c in DIMENSIONS]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def _month_bounds(ts: pd.Series) -> tuple[pd.Series, pd.Series]:
    start = ts.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.tz_localize("UTC")
    end = (start + pd.offsets.MonthBegin(1))
    return start, end


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA (pandas 3 stores missing text as NaN in ``str`` columns)."""
    return value is None or (not isinstance(value, (str, dict, list)) and bool(pd.isna(value)))


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _dag_id_from_tags(tags: Any) -> str | None:
    if not isinstance(tags, str) or not tags:
        return None
    try:
        parsed = json.loads(tags)
    except ValueError:
        return None
    return (parsed.get("airflow_dag_id") or parsed.get("dag_id")) if isinstance(parsed, dict) else None


def normalize(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Coerce a source's FOCUS-shaped frame into exactly :data:`TABLE_COLUMNS` with FOCUS types.

    Fills what the spec defines from other columns (billing period from the charge period,
    ``EffectiveCost``/``ListCost``/``ContractedCost`` from ``BilledCost`` when a source has no
    discounts, ``ServiceCategory`` from the service name, ``PublisherName``/``InvoiceIssuerName``
    from the provider), drops unknown columns, and adds ``x_Source``/``x_RowKey``. Values that
    cannot be coerced become null and are caught by :mod:`include.costs.validation`.
    """
    out = pd.DataFrame(index=frame.index)
    for col in TABLE_COLUMNS:
        out[col] = frame[col] if col in frame.columns else None
    for col in COST_COLUMNS + ("ConsumedQuantity",):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in DATETIME_COLUMNS:
        out[col] = pd.to_datetime(out[col], errors="coerce", utc=True).astype("datetime64[us, UTC]")
    billed = out["BilledCost"]
    for col in ("EffectiveCost", "ListCost", "ContractedCost"):
        out[col] = out[col].where(out[col].notna(), billed)
    start, end = _month_bounds(out["ChargePeriodStart"])
    out["BillingPeriodStart"] = out["BillingPeriodStart"].where(out["BillingPeriodStart"].notna(), start)
    out["BillingPeriodEnd"] = out["BillingPeriodEnd"].where(out["BillingPeriodEnd"].notna(), end)
    out["ChargeCategory"] = out["ChargeCategory"].where(out["ChargeCategory"].notna(), "Usage")
    out["BillingCurrency"] = out["BillingCurrency"].where(out["BillingCurrency"].notna(), "USD")
    out["PublisherName"] = out["PublisherName"].where(out["PublisherName"].notna(), out["ProviderName"])
    out["InvoiceIssuerName"] = out["InvoiceIssuerName"].where(out["InvoiceIssuerName"].notna(), out["ProviderName"])
    out["ServiceCategory"] = pd.Series(
        [sc if isinstance(sc, str) and sc else service_category(_text(sn))
         for sc, sn in zip(out["ServiceCategory"], out["ServiceName"], strict=True)], index=out.index, dtype=object)
    out["Tags"] = pd.Series([_safe_tags(t) for t in out["Tags"]], index=out.index, dtype=object)
    out["x_DagId"] = pd.Series(
        [d if isinstance(d, str) and d else _dag_id_from_tags(t) for d, t in zip(out["x_DagId"], out["Tags"], strict=True)],
        index=out.index, dtype=object)
    out["x_DagRuns"] = pd.to_numeric(out["x_DagRuns"], errors="coerce").astype("Int64")
    text_cols = [c for c in TABLE_COLUMNS if c not in COST_COLUMNS + DATETIME_COLUMNS + ("ConsumedQuantity", "x_DagRuns")]
    for col in text_cols:
        out[col] = pd.Series([_text(v) for v in out[col]], index=out.index, dtype=object)
    out["x_Source"] = pd.Series([source] * len(out), index=out.index, dtype=object)
    out["x_RowKey"] = pd.Series([row_key(r) for r in out[list(DIMENSIONS)].to_dict("records")],
                                index=out.index, dtype=object)
    return out.reset_index(drop=True)


def _safe_tags(value: Any) -> str | None:
    """Tags as canonical JSON; an unparseable value is kept verbatim so validation can quarantine it."""
    try:
        return tags_json(value)
    except (ValueError, TypeError):
        return str(value)


def empty_frame() -> pd.DataFrame:
    """A zero-row frame with the table's columns and dtypes (a source that found nothing)."""
    return normalize(pd.DataFrame(columns=list(TABLE_COLUMNS)), source="none").iloc[0:0]


def aggregate_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum cost/quantity of rows that share a natural key (e.g. hourly rows of one daily charge).

    Native exports can legitimately repeat a dimension combination within a charge period (hourly
    granularity, several SKUs mapped to one service); the table holds one row per key.
    """
    if frame.empty or not frame.duplicated(subset=list(KEY_COLUMNS)).any():
        return frame
    sums = {c: "sum" for c in COST_COLUMNS + ("ConsumedQuantity",)}
    firsts = {c: "first" for c in TABLE_COLUMNS if c not in sums and c not in KEY_COLUMNS}
    grouped = frame.groupby(list(KEY_COLUMNS), dropna=False, sort=False).agg({**sums, **firsts}).reset_index()
    return grouped[list(TABLE_COLUMNS)]
