"""CostConfig: the form, the Param-or-Variable budget, the cross-field rule and the wiring, as a run sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.costs.config import DEFAULT_RATE_CARD, CostConfig
from include.costs.sources import SOURCE_NAMES, UnknownSource, source_for
from include.platform.config import settings_table
from include.platform.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def test_form_has_seven_params_in_three_sections_and_no_wiring():
    params = CostConfig.params()
    assert list(params) == ["sources", "cost_metric", "lookback_days", "baseline_weeks", "daily_budget_usd",
                            "anomaly_z_threshold", "min_impact_usd"]
    assert [p.schema["section"] for p in params.values()] == ["Sources"] * 2 + ["Window"] * 2 + \
        ["Budget and anomalies"] * 3
    assert params["sources"].value == list(SOURCE_NAMES)
    assert "Variable genai_cost_daily_budget_usd, else 1000.0" in params["daily_budget_usd"].description


def test_budget_is_the_param_else_the_variable_else_1000(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_COST_DAILY_BUDGET_USD", raising=False)
    assert CostConfig.from_params({}).daily_budget_usd == 1000.0
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_DAILY_BUDGET_USD", "5000")
    assert CostConfig.from_params({"daily_budget_usd": None}).daily_budget_usd == 5000.0
    assert CostConfig.from_params({"daily_budget_usd": 250}).daily_budget_usd == 250
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_DAILY_BUDGET_USD", "a lot")
    with pytest.raises(ConfigError, match="Variable genai_cost_daily_budget_usd = 'a lot' is not a valid number"):
        CostConfig.from_params({})


def test_lookback_must_cover_the_anomaly_baseline():
    assert CostConfig.from_params({"lookback_days": 29, "baseline_weeks": 4}).lookback_days == 29
    with pytest.raises(ConfigError, match=r"lookback_days = 28 .* baseline_weeks = 4 needs 29 days") as info:
        CostConfig.from_params({"lookback_days": 28, "baseline_weeks": 4})
    assert "lower baseline_weeks to 3" in str(info.value)
    assert CostConfig.from_params({"lookback_days": 15, "baseline_weeks": 2}).baseline_weeks == 2


@pytest.mark.parametrize(("params", "message"), [
    ({"sources": ["aws_cost_explorer", "oracle_cloud"]}, "Param 'sources' of CostConfig .* 'oracle_cloud' is not one"),
    ({"sources": []}, "Param 'sources' of CostConfig = \\[\\] is invalid"),
    ({"cost_metric": "ListCost"}, "Param 'cost_metric' of CostConfig = 'ListCost' is invalid"),
    ({"lookback_days": 10}, "Param 'lookback_days' of CostConfig = 10 is invalid: 10 is less than the minimum"),
    ({"daily_budget_usd": -1}, "Param 'daily_budget_usd' of CostConfig = -1 is invalid"),
])
def test_bad_params_fail_naming_the_param(params, message):
    with pytest.raises(ConfigError, match=message):
        CostConfig.from_params(params)


def test_wiring_comes_from_variables_only(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_AWS_CONN_ID", "aws_payer")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_GCP_BILLING_TABLE", "p.billing.gcp_billing_export_v1_X")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_RATE_CARD", json.dumps({"default": {"cpu_hour": 0.1}}))
    cfg = CostConfig.from_params({"aws_conn_id": "ignored: not a Param"})
    assert cfg.aws_conn_id == "aws_payer" and cfg.gcp_billing_table == "p.billing.gcp_billing_export_v1_X"
    assert cfg.rate_card == {"default": {"cpu_hour": 0.1}} and cfg.azure_conn_id == "azure_cost_management"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_RATE_CARD", "")  # airflow_settings.yaml's "": the default
    assert CostConfig.from_params({}).rate_card == DEFAULT_RATE_CARD


def test_every_source_name_has_a_module_and_unknown_names_are_refused():
    for name in SOURCE_NAMES:
        module = source_for(name)
        assert module.SOURCE == name and callable(module.missing) and callable(module.read)
    with pytest.raises(UnknownSource, match="'oracle_cloud'; expected one of airflow_platform, focus_files"):
        source_for("oracle_cloud")


def test_cloud_sources_say_what_to_add_until_their_connection_exists(monkeypatch):
    for var in ("AIRFLOW_CONN_AWS_COST_EXPLORER", "AIRFLOW_CONN_GCP_BILLING", "AIRFLOW_VAR_GENAI_COST_GCP_BILLING_TABLE"):
        monkeypatch.delenv(var, raising=False)
    cfg = CostConfig.from_params({})
    assert source_for("aws_cost_explorer").missing(cfg) == "add connection aws_cost_explorer (type aws)"
    assert source_for("gcp_billing_export").missing(cfg) == (
        "add connection gcp_billing (type google_cloud_platform) + Variable genai_cost_gcp_billing_table")
    assert source_for("airflow_platform").missing(cfg) is None
    monkeypatch.setenv("AIRFLOW_CONN_AWS_COST_EXPLORER", "aws://")
    monkeypatch.setenv("AIRFLOW_CONN_GCP_BILLING", "google-cloud-platform://")
    assert source_for("aws_cost_explorer").missing(cfg) is None
    assert source_for("gcp_billing_export").missing(cfg) == "add Variable genai_cost_gcp_billing_table"


def test_docs_show_the_generated_settings_table():
    assert settings_table(CostConfig) in (ROOT / "docs" / "cloud_cost_report.md").read_text()
