"""FOCUS 1.2 conformance: every spec column, the per-day export, and the FinOps Foundation's validator.

Rows come from every source's real parser (response bodies shaped as the APIs document them, the
demo FOCUS exports read through the ``focus_files`` source from a real temporary lake), then go
through the real load (GX validation, DuckDB warehouse) and the real export step; the export file is
checked by ``focus-validator`` 1.0.0 in its own venv (``scripts/install_focus_validator.sh``).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest

from include.costs import conformance, focus, pipeline
from include.costs.config import CostConfig
from include.costs.export import EXPORT_COLUMNS, export_days, export_path
from include.costs.load import write_rows
from include.costs.sources import airflow as platform
from include.costs.sources import aws, azure, focus_files, gcp
from include.costs.validation import validate
from include.demo.writers import write_cost_exports
from include.platform import storage, warehouse

DAY = date(2026, 11, 22)
PREV = DAY - timedelta(days=1)
MORNING = f"{DAY.isoformat()}T08:00:00Z"


def _aws_rows() -> pd.DataFrame:
    def group(service, tag, unblended, amortized, quantity, unit):
        return {"Keys": [service, tag], "Metrics": {
            "UnblendedCost": {"Amount": f"{unblended:.4f}", "Unit": "USD"},
            "AmortizedCost": {"Amount": f"{amortized:.4f}", "Unit": "USD"},
            "UsageQuantity": {"Amount": f"{quantity}", "Unit": unit}}}

    pages = [{"ResultsByTime": [{"TimePeriod": {"Start": d.isoformat(), "End": (d + timedelta(days=1)).isoformat()},
                                 "Estimated": d == DAY, "Groups": [
                                     group("Amazon SageMaker", "team$ml-platform", 210.5, 200.0, 149.5, "Hrs"),
                                     group("Amazon Simple Storage Service", "team$", 35.25, 35.25, 9.1, "N/A")]}]}
             for d in (PREV, DAY)]
    return aws.parse_results(pages, account_id="123456789012", tag_key="team")


def _azure_rows() -> pd.DataFrame:
    columns = [{"name": n, "type": t} for n, t in (("Cost", "Number"), ("UsageDate", "Number"),
                                                    ("ResourceType", "String"), ("ServiceName", "String"),
                                                    ("Currency", "String"))]
    rows = [[120.0, int(d.strftime("%Y%m%d")), "microsoft.compute/virtualmachines", "Virtual Machines", "USD"]
            for d in (PREV, DAY)]
    return azure.parse_response([{"properties": {"columns": columns, "rows": rows, "nextLink": None}}],
                                "/subscriptions/0000-sub")


def _gcp_rows() -> pd.DataFrame:
    base = {"billing_account_id": "01A2B3-C4D5E6-F7G8H9", "project_id": "genai-prod", "project_name": "GenAI prod",
            "currency": "USD", "labels_json": "[]", "credits": 0.0,
            "commitment_id": None, "commitment_name": None, "commitment_type": None}
    rows = []
    for d in (PREV, DAY):
        rows += [
            {**base, "usage_date": d, "service_id": "6F81-5844-456A", "service_name": "Compute Engine",
             "sku_id": "CP-COMPUTEENGINE-VMIMAGE-N2-STANDARD-8", "sku_description": "N2 Instance Core running in Iowa",
             "region": "us-central1", "cost_type": "regular", "cost": 80.0, "credits": -24.0,
             "commitment_id": "projects/genai-prod/regions/us-central1/commitments/cud-1y",
             "commitment_name": "Committed use discount: N2 cores", "commitment_type": "COMMITTED_USAGE_DISCOUNT",
             "cost_at_list": 84.0, "pricing_quantity": 2400.0, "pricing_unit": "hour", "usage_amount": 8640000.0,
             "usage_unit": "seconds",
             "labels_json": json.dumps([{"key": "airflow_dag_id", "value": "adaptive_retraining"}])},
            {**base, "usage_date": d, "service_id": "6F81-5844-456A", "service_name": "Compute Engine",
             "sku_id": "A1B2-SPOT-T4", "sku_description": "Nvidia Tesla T4 GPU attached to Spot Preemptible VMs",
             "region": "us-central1", "cost_type": "regular", "cost": 3.3, "cost_at_list": 3.3,
             "pricing_quantity": 24.0, "pricing_unit": "hour", "usage_amount": 86400.0, "usage_unit": "seconds"},
            {**base, "usage_date": d, "service_id": "24E6-581D-38E5", "service_name": "BigQuery",
             "sku_id": "BQ-ANALYSIS", "sku_description": "Analysis", "region": None, "cost_type": "regular",
             "cost": 60.0, "cost_at_list": None, "pricing_quantity": 9.6, "pricing_unit": "tebibyte",
             "usage_amount": 1.05e13, "usage_unit": "bytes"},
            {**base, "usage_date": d, "service_id": "6F81-5844-456A", "service_name": "Compute Engine",
             "sku_id": None, "sku_description": "Tax", "region": None, "cost_type": "tax", "cost": 5.1,
             "cost_at_list": None, "pricing_quantity": None, "pricing_unit": None, "usage_amount": None,
             "usage_unit": None},
        ]
    return gcp.parse_rows(rows)


def _platform_rows() -> pd.DataFrame:
    def ti(dag_id, run_id, duration, pool="default_pool", queue="default", start=MORNING):
        return {"task_id": "t", "dag_id": dag_id, "dag_run_id": run_id, "map_index": -1, "start_date": start,
                "end_date": start, "duration": duration, "state": "success", "pool": pool, "pool_slots": 1,
                "queue": queue, "try_number": 1}

    return platform.cost_rows([ti("customer_sentiment_analysis", "r1", 3600), ti("adaptive_retraining", "r1", 7200,
                                                                                 pool="gpu"),
                               ti("adaptive_retraining", "r0", 900, start=f"{PREV.isoformat()}T08:00:00Z")],
                              platform.rate_card())


def _every_source(lake) -> pd.DataFrame:
    """Normalized rows of all five sources for PREV and DAY (focus_files read from the lake)."""
    write_cost_exports(DAY, days=2)
    files = focus_files.read(CostConfig.from_params({}), PREV, DAY)
    assert files.status == "ok" and len(files.frame) == 2 * 10
    frames = {"focus_files": files.frame, "aws_cost_explorer": _aws_rows(), "azure_cost_management": _azure_rows(),
              "gcp_billing_export": _gcp_rows(), "airflow_platform": _platform_rows()}
    for name, frame in frames.items():
        assert not frame.empty and set(frame["x_Source"]) == {name}
    return focus.aggregate_duplicates(pd.concat(frames.values(), ignore_index=True))


def _load_and_export(lake) -> tuple[pd.DataFrame, dict]:
    rows = _every_source(lake)
    outcome = validate(rows)
    assert outcome.success, [r for r in outcome.results if not r["success"]]
    write_rows(outcome.valid, [])
    return rows, export_days(PREV, DAY)


def test_the_table_carries_every_focus_1_2_column_with_allowed_values(lake):
    assert len(focus.FOCUS_COLUMNS) == 57 and len(set(focus.FOCUS_COLUMNS)) == 57  # FOCUS 1.2's column list
    rows = _every_source(lake)
    assert list(rows.columns) == list(focus.TABLE_COLUMNS)
    for col in focus.DECIMAL_COLUMNS:
        assert rows[col].dtype == "float64", col
    usage = rows[rows["ChargeCategory"] == "Usage"]
    assert set(usage["ChargeFrequency"]) == {"Usage-Based"}
    assert set(rows["PricingCategory"].dropna()) == {"Standard", "Committed", "Dynamic"}
    # Pricing derived where the source has it: every usage row of the platform, GCP and the exports,
    # AWS where Cost Explorer reports one unit; never on tax rows.
    priced = usage[usage["x_Source"].isin(["focus_files", "gcp_billing_export", "airflow_platform"])]
    assert priced[["PricingQuantity", "PricingUnit", "ListUnitPrice", "ContractedUnitPrice"]].notna().all().all()
    assert (priced["ListUnitPrice"] * priced["PricingQuantity"]).round(4).tolist() == \
        priced["ListCost"].round(4).tolist()
    assert (priced["ContractedUnitPrice"] * priced["PricingQuantity"]).round(4).tolist() == \
        priced["ContractedCost"].round(4).tolist()
    sm = rows[rows["ServiceName"] == "Amazon SageMaker"]
    sm = sm[sm["x_Source"] == "aws_cost_explorer"]
    assert sm["PricingQuantity"].tolist() == [149.5, 149.5] and set(sm["PricingUnit"]) == {"Hrs"}
    assert rows.loc[rows["ServiceName"] == "Amazon Simple Storage Service", "PricingQuantity"].isna().all()
    tax = rows[rows["ChargeCategory"] == "Tax"]
    assert len(tax) == 2 and tax[["PricingQuantity", "PricingUnit", "PricingCategory", "ListUnitPrice",
                                  "SkuPriceId"]].isna().all().all()
    # Commitment discounts: GCP's CUD-covered row names its commitment; no CommitmentDiscount* without an id.
    cud = rows[rows["CommitmentDiscountId"].notna()]
    assert len(cud) == 2 and set(cud["CommitmentDiscountStatus"]) == {"Used"}
    assert set(cud["CommitmentDiscountCategory"]) == {"Usage"} and set(cud["PricingCategory"]) == {"Committed"}
    no_cd = rows[rows["CommitmentDiscountId"].isna()]
    assert no_cd[[c for c in focus.FOCUS_COLUMNS if c.startswith("CommitmentDiscount")]].isna().all().all()
    # Names follow ids; subcategories belong to their category.
    assert (rows["RegionName"].notna() == rows["RegionId"].notna()).all()
    assert rows.loc[rows["RegionId"] == "us-central1", "RegionName"].iloc[0] == "Iowa"
    assert (rows["SubAccountName"].notna() == rows["SubAccountId"].notna()).all()
    assert all(sub in focus.SERVICE_SUBCATEGORIES[cat]
               for cat, sub in zip(rows["ServiceCategory"], rows["ServiceSubcategory"], strict=True))


def test_an_older_table_gains_the_new_columns_and_reruns_stay_idempotent(lake):
    old_columns = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingCurrency",
                   "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
                   "ChargeCategory", "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceName",
                   "ServiceCategory", "SubAccountId", "Tags", "x_Source", "x_RowKey", "x_ServiceCode", "x_DagId",
                   "x_DagRuns"]
    platform_rows = _platform_rows()
    old = platform_rows[old_columns]
    warehouse.replace_rows(focus.TABLE, old, list(focus.KEY_COLUMNS))  # a table written by the old release
    before = set(warehouse.query(f"SELECT * FROM {focus.TABLE} LIMIT 0").columns.str.lower())
    assert "pricingquantity" not in before

    assert write_rows(platform_rows, [])["written"] == len(platform_rows)
    assert write_rows(platform_rows, [])["written"] == len(platform_rows)  # rerun: replaced by key
    cols = set(warehouse.query(f"SELECT * FROM {focus.TABLE} LIMIT 0").columns.str.lower())
    assert {c.lower() for c in focus.TABLE_COLUMNS} <= cols
    stored = warehouse.query(f"SELECT x_DagId, PricingQuantity, ListUnitPrice, ServiceSubcategory FROM {focus.TABLE}")
    assert len(stored) == len(platform_rows)  # same keys as the old release's rows: no duplicates
    assert stored["PricingQuantity"].notna().all() and set(stored["ServiceSubcategory"]) == {"Other (Compute)"}


def test_the_export_writes_one_csv_per_day_and_a_rerun_rewrites_the_same_bytes(lake):
    rows, out = _load_and_export(lake)
    assert out["files"] == 2 and out["rows"] == len(rows) and out["day_file"] == str(export_path(DAY))
    day = pd.read_csv(lake / "lake" / "curated" / "focus" / f"{DAY.isoformat()}.csv", keep_default_na=True)
    assert list(day.columns) == list(EXPORT_COLUMNS)
    assert set(day["x_Source"]) == {"focus_files", "aws_cost_explorer", "azure_cost_management",
                                    "gcp_billing_export", "airflow_platform"}
    assert (day["ChargePeriodStart"] == f"{DAY.isoformat()}T00:00:00Z").all()
    first = storage.read_bytes(export_path(DAY))
    write_rows(rows, [])
    assert export_days(PREV, DAY)["rows"] == len(rows)
    assert storage.read_bytes(export_path(DAY)) == first
    # The DAG's task step exports the run's whole look-back window (restated days follow the warehouse).
    cfg = CostConfig.from_params({"lookback_days": 35})
    assert pipeline.export_focus(cfg, DAY)["files"] == 35
    assert storage.read_bytes(export_path(DAY)) == first
    assert storage.read_text(export_path(DAY - timedelta(days=10))).strip() == ",".join(EXPORT_COLUMNS)


def test_focus_validator_passes_every_rule_but_its_outdated_column_names(lake):
    try:
        conformance.package_dir()
    except conformance.ValidatorMissing as exc:
        pytest.skip(f"{exc} (the tool venv .tools/focus-validator/ is absent)")
    _load_and_export(lake)
    report = conformance.validate_file(lake / "lake" / "curated" / "focus" / f"{DAY.isoformat()}.csv")
    assert len(report.rules) == 133, report.summary()
    unexpected = {r: report.messages.get(r) for r in report.failed if r not in conformance.OUTDATED_RULES}
    assert not unexpected, unexpected
    # Each listed rule is there and fails for its outdated name only (not silently passing: if a
    # validator release fixes one, this list must shrink).
    assert set(report.failed) == set(conformance.OUTDATED_RULES), report.failed
    assert len(report.passed) == 128
