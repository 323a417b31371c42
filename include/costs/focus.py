"""FOCUS 1.2: the one column set every cost source is normalized into.

FOCUS (FinOps Open Cost and Usage Specification) is what AWS Data Exports, Azure ``FocusCost`` and
GCP's FOCUS view already emit; mapping the native APIs onto the same columns lets one report and one
anomaly detector cover every cloud plus our own Airflow workers.

The warehouse table ``focus_costs`` holds :data:`TABLE_COLUMNS`: every column FOCUS 1.2 defines
(mandatory, conditional and recommended), plus a few ``x_`` extras (the spec's prefix for
provider-specific columns). Columns a source cannot fill are null. Each row carries a deterministic
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

#: The four cost metrics every row carries (summed when rows are aggregated).
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
DATETIME_COLUMNS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")

#: Every column FOCUS 1.2 defines (``specification/columns/columns.mdpp`` at tag ``v1.2`` of
#: FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec: mandatory, conditional and recommended), in the spec's
#: alphabetical order. A column a source has no value for is null, as the spec asks of a provider
#: that does not support the concept; FinOps tools that ingest FOCUS expect all of them.
FOCUS_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags",
)
#: FOCUS columns of type Decimal (stored as DOUBLE PRECISION).
DECIMAL_COLUMNS = (
    "BilledCost", "CommitmentDiscountQuantity", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "ListCost", "ListUnitPrice", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingQuantity",
)
#: FOCUS columns in Key-Value format (a JSON object, stored as text).
JSON_COLUMNS = ("SkuPriceDetails", "Tags")
#: Provider/project extras (FOCUS requires the ``x_`` prefix for anything outside the spec).
EXTRA_COLUMNS = ("x_Source", "x_RowKey", "x_ServiceCode", "x_DagId", "x_DagRuns")
TABLE_COLUMNS = FOCUS_COLUMNS + EXTRA_COLUMNS
KEY_COLUMNS = ("x_Source", "ChargePeriodStart", "x_RowKey")

#: Columns that make a row unique within one source and charge period (hashed into ``x_RowKey``).
DIMENSIONS = ("ProviderName", "BillingAccountId", "SubAccountId", "ServiceName", "ResourceType", "ResourceId",
              "RegionId", "ChargeCategory", "ChargeClass", "ChargeDescription", "Tags", "BillingCurrency")
#: Dimensions added with the full FOCUS 1.2 column set. Hashed only when not null, so the key of a
#: row that has none of them is the key it had before (an upgraded warehouse keeps matching its rows).
SKU_DIMENSIONS = ("SkuId", "SkuPriceId", "CommitmentDiscountId", "CommitmentDiscountStatus",
                  "CapacityReservationId", "CapacityReservationStatus", "AvailabilityZone")

# Allowed values (FOCUS 1.2 "Allowed values" tables).
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_CLASSES = ("Correction",)
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed", "Other")
COMMITMENT_DISCOUNT_CATEGORIES = ("Spend", "Usage")
COMMITMENT_DISCOUNT_STATUSES = ("Used", "Unused")
CAPACITY_RESERVATION_STATUSES = ("Used", "Unused")
#: ServiceCategory → its ServiceSubcategory values (each subcategory has exactly one parent).
SERVICE_SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "AI and Machine Learning": ("AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                "Natural Language Processing", "Other (AI and Machine Learning)"),
    "Analytics": ("Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics",
                  "Other (Analytics)"),
    "Business Applications": ("Productivity and Collaboration", "Other (Business Applications)"),
    "Compute": ("Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines",
                "Other (Compute)"),
    "Databases": ("Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases",
                  "Time Series Databases", "Other (Databases)"),
    "Developer Tools": ("Developer Platforms", "Continuous Integration and Deployment", "Development Environments",
                        "Source Code Management", "Quality Assurance", "Other (Developer Tools)"),
    "Identity": ("Identity and Access Management", "Other (Identity)"),
    "Integration": ("API Management", "Messaging", "Workflow Orchestration", "Other (Integration)"),
    "Internet of Things": ("IoT Analytics", "IoT Platforms", "Other (Internet of Things)"),
    "Management and Governance": ("Architecture", "Compliance", "Cost Management", "Data Governance",
                                  "Disaster Recovery", "Endpoint Management", "Observability", "Support",
                                  "Other (Management and Governance)"),
    "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality", "Other (Media)"),
    "Migration": ("Data Migration", "Resource Migration", "Other (Migration)"),
    "Mobile": ("Other (Mobile)",),
    "Multicloud": ("Multicloud Integration", "Other (Multicloud)"),
    "Networking": ("Application Networking", "Content Delivery", "Network Connectivity", "Network Infrastructure",
                   "Network Routing", "Network Security", "Other (Networking)"),
    "Security": ("Secret Management", "Security Posture Management", "Threat Detection and Response",
                 "Other (Security)"),
    "Storage": ("Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms",
                "Other (Storage)"),
    "Web": ("Application Platforms", "Other (Web)"),
    "Other": ("Other (Other)",),
}
SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media",
    "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other",
)
ALL_SERVICE_SUBCATEGORIES = tuple(s for subs in SERVICE_SUBCATEGORIES.values() for s in subs)

# Keyword → FOCUS ServiceCategory and ServiceSubcategory. The native APIs return only a service name;
# the spec's lists are short, so a keyword table covers the services ML teams pay for. The first
# category with a matching keyword wins, then its first matching subcategory ("Other (<category>)"
# when only the category's general keywords match).
_CATEGORY_KEYWORDS: tuple[tuple[str, tuple[tuple[tuple[str, ...], str], ...]], ...] = (
    ("AI and Machine Learning", (
        (("bedrock", "openai", "gemini"), "Generative AI"),
        (("comprehend",), "Natural Language Processing"),
        (("sagemaker", "vertex", "machine learning", "ai platform"), "Machine Learning"),
        (("cognitive", "rekognition"), "Other (AI and Machine Learning)"))),
    ("Analytics", (
        (("bigquery", "athena", "redshift", "synapse"), "Analytics Platforms"),
        (("glue", "emr", "dataflow", "dataproc", "databricks"), "Data Processing"),
        (("kinesis",), "Streaming Analytics"),
        (("analytics",), "Other (Analytics)"))),
    ("Databases", (
        (("rds", "cloud sql", "spanner"), "Relational Databases"),
        (("dynamodb", "cosmos", "firestore"), "NoSQL Databases"),
        (("elasticache",), "Caching"),
        (("database",), "Other (Databases)"))),
    ("Storage", (
        (("s3", "cloud storage", "blob"), "Object Storage"),
        (("efs",), "File Storage"),
        (("ebs",), "Block Storage"),
        (("glacier", "backup"), "Backup Storage"),
        (("storage",), "Other (Storage)"))),
    ("Networking", (
        (("cloudfront", "cdn"), "Content Delivery"),
        (("load balanc",), "Application Networking"),
        (("dns", "route 53"), "Network Routing"),
        (("bandwidth",), "Network Connectivity"),
        (("vpc", "nat", "network"), "Network Infrastructure"))),
    ("Management and Governance", (
        (("cloudwatch", "monitor", "logging"), "Observability"),
        (("cloudtrail", "config"), "Compliance"))),
    ("Security", (
        (("kms", "key vault"), "Secret Management"),
        (("guardduty", "defender"), "Threat Detection and Response"),
        (("security", "waf"), "Other (Security)"))),
    ("Compute", (
        (("ec2", "virtual machine", "compute engine"), "Virtual Machines"),
        (("lambda", "fargate", "cloud run", "functions"), "Serverless Compute"),
        (("ecs", "eks", "kubernetes", "container"), "Containers"),
        (("compute", "batch", "airflow"), "Other (Compute)"))),
)

#: RegionId → RegionName for the regions the project's providers bill most (the providers' own
#: display names). Any other region keeps its id as its name: FOCUS requires a RegionName whenever
#: a RegionId is present, and the id is the only name such a source gives.
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "Europe (Ireland)", "eu-central-1": "Europe (Frankfurt)",
    "eu-west-2": "Europe (London)", "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "us-central1": "Iowa", "us-east1": "South Carolina", "us-east4": "Northern Virginia", "us-west1": "Oregon",
    "europe-west1": "Belgium", "europe-west4": "Netherlands", "asia-east1": "Taiwan",
    "us": "United States (multi-region)", "eu": "European Union (multi-region)",
    "eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus2": "West US 2",
    "westeurope": "West Europe", "northeurope": "North Europe", "centralus": "Central US",
}


def _classify(service_name: str | None) -> tuple[str, str]:
    name = (service_name or "").lower()
    for category, subs in _CATEGORY_KEYWORDS:
        for keywords, sub in subs:
            if any(k in name for k in keywords):
                return category, sub
    return "Other", "Other (Other)"


def service_category(service_name: str | None) -> str:
    """FOCUS ServiceCategory for a service name (``Other`` when no keyword matches)."""
    return _classify(service_name)[0]


def service_subcategory(service_name: str | None, category: str | None = None) -> str:
    """FOCUS ServiceSubcategory for a service name, always a child of ``category`` when one is given.

    A source that states its own category (the platform's "Compute") keeps it: a keyword match under
    another category then falls back to that category's "Other (<category>)".
    """
    found_category, sub = _classify(service_name)
    if category and category != found_category:
        return f"Other ({category})" if category in SERVICE_SUBCATEGORIES else "Other (Other)"
    return sub


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
    """Deterministic hash of a row's dimensions: the same charge always gets the same key.

    The :data:`SKU_DIMENSIONS` join the hash only when set (``name=value``), so two SKUs of one
    service stay two rows while a row without SKU details keeps the key it had before they existed.
    """
    parts = [_text(row.get(c)) or "" for c in DIMENSIONS]
    parts += [f"{c}={_text(row.get(c))}" for c in SKU_DIMENSIONS if _text(row.get(c))]
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


def _fill(out: pd.DataFrame, col: str, values: Any) -> None:
    """Set ``col`` to ``values`` where it is null (the source's own value always wins)."""
    out[col] = out[col].where(out[col].notna(), values)


def _null_unless(out: pd.DataFrame, col: str, keep: pd.Series) -> None:
    out[col] = out[col].where(keep, None)


def _derive(out: pd.DataFrame) -> None:
    """The spec's derived values and conditional nullability (FOCUS 1.2 column requirements)."""
    billed = out["BilledCost"]
    for col in ("EffectiveCost", "ListCost", "ContractedCost"):
        _fill(out, col, billed)
    start, end = _month_bounds(out["ChargePeriodStart"])
    _fill(out, "BillingPeriodStart", start)
    _fill(out, "BillingPeriodEnd", end)
    _fill(out, "ChargeCategory", "Usage")
    _fill(out, "BillingCurrency", "USD")
    _fill(out, "PublisherName", out["ProviderName"])
    _fill(out, "InvoiceIssuerName", out["ProviderName"])
    category = out["ChargeCategory"]
    # ChargeFrequency (recommended, never null): usage is "Usage-Based"; a purchase MUST NOT be, and
    # one a source does not call "Recurring" is one-time, as are taxes, credits and adjustments.
    _fill(out, "ChargeFrequency", category.map(lambda c: "Usage-Based" if c == "Usage" else "One-Time"))
    # Unit prices: ListCost = ListUnitPrice x PricingQuantity (likewise contracted), so where a
    # source gives costs and a quantity but no price, the price is the quotient (an average over
    # price tiers when the source summed several).
    qty = out["PricingQuantity"]
    priced = qty.notna() & (qty > 0)
    _fill(out, "ListUnitPrice", (out["ListCost"] / qty).where(priced))
    _fill(out, "ContractedUnitPrice", (out["ContractedCost"] / qty).where(priced))
    # Tax rows carry no pricing (PricingQuantity/Unit/Category, unit prices, SkuPriceId MUST be null).
    not_tax = category != "Tax"
    for col in ("PricingQuantity", "PricingUnit", "PricingCategory", "ListUnitPrice", "ContractedUnitPrice",
                "SkuPriceId"):
        _null_unless(out, col, not_tax)
    # Names follow their ids: MUST be null when the id is null, MUST NOT be null when it is not.
    _fill(out, "RegionName", out["RegionId"].map(lambda r: None if _missing(r) else REGION_NAMES.get(str(r), r)))
    _fill(out, "SubAccountName", out["SubAccountId"])
    for col, parent in (("RegionName", "RegionId"), ("SubAccountName", "SubAccountId"),
                        ("SubAccountType", "SubAccountId"), ("BillingAccountType", "BillingAccountId"),
                        ("SkuMeter", "SkuId"), ("SkuPriceDetails", "SkuPriceId"),
                        ("CapacityReservationStatus", "CapacityReservationId")):
        _null_unless(out, col, out[parent].notna())
    # Commitment discounts: every CommitmentDiscount* column is null without an id; a usage row that
    # names a commitment and no status is the used part of it.
    has_cd = out["CommitmentDiscountId"].notna()
    for col in ("CommitmentDiscountCategory", "CommitmentDiscountName", "CommitmentDiscountStatus",
                "CommitmentDiscountType", "CommitmentDiscountQuantity", "CommitmentDiscountUnit"):
        _null_unless(out, col, has_cd)
    out["CommitmentDiscountStatus"] = out["CommitmentDiscountStatus"].where(
        out["CommitmentDiscountStatus"].notna() | ~(has_cd & (category == "Usage")), "Used")
    _null_unless(out, "CommitmentDiscountQuantity", has_cd & category.isin(["Usage", "Purchase"]))
    _null_unless(out, "CommitmentDiscountUnit", out["CommitmentDiscountQuantity"].notna())
    out["ServiceCategory"] = pd.Series(
        [sc if isinstance(sc, str) and sc else service_category(_text(sn))
         for sc, sn in zip(out["ServiceCategory"], out["ServiceName"], strict=True)], index=out.index, dtype=object)
    out["ServiceSubcategory"] = pd.Series(
        [sub if isinstance(sub, str) and sub else service_subcategory(_text(sn), _text(sc))
         for sub, sn, sc in zip(out["ServiceSubcategory"], out["ServiceName"], out["ServiceCategory"], strict=True)],
        index=out.index, dtype=object)


def normalize(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Coerce a source's FOCUS-shaped frame into exactly :data:`TABLE_COLUMNS` with FOCUS types.

    Every FOCUS 1.2 column is present; what the source has no value for is null. Fills what the spec
    derives from other columns (billing period from the charge period, ``EffectiveCost``/``ListCost``/
    ``ContractedCost`` from ``BilledCost`` when a source has no discounts, unit prices from cost ÷
    ``PricingQuantity``, ``ServiceCategory``/``ServiceSubcategory`` from the service name,
    ``PublisherName``/``InvoiceIssuerName`` from the provider, ``ChargeFrequency`` from the charge
    category, ``RegionName``/``SubAccountName`` from their ids) and nulls what the spec says must be
    null (pricing on tax rows, commitment details without a commitment id). Drops unknown columns
    and adds ``x_Source``/``x_RowKey``. Values that cannot be coerced become null, and values outside
    the spec's allowed lists are kept: both are caught by :mod:`include.costs.validation`.
    """
    out = pd.DataFrame(index=frame.index)
    for col in TABLE_COLUMNS:
        out[col] = frame[col] if col in frame.columns else None
    for col in DECIMAL_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in DATETIME_COLUMNS:
        out[col] = pd.to_datetime(out[col], errors="coerce", utc=True).astype("datetime64[us, UTC]")
    text_cols = [c for c in TABLE_COLUMNS if c not in DECIMAL_COLUMNS + DATETIME_COLUMNS + JSON_COLUMNS + ("x_DagRuns",)]
    for col in text_cols:  # one null (None) for text, whatever the source used (NaN, pd.NA)
        out[col] = pd.Series([_text(v) for v in out[col]], index=out.index, dtype=object)
    _derive(out)
    for col in JSON_COLUMNS:
        out[col] = pd.Series([_safe_tags(t) for t in out[col]], index=out.index, dtype=object)
    out["x_DagId"] = pd.Series(
        [d if isinstance(d, str) and d else _dag_id_from_tags(t) for d, t in zip(out["x_DagId"], out["Tags"], strict=True)],
        index=out.index, dtype=object)
    out["x_DagRuns"] = pd.to_numeric(out["x_DagRuns"], errors="coerce").astype("Int64")
    for col in text_cols:
        out[col] = pd.Series([_text(v) for v in out[col]], index=out.index, dtype=object)
    for col in DECIMAL_COLUMNS:
        out[col] = out[col].astype("float64")
    out["x_Source"] = pd.Series([source] * len(out), index=out.index, dtype=object)
    out["x_RowKey"] = pd.Series([row_key(r) for r in out[list(DIMENSIONS + SKU_DIMENSIONS)].to_dict("records")],
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
    sums = {c: "sum" for c in COST_COLUMNS + ("ConsumedQuantity", "PricingQuantity", "CommitmentDiscountQuantity")}
    firsts = {c: "first" for c in TABLE_COLUMNS if c not in sums and c not in KEY_COLUMNS}
    grouped = frame.groupby(list(KEY_COLUMNS), dropna=False, sort=False).agg({**sums, **firsts}).reset_index()
    # Summed costs over a summed quantity: the unit prices stay ListCost = ListUnitPrice x PricingQuantity.
    merged = frame.groupby(list(KEY_COLUMNS), dropna=False, sort=False).size().to_numpy() > 1
    qty = grouped["PricingQuantity"]
    priced = qty.notna() & (qty > 0) & merged
    grouped["ListUnitPrice"] = (grouped["ListCost"] / qty).where(priced, grouped["ListUnitPrice"])
    grouped["ContractedUnitPrice"] = (grouped["ContractedCost"] / qty).where(priced, grouped["ContractedUnitPrice"])
    return grouped[list(TABLE_COLUMNS)]
