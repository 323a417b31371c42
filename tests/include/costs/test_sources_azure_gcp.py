"""Azure Cost Management and GCP billing export: requests built with the real SDK types, responses
parsed from fixtures shaped like the documented schemas (no emulator exists for either API)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from include.costs.sources import azure, gcp
from include.costs.validation import validate

SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000001"


def test_azure_request_is_the_documented_query():
    from azure.core.rest import HttpRequest

    req = azure.build_request(SCOPE, date(2026, 11, 1), date(2026, 11, 22))
    assert isinstance(req, HttpRequest)
    assert req.method == "POST"
    assert req.url.startswith(
        "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000001"
        "/providers/Microsoft.CostManagement/query?")
    assert "api-version=2025-03-01" in req.url
    body = json.loads(req.content)
    assert body["type"] == "ActualCost" and body["timeframe"] == "Custom"
    assert body["timePeriod"] == {"from": "2026-11-01T00:00:00+00:00", "to": "2026-11-22T23:59:59+00:00"}
    assert body["dataset"]["granularity"] == "Daily"
    assert body["dataset"]["aggregation"] == {"totalCost": {"name": "Cost", "function": "Sum"}}
    assert {"type": "Dimension", "name": "ResourceType"} in body["dataset"]["grouping"]
    assert len(body["dataset"]["grouping"]) <= 2  # the API's limit


def _azure_page(rows: list[list], next_link: str | None) -> dict:
    """A QueryResult as documented: columns (name/type) + positional rows + nextLink."""
    return {
        "id": f"{SCOPE}/providers/Microsoft.CostManagement/query/5f1c8e2a",
        "name": "5f1c8e2a", "type": "Microsoft.CostManagement/query",
        "properties": {
            "nextLink": next_link,
            "columns": [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"},
                        {"name": "ResourceType", "type": "String"}, {"name": "ServiceName", "type": "String"},
                        {"name": "Currency", "type": "String"}],
            "rows": rows,
        },
    }


def test_azure_response_pages_become_focus_rows():
    pages = [
        _azure_page([[120.25, 20261121, "microsoft.machinelearningservices/workspaces", "Azure Machine Learning", "USD"],
                     [70.5, 20261121, "microsoft.compute/virtualmachines", "Virtual Machines", "USD"]],
                    next_link=f"https://management.azure.com{SCOPE}/providers/Microsoft.CostManagement/query?"
                              "api-version=2025-03-01&$skiptoken=AQAAAA%3D%3D"),
        _azure_page([[480.0, 20261122, "microsoft.machinelearningservices/workspaces", "Azure Machine Learning", "USD"],
                     [0.0, 20261122, "", None, "USD"]], next_link=None),
    ]
    frame = azure.parse_response(pages, SCOPE)
    assert len(frame) == 4
    aml = frame[frame["ServiceName"] == "Azure Machine Learning"].sort_values("ChargePeriodStart")
    assert aml["BilledCost"].tolist() == [120.25, 480.0]
    assert aml["ResourceType"].iloc[0] == "microsoft.machinelearningservices/workspaces"
    assert aml["ChargePeriodStart"].iloc[1] == pd.Timestamp("2026-11-22", tz="UTC")
    assert aml["ChargePeriodEnd"].iloc[1] == pd.Timestamp("2026-11-23", tz="UTC")
    assert set(frame["ProviderName"]) == {"Microsoft"}
    assert set(frame["SubAccountId"]) == {"00000000-0000-0000-0000-000000000001"}
    assert frame[frame["ResourceType"].isna()]["ServiceName"].iloc[0] == "Unassigned"
    assert validate(frame).success


def test_gcp_query_uses_parameters_and_the_export_schema():
    from google.cloud import bigquery

    sql, config = gcp.build_query("billing-prj.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7G8H9",
                                  date(2026, 11, 1), date(2026, 11, 22))
    assert isinstance(config, bigquery.QueryJobConfig) and config.use_legacy_sql is False
    params = {p.name: (p.type_, p.value) for p in config.query_parameters}
    assert params == {"start_date": ("DATE", date(2026, 11, 1)), "end_date_exclusive": ("DATE", date(2026, 11, 23))}
    assert "`billing-prj.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7G8H9`" in sql
    for field in ("usage_start_time", "service.description", "location.region", "UNNEST(credits)", "cost_at_list",
                  "_PARTITIONTIME >= "):
        assert field in sql
    assert "2026-11" not in sql  # dates travel as parameters, never formatted into the SQL
    with pytest.raises(ValueError, match="project.dataset"):
        gcp.build_query("billing; DROP TABLE x", date(2026, 11, 1), date(2026, 11, 2))


def test_gcp_rows_become_focus_rows_with_credits_and_labels():
    rows = [  # what the query returns, one dict per row (google.cloud.bigquery.Row.items())
        {"usage_date": date(2026, 11, 22), "billing_account_id": "01A2B3-C4D5E6-F7G8H9", "project_id": "genai-prod",
         "service_id": "C7E2-9256-1C43", "service_name": "Vertex AI", "region": "us-central1", "currency": "USD",
         "cost": 140.0, "credits": -12.5, "cost_at_list": 150.0, "pricing_quantity": 43.75, "pricing_unit": "hour",
         "labels_json": json.dumps([{"key": "airflow_dag_id", "value": "adaptive_retraining"}])},
        {"usage_date": date(2026, 11, 22), "billing_account_id": "01A2B3-C4D5E6-F7G8H9", "project_id": "genai-prod",
         "service_id": "24E6-581D-38E5", "service_name": "BigQuery", "region": None, "currency": "USD",
         "cost": 60.0, "credits": 0.0, "cost_at_list": None, "pricing_quantity": 1.2, "pricing_unit": "tebibyte",
         "labels_json": "[]"},
    ]
    frame = gcp.parse_rows(rows)
    vertex = frame[frame["ServiceName"] == "Vertex AI"].iloc[0]
    assert vertex["BilledCost"] == 140.0 and vertex["EffectiveCost"] == 127.5 and vertex["ListCost"] == 150.0
    assert vertex["x_DagId"] == "adaptive_retraining"
    assert json.loads(vertex["Tags"]) == {"airflow_dag_id": "adaptive_retraining"}
    assert vertex["SubAccountId"] == "genai-prod" and vertex["RegionId"] == "us-central1"
    bq = frame[frame["ServiceName"] == "BigQuery"].iloc[0]
    assert bq["ListCost"] == 60.0 and bq["Tags"] is None and bq["ServiceCategory"] == "Analytics"
    assert validate(frame).success
