"""Bad FOCUS input is isolated by file or row and named; restated exports replace their window.

Real files in a real (temporary) lake, a real DuckDB warehouse, the real GX validation.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd

from include.costs import focus, pipeline
from include.costs.config import CostConfig
from include.costs.load import ReplaceScope, write_rows
from include.costs.sources import focus_files
from include.costs.validation import validate
from include.demo.costs import focus_rows
from include.demo.writers import write_cost_exports
from include.platform import storage, warehouse
from include.platform.quarantine import read_rejected

DAY = date(2026, 11, 22)
START = DAY - timedelta(days=6)
CFG = CostConfig.from_params({"lookback_days": 35})


def _raw(rel: str, data: bytes) -> None:
    storage.write_bytes(storage.lake_path("raw", "costs", "focus", *rel.split("/")), data)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_each_unreadable_file_is_quarantined_by_name_and_the_rest_is_read(lake):
    rows = focus_rows(DAY, days=7)
    aws = rows[rows["ProviderName"] == "AWS"]
    lines = _csv(aws).decode().splitlines()
    _raw("aws/focus-2026-11.csv", _csv(aws))
    _raw("microsoft/empty.csv", b"")
    _raw("microsoft/ragged.csv", "\n".join([lines[0], lines[1], lines[2] + ",surplus", lines[3]]).encode())
    latin1 = "\n".join([lines[0], lines[1].replace("Amazon", "Caf\u00e9")]).encode("latin-1")
    _raw("google-cloud/latin1.csv", latin1)
    _raw("google-cloud/broken.parquet", b"PAR1 this is not a parquet file")
    _raw("other/not-focus.csv", b"cost,day\n1,2026-11-22\n")

    fetched = focus_files.fetch(START, DAY)

    assert len(fetched.frame) == len(aws) == 7 * 4  # every row of the good file
    assert fetched.quarantined.empty and fetched.files_read == 1
    bad = {p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1]: r
           for p, r in zip(fetched.bad_files["file"], fetched.bad_files.to_dict("records"), strict=True)}
    assert set(bad) == {"microsoft/empty.csv", "microsoft/ragged.csv", "google-cloud/latin1.csv",
                        "google-cloud/broken.parquet", "other/not-focus.csv"}
    assert bad["microsoft/empty.csv"]["reason"] == "empty file (0 bytes)"
    assert bad["microsoft/ragged.csv"]["line"] == 3
    assert f"line 3 has {len(aws.columns) + 1} fields, the header has {len(aws.columns)}" in \
        bad["microsoft/ragged.csv"]["reason"]
    offset = latin1.index(b"\xe9")
    assert bad["google-cloud/latin1.csv"]["byte_offset"] == offset and bad["google-cloud/latin1.csv"]["line"] == 2
    assert f"not UTF-8: byte 0xe9 at byte offset {offset} (line 2)" in bad["google-cloud/latin1.csv"]["reason"]
    assert "unreadable Parquet" in bad["google-cloud/broken.parquet"]["reason"]
    assert "no BilledCost, ChargePeriodStart, ChargePeriodEnd column" in bad["other/not-focus.csv"]["reason"]
    # Only the provider read in full may have its window replaced.
    assert fetched.complete_providers == ["AWS"]


def test_a_provider_with_one_bad_file_is_not_complete(lake):
    write_cost_exports(DAY, days=35)  # October and November files per provider
    _raw("aws/focus-2026-12.csv", b"")
    fetched = focus_files.fetch(DAY - timedelta(days=34), DAY)
    assert fetched.complete_providers == ["Google Cloud", "Microsoft"]
    assert len(fetched.frame) == 35 * 10 and len(fetched.bad_files) == 1


def test_non_finite_costs_are_quarantined_with_the_rule(lake):
    rows = focus_rows(DAY, days=1)
    text = rows.astype(object).copy()
    text.loc[0, "BilledCost"] = "inf"
    text.loc[1, "BilledCost"] = "1e309"
    text.loc[2, "BilledCost"] = "-inf"
    text.loc[3, "EffectiveCost"] = "Infinity"
    text.loc[4, "BilledCost"] = "nan"
    text.loc[5, "ConsumedQuantity"] = "1e309"
    _raw("aws/focus-2026-11.csv", _csv(text))

    fetched = focus_files.fetch(DAY, DAY)
    # "nan" is no number at all: refused when read, with its file and line.
    assert len(fetched.quarantined) == 1 and fetched.quarantined["line"].iloc[0] == 6
    assert "BilledCost='nan' unreadable" in fetched.quarantined["reason"].iloc[0]
    outcome = validate(fetched.frame)
    reasons = dict(zip(outcome.quarantined["ServiceName"] + "|" + outcome.quarantined["BilledCost"].astype(str),
                       outcome.quarantined["reason"], strict=True))
    assert len(outcome.quarantined) == 5 and len(outcome.valid) == len(rows) - 6
    assert all("expect_column_values_to_be_between(" in r for r in reasons.values())
    assert sum("expect_column_values_to_be_between(BilledCost)" in r for r in reasons.values()) == 3
    assert any("between(EffectiveCost)" in r for r in reasons.values())
    assert any("between(ConsumedQuantity)" in r for r in reasons.values())
    assert outcome.valid[list(focus.COST_COLUMNS)].map(lambda v: abs(v) < float("inf")).all().all()


def _focus_table(tags: dict[str, str], days: int = 7, providers: tuple[str, ...] | None = None) -> pd.DataFrame:
    rows = focus_rows(DAY, days=days).assign(Tags=json.dumps(tags))
    if providers:
        rows = rows[rows["ProviderName"].isin(providers)]
    return focus.normalize(rows, "focus_files")


def _count(where: str = "1 = 1") -> int:
    return int(warehouse.query(f"SELECT COUNT(*) AS n FROM focus_costs WHERE {where}")["n"][0])


def test_a_restated_window_replaces_rows_instead_of_adding(lake):
    scope = [ReplaceScope("focus_files", START, DAY)]
    first = write_rows(_focus_table({"team": "ml"}), scope)
    assert first == {"written": 70, "replaced": 0}
    restated = write_rows(_focus_table({"team": "ml", "cost_center": "42"}), scope)
    assert restated == {"written": 70, "replaced": 70}
    assert _count() == 70
    tags = warehouse.query("SELECT DISTINCT Tags FROM focus_costs")["Tags"].tolist()
    assert tags == ['{"cost_center": "42", "team": "ml"}']
    assert warehouse.query("SELECT x_Source, ChargePeriodStart, x_RowKey FROM focus_costs GROUP BY ALL "
                           "HAVING COUNT(*) > 1").empty
    assert not warehouse.table_exists("focus_costs_staging")
    assert ReplaceScope.from_dict(scope[0].to_dict()) == scope[0]  # travels through XCom as a dict


def test_scopes_touch_only_their_source_providers_and_window(lake):
    write_rows(_focus_table({"team": "ml"}, days=14), [])
    platform = focus.normalize(pd.DataFrame([{
        "ProviderName": "Airflow platform", "BillingAccountId": "genai", "ServiceName": "Airflow workers (CPU)",
        "ChargePeriodStart": pd.Timestamp(DAY, tz="UTC"), "ChargePeriodEnd": pd.Timestamp(DAY + timedelta(days=1),
                                                                                           tz="UTC"),
        "BilledCost": 1.0, "x_DagId": "d", "x_DagRuns": 1}]), "airflow_platform")
    write_rows(platform, [])
    assert _count() == 141
    # AWS restated for the last 7 days only; Google/Microsoft and the days before stay as they were.
    aws = _focus_table({"team": "finops"}, providers=("AWS",))
    out = write_rows(pd.concat([aws, platform.assign(BilledCost=2.0)], ignore_index=True),
                     [ReplaceScope("focus_files", START, DAY, ("AWS",))])
    assert out == {"written": 29, "replaced": 28}
    assert _count() == 141
    assert _count("ProviderName = 'AWS' AND Tags LIKE '%finops%'") == 28
    assert _count("ProviderName = 'AWS' AND Tags LIKE '%\"ml\"%'") == 28  # the 7 days before the window
    assert _count("ProviderName <> 'AWS' AND x_Source = 'focus_files'") == 14 * 6
    assert warehouse.query("SELECT BilledCost FROM focus_costs WHERE x_Source = 'airflow_platform'")[
        "BilledCost"].tolist() == [2.0]  # no scope: upserted by key
    # An empty provider list is an empty scope: nothing deleted.
    assert write_rows(aws.iloc[0:0], [ReplaceScope("focus_files", START, DAY, ())]) == {"written": 0, "replaced": 0}
    assert _count() == 141


def test_pipeline_rerun_with_a_restated_export_keeps_one_row_per_key_and_new_tags(lake):
    write_cost_exports(DAY, days=35)
    first = pipeline.load_focus_rows([pipeline.extract_source(CFG, "focus_files", DAY)], DAY)
    assert first["rows_written"] == 350 and first["rows_replaced"] == 0
    for path in focus_files.export_files():  # the providers restate the month with backfilled tags
        frame = pd.read_csv(path.open("rb"))
        frame["Tags"] = '{"team": "ml-platform", "pipeline": "genai", "env": "prod"}'
        storage.write_bytes(path, _csv(frame))
    second = pipeline.load_focus_rows([pipeline.extract_source(CFG, "focus_files", DAY)], DAY)
    assert second["rows_written"] == 350 and second["rows_replaced"] == 350
    assert _count() == 350
    assert warehouse.query("SELECT DISTINCT Tags FROM focus_costs")["Tags"].tolist() == [
        '{"env": "prod", "pipeline": "genai", "team": "ml-platform"}']


def test_pipeline_keeps_a_providers_rows_when_its_file_turns_unreadable(lake):
    write_cost_exports(DAY, days=35)
    pipeline.load_focus_rows([pipeline.extract_source(CFG, "focus_files", DAY)], DAY)
    before = warehouse.query("SELECT ProviderName, COUNT(*) AS n FROM focus_costs GROUP BY ALL ORDER BY 1")
    ragged = storage.lake_path("raw", "costs", "focus", "microsoft", "focus-2026-11.csv")
    storage.write_bytes(ragged, storage.read_bytes(ragged) + b"1,2,3\n")

    extracted = pipeline.extract_source(CFG, "focus_files", DAY)
    assert extracted["status"] == "partial: 1 file(s) quarantined"
    assert extracted["replace_scope"]["providers"] == ["AWS", "Google Cloud"]
    assert extracted["files_quarantined"][0]["file"].endswith("microsoft/focus-2026-11.csv")
    assert extracted["files_quarantine_uri"].endswith(f"quarantine/costs/{DAY}/focus_files-files.jsonl")
    [record] = read_rejected("costs", DAY, "focus_files-files")
    assert record["source_file"].endswith("microsoft/focus-2026-11.csv")
    assert record["reason"].startswith("ragged CSV: line ") and record["line"] > 1
    copy = storage.path_from_uri(record["copy"])
    assert storage.read_bytes(copy) == storage.read_bytes(ragged)  # kept as delivered
    loaded = pipeline.load_focus_rows([extracted], DAY)
    after = warehouse.query("SELECT ProviderName, COUNT(*) AS n FROM focus_costs GROUP BY ALL ORDER BY 1")
    pd.testing.assert_frame_equal(before, after)  # Microsoft's earlier rows kept, not wiped
    assert loaded["files_quarantined"] == 1

    storage.write_bytes(ragged, storage.read_bytes(copy)[: -len(b"1,2,3\n")])  # the provider re-delivers it fixed
    assert pipeline.extract_source(CFG, "focus_files", DAY)["status"] == "ok"
    assert read_rejected("costs", DAY, "focus_files-files") == []  # the rerun clears the day's quarantine
