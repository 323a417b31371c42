"""On PostgreSQL: a focus_costs table of the earlier column set gains every FOCUS 1.2 column, reruns stay
idempotent, and the per-day export reads the migrated table (same SQL text as on DuckDB)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd


def test_old_focus_table_is_migrated_and_exported_on_postgres(scratch_pg_warehouse, lake):
    from include.costs import focus
    from include.costs.export import EXPORT_COLUMNS, export_days, export_path
    from include.costs.load import ReplaceScope, write_rows
    from include.demo.costs import focus_rows
    from include.platform import storage, warehouse

    day = date(2026, 11, 22)
    start = day - timedelta(days=1)
    rows = focus.normalize(focus_rows(day, days=2), "focus_files")
    old_columns = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingCurrency",
                   "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
                   "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceName", "ServiceCategory",
                   "SubAccountId", "Tags", "x_Source", "x_RowKey", "x_ServiceCode", "x_DagId", "x_DagRuns"]
    warehouse.replace_rows(focus.TABLE, rows[old_columns], list(focus.KEY_COLUMNS))  # the earlier release's table
    scope = [ReplaceScope("focus_files", start, day)]
    assert write_rows(rows, scope) == {"written": 20, "replaced": 20}
    assert write_rows(rows, scope) == {"written": 20, "replaced": 20}  # rerun
    stored = warehouse.query("SELECT PricingQuantity, ServiceSubcategory, SkuPriceId FROM focus_costs")
    assert len(stored) == 20 and stored["PricingQuantity"].notna().all() and stored["SkuPriceId"].notna().all()

    out = export_days(start, day)
    assert out["rows"] == 20 and out["files"] == 2
    exported = pd.read_csv(storage.path_from_uri(str(export_path(day))).open("rb"))
    assert list(exported.columns) == list(EXPORT_COLUMNS) and len(exported) == 10
    assert (exported["ChargePeriodStart"] == "2026-11-22T00:00:00Z").all()
    expected = rows.loc[rows["ChargePeriodStart"].dt.date == day, "PricingQuantity"]
    assert sorted(exported["PricingQuantity"].round(6)) == sorted(expected.round(6))
