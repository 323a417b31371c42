"""A restated FOCUS export replaces its window on PostgreSQL too (same SQL text as on DuckDB)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd


def test_restated_export_and_partial_read_on_postgres(scratch_pg_warehouse, lake):
    from include.costs import pipeline
    from include.costs.config import CostConfig
    from include.costs.sources import focus_files
    from include.demo.writers import write_cost_exports
    from include.platform import storage, warehouse

    day = datetime.now(UTC).date()
    cfg = CostConfig.from_params({"lookback_days": 35})
    write_cost_exports(day)
    pipeline.load_focus_rows([pipeline.extract_source(cfg, "focus_files", day)], day)
    for path in focus_files.export_files():  # AWS and Google restate with backfilled tags
        if path.parent.name != "microsoft":
            frame = pd.read_csv(path.open("rb"))
            frame["Tags"] = '{"env": "prod"}'
            storage.write_bytes(path, frame.to_csv(index=False).encode())
    # One of Microsoft's two monthly files turns unreadable: its rows stay, the others are replaced.
    microsoft = [p for p in focus_files.export_files() if p.parent.name == "microsoft"][0]
    storage.write_bytes(microsoft, b"")
    loaded = pipeline.load_focus_rows([pipeline.extract_source(cfg, "focus_files", day)], day)
    assert loaded["files_quarantined"] == 1 and loaded["rows_replaced"] == 35 * 7  # AWS 4 + Google 3 a day
    rows = warehouse.query("SELECT ProviderName, Tags, COUNT(*) AS n FROM focus_costs GROUP BY ProviderName, Tags "
                           "ORDER BY ProviderName")
    by_provider = {r["ProviderName"]: (r["Tags"], r["n"]) for r in rows.to_dict("records")}
    assert by_provider["AWS"][0] == by_provider["Google Cloud"][0] == '{"env": "prod"}'
    assert by_provider["Microsoft"][0] != '{"env": "prod"}'  # kept from the earlier, complete read
    assert sum(n for _, n in by_provider.values()) == 350 and len(rows) == 3
