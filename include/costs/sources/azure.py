"""Azure Cost Management ``Query``: daily ActualCost grouped by ResourceType (as in the article).

Cost Management allows two groupings per query (ResourceType, ServiceName), so a row spans meters
with different units and prices: PricingQuantity/Unit, unit prices and SKU columns stay null (an
Azure ``FocusCost`` export, read by the ``focus_files`` source, carries them).

``azure-mgmt-costmanagement`` is not in this project's environment, so the request is the
documented REST call built with azure-core's own types (``HttpRequest`` sent by a
``PipelineClient`` with ``BearerTokenCredentialPolicy`` and Azure's retry policy, which honours
the ``Retry-After`` of the per-scope rate limit)::

    POST {endpoint}{scope}/providers/Microsoft.CostManagement/query?api-version=2025-03-01

The credential comes from the microsoft-azure provider's ``AzureBaseHook`` (connection
``azure_cost_management``: service principal in login/password + ``tenantId``, or managed /
workload identity), the scope from the connection extra ``scope`` (e.g. ``/subscriptions/<id>``,
a resource group, or a billing account) or ``subscriptionId``. The response is a table
(``properties.columns`` + ``properties.rows``) continued by ``properties.nextLink``.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.costs.focus import normalize
from include.costs.sources import SourceRead
from include.platform.connections import connection_exists

if TYPE_CHECKING:
    from include.costs.config import CostConfig

log = logging.getLogger(__name__)

SOURCE = "azure_cost_management"
API_VERSION = "2025-03-01"
DEFAULT_ENDPOINT = "https://management.azure.com"
SCOPE_TOKEN = "https://management.azure.com/.default"


def missing(cfg: CostConfig) -> str | None:
    if connection_exists(cfg.azure_conn_id):
        return None
    return f"add connection {cfg.azure_conn_id} (type azure, extra scope)"


def read(cfg: CostConfig, start: date, end: date) -> SourceRead:
    """The query answers for the whole window or raises: a complete read replaces the window."""
    return SourceRead(fetch(start, end, cfg.azure_conn_id))


def query_body(start: date, end: date, cost_type: str = "ActualCost") -> dict[str, Any]:
    """The documented QueryDefinition: Custom timeframe, Daily, Sum of Cost, by ResourceType + ServiceName.

    Cost Management allows at most two groupings; ResourceType is the article's, ServiceName lets
    the anomaly detector name a service. ``timePeriod.to`` is inclusive (end of the last day).
    """
    return {
        "type": cost_type,
        "timeframe": "Custom",
        "timePeriod": {"from": f"{start.isoformat()}T00:00:00+00:00", "to": f"{end.isoformat()}T23:59:59+00:00"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "Dimension", "name": "ResourceType"}, {"type": "Dimension", "name": "ServiceName"}],
        },
    }


def build_request(scope: str, start: date, end: date, endpoint: str = DEFAULT_ENDPOINT,
                  cost_type: str = "ActualCost") -> Any:
    """The ``azure.core.rest.HttpRequest`` for one query (what the SDK's ``QueryOperations.usage`` sends)."""
    from azure.core.rest import HttpRequest

    scope = "/" + scope.strip("/")
    return HttpRequest(
        "POST",
        f"{endpoint.rstrip('/')}{scope}/providers/Microsoft.CostManagement/query",
        params={"api-version": API_VERSION},
        json=query_body(start, end, cost_type),
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )


def _usage_date(value: Any) -> pd.Timestamp:
    """``UsageDate`` is a number like 20261122 (or an ISO string when granularity is by month)."""
    text = str(int(value)) if isinstance(value, (int, float)) else str(value)
    return pd.Timestamp(text[:10] if "-" in text else f"{text[:4]}-{text[4:6]}-{text[6:8]}", tz="UTC")


def parse_response(pages: list[dict[str, Any]], scope: str) -> pd.DataFrame:
    """FOCUS rows from QueryResult pages (column order is given by ``properties.columns``)."""
    rows = []
    sub = scope.strip("/").split("/")[1] if scope.strip("/").startswith("subscriptions/") else scope
    for page in pages:
        props = page.get("properties", {})
        names = [c["name"] for c in props.get("columns", [])]
        for values in props.get("rows", []):
            rec = dict(zip(names, values, strict=False))
            cost = rec.get("Cost", rec.get("PreTaxCost"))
            day = _usage_date(rec["UsageDate"])
            rtype = rec.get("ResourceType") or None
            rows.append({
                "ProviderName": "Microsoft",
                "BillingAccountId": sub,
                "SubAccountId": sub,
                "SubAccountType": "Subscription" if sub != scope else None,
                "BillingCurrency": rec.get("Currency") or "USD",
                "ChargePeriodStart": day,
                "ChargePeriodEnd": day + pd.Timedelta(days=1),
                "ChargeCategory": "Usage",
                "ServiceName": rec.get("ServiceName") or (rtype.split("/")[0] if rtype else "Unassigned"),
                "ResourceType": rtype,
                "BilledCost": cost,
            })
    return normalize(pd.DataFrame(rows), SOURCE)


def fetch(start: date, end: date, azure_conn_id: str, max_pages: int = 100) -> pd.DataFrame:
    """Run the query (following ``nextLink``) with the connection's credential; FOCUS rows."""
    from airflow.providers.microsoft.azure.hooks.base_azure import AzureBaseHook
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy

    hook = AzureBaseHook(conn_id=azure_conn_id)
    conn = hook.get_connection(hook.conn_id)
    extra = conn.extra_dejson
    scope = extra.get("scope") or (f"/subscriptions/{extra['subscriptionId']}" if extra.get("subscriptionId") else None)
    if not scope:
        raise ValueError(f"connection {hook.conn_id!r} needs extra 'scope' (e.g. /subscriptions/<id>) "
                         "or 'subscriptionId'")
    endpoint = conn.host or DEFAULT_ENDPOINT
    credential = hook.get_credential(conn=conn)
    if not hasattr(credential, "get_token"):  # the provider's legacy msrest credentials cannot sign azure-core calls
        raise ValueError(f"connection {hook.conn_id!r}: set extra use_azure_identity_object: true "
                         "(azure-identity credential) for Cost Management queries")
    policies = [RetryPolicy(retry_total=5), BearerTokenCredentialPolicy(credential, SCOPE_TOKEN)]
    pages = []
    with PipelineClient(base_url=endpoint, policies=policies) as client:
        request = build_request(scope, start, end, endpoint)
        while request is not None and len(pages) < max_pages:
            response = client.send_request(request)
            response.raise_for_status()
            page = json.loads(response.text())
            pages.append(page)
            next_link = page.get("properties", {}).get("nextLink")
            # nextLink carries a skiptoken; the query body must be posted again with it.
            request = None
            if next_link:
                from azure.core.rest import HttpRequest

                request = HttpRequest("POST", next_link, json=query_body(start, end),
                                      headers={"Accept": "application/json"})
    log.info("Azure Cost Management: %d page(s) for %s", len(pages), scope)
    return parse_response(pages, scope)
