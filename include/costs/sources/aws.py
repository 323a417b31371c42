"""AWS Cost Explorer ``GetCostAndUsage``: daily cost by SERVICE and one cost-allocation tag.

Called through the amazon provider's ``AwsBaseHook`` (client ``ce``), so credentials, role
assumption and ``endpoint_url`` (the moto server in tests) come from an Airflow ``aws`` connection.
Mapping to FOCUS follows AWS's own FOCUS export: ``UnblendedCost`` → BilledCost, ``AmortizedCost``
→ EffectiveCost (commitments spread over their term), ``UsageQuantity`` → PricingQuantity and
ConsumedQuantity when its unit is one unit (not "N/A"). Cost Explorer has no SKU, list price or
commitment id per group: those FOCUS columns stay null (AWS Data Exports in FOCUS 1.2, read by the
``focus_files`` source, carry them). Cost Explorer's ``TimePeriod.End`` is
exclusive; results are paginated with ``NextPageToken`` (each page is a billed request, about
$0.01, which is why the DAG asks once per run for the whole look-back window).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.costs.focus import normalize
from include.costs.sources import SourceRead
from include.platform.connections import connection_exists

if TYPE_CHECKING:
    from include.costs.config import CostConfig

log = logging.getLogger(__name__)

SOURCE = "aws_cost_explorer"
METRICS = ("UnblendedCost", "AmortizedCost", "UsageQuantity")


def missing(cfg: CostConfig) -> str | None:
    return None if connection_exists(cfg.aws_conn_id) else f"add connection {cfg.aws_conn_id} (type aws)"


def read(cfg: CostConfig, start: date, end: date) -> SourceRead:
    """Cost Explorer answers for the whole window or raises: a complete read replaces the window."""
    frame = fetch(start, end, cfg.aws_conn_id, tag_key=cfg.aws_tag_key, account_id=cfg.aws_account_id)
    return SourceRead(frame)


def build_request(start: date, end: date, tag_key: str) -> dict[str, Any]:
    """``GetCostAndUsage`` arguments for ``start``..``end`` (inclusive days; the API's End is exclusive)."""
    return {
        "TimePeriod": {"Start": start.isoformat(), "End": (end + timedelta(days=1)).isoformat()},
        "Granularity": "DAILY",
        "Metrics": list(METRICS),
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": tag_key}],
    }


def parse_results(pages: list[dict[str, Any]], account_id: str, tag_key: str) -> pd.DataFrame:
    """FOCUS rows from ``GetCostAndUsage`` response pages (``ResultsByTime`` → ``Groups``).

    A tag group key reads ``"<tag_key>$<value>"``; an empty value (``"team$"``) means untagged.
    """
    rows = []
    for page in pages:
        for period in page.get("ResultsByTime", []):
            start = pd.Timestamp(period["TimePeriod"]["Start"], tz="UTC")
            end = pd.Timestamp(period["TimePeriod"]["End"], tz="UTC")
            for group in period.get("Groups", []):
                keys = group.get("Keys", [])
                service = keys[0] if keys else None
                tags = {}
                if len(keys) > 1 and "$" in keys[1]:
                    key, _, value = keys[1].partition("$")
                    if value:
                        tags[key or tag_key] = value
                metrics = group.get("Metrics", {})
                unblended = metrics.get("UnblendedCost", {})
                amortized = metrics.get("AmortizedCost", {})
                usage = metrics.get("UsageQuantity", {})
                # A service's usage spans usage types; Cost Explorer reports its unit only when they
                # share one ("N/A" otherwise), and only then is the sum a quantity.
                unit = usage.get("Unit") if usage.get("Unit") not in (None, "", "N/A") else None
                rows.append({
                    "ProviderName": "AWS",
                    "BillingAccountId": account_id,
                    "SubAccountId": account_id,
                    "BillingCurrency": unblended.get("Unit") or "USD",
                    "ChargePeriodStart": start,
                    "ChargePeriodEnd": end,
                    "ChargeCategory": "Usage",
                    "ServiceName": service,
                    "BilledCost": unblended.get("Amount"),
                    "EffectiveCost": amortized.get("Amount"),
                    "PricingQuantity": usage.get("Amount") if unit else None,
                    "PricingUnit": unit,
                    "ConsumedQuantity": usage.get("Amount") if unit else None,
                    "ConsumedUnit": unit,
                    "Tags": tags or None,
                    "ChargeDescription": "estimated" if period.get("Estimated") else None,
                })
    return normalize(pd.DataFrame(rows), SOURCE)


def fetch(start: date, end: date, aws_conn_id: str, tag_key: str = "team", account_id: str = "") -> pd.DataFrame:
    """Every page of daily cost by service and tag for ``start``..``end`` as FOCUS rows.

    ``account_id`` empty = the account the credentials belong to (STS).
    """
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="ce")
    client = hook.get_conn()
    request = build_request(start, end, tag_key)
    pages = []
    token = None
    while True:
        kwargs = dict(request, NextPageToken=token) if token else request
        page = client.get_cost_and_usage(**kwargs)
        pages.append(page)
        token = page.get("NextPageToken")
        log.info("Cost Explorer page %d: %d periods", len(pages), len(page.get("ResultsByTime", [])))
        if not token:
            break
    return parse_results(pages, account_id or _account_id(hook), tag_key)


def _account_id(hook: Any) -> str:
    """The payer/linked account the credentials belong to (STS), for BillingAccountId."""
    try:
        return hook.get_session().client("sts", endpoint_url=hook.conn_config.endpoint_url,
                                         region_name=hook.region_name).get_caller_identity()["Account"]
    except Exception as exc:  # noqa: BLE001 - a missing sts permission should not lose the costs
        log.warning("Could not read the AWS account id (%s); set Variable genai_cost_aws_account_id", exc)
        return "unknown-aws-account"
