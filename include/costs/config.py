"""``CostConfig``: the cloud_cost_report trigger form and deployment wiring, declared once.

The DAG file builds its form from it (``params=CostConfig.params()``), every task turns the run's
Params into it (``CostConfig.from_params(params)``: validated, a bad value names the Param), and
the docs' Param and settings tables are generated from it. Kept import-light (the DAG file imports
it at parse time): no pandas, no provider SDKs.

Params (the form) are what an analyst may change per run: which sources, the window, the cost
column, the budget and the anomaly rule. Wiring (Variables ``genai_cost_*``, not in the form) is
what a deployment fixes once: connection ids, the billing table, the account names, the rate card
and the unit-economics specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from include.costs.sources import SOURCE_NAMES
from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError

SOURCES = "Sources"
WINDOW = "Window"
BUDGET = "Budget and anomalies"

#: The built-in rate card pricing our own Airflow task time: on-demand list prices of comparable cloud
#: capacity (about $0.048 per vCPU-hour for a general-purpose instance, $1.20 per GPU-hour for a
#: T4/A10G-class GPU). Variable ``genai_cost_rate_card`` is merged over it (a partial card is fine).
DEFAULT_RATE_CARD: dict[str, Any] = {
    "currency": "USD",
    "default": {"cpus": 1, "gpus": 0, "cpu_hour": 0.048, "gpu_hour": 1.20},
    "pools": {"gpu": {"cpus": 4, "gpus": 1}, "gpu_pool": {"cpus": 4, "gpus": 1}},
    "queues": {"gpu": {"cpus": 4, "gpus": 1}},
}

#: What each pipeline produces and where to count it (the report's ML unit economics).
DEFAULT_UNIT_METRICS: list[dict[str, Any]] = [
    {"name": "cost per 1,000 predictions", "dag_id": "customer_sentiment_analysis",
     "table": "sentiment_results", "date_column": "scored_at", "per": 1000},
    {"name": "cost per retraining run", "dag_id": "adaptive_retraining", "count": "dag_runs"},
    {"name": "cost per synthetic row", "dag_id": "synthetic_data_generation",
     "table": "customers_augmented", "flag_column": "is_synthetic", "date_column": "augmentation_batch"},
]


@dataclass(frozen=True)
class CostConfig(DagConfig):
    """Everything one cloud_cost_report run is configured by."""

    SECTION_ORDER: ClassVar[tuple[str, ...]] = (SOURCES, WINDOW, BUDGET)

    # -- Sources -----------------------------------------------------------------------------------
    sources: list = knob(
        list(SOURCE_NAMES), "Cost sources to read; a source whose connection is missing is skipped.",
        section=SOURCES, items={"type": "string", "enum": list(SOURCE_NAMES)}, minItems=1, uniqueItems=True)
    cost_metric: str = knob(
        "BilledCost", "FOCUS cost column used for budget, anomalies and the report "
                      "(EffectiveCost spreads commitments and credits).",
        section=SOURCES, enum=["BilledCost", "EffectiveCost"])

    # -- Window --------------------------------------------------------------------------------------
    lookback_days: int = knob(
        35, "Days of cost loaded per run, ending at the run date (the anomaly baseline needs "
            "7 × baseline_weeks + 1 days; sources restate recent days, so they are re-read).",
        section=WINDOW, minimum=15, maximum=400)
    baseline_weeks: int = knob(
        4, "Same-weekday days in the anomaly baseline (weeks back).", section=WINDOW, minimum=2, maximum=12)

    # -- Budget and anomalies ----------------------------------------------------------------------
    daily_budget_usd: float | None = knob(
        None, "Daily budget in USD; above it a budget alert is sent.",
        section=BUDGET, type="number", minimum=0, setting="cost_daily_budget_usd", fallback=1000.0)
    anomaly_z_threshold: float = knob(
        3.5, "Robust z-score (median/MAD) above which a day or a service is anomalous.",
        section=BUDGET, minimum=1)
    min_impact_usd: float = knob(
        100.0, "A service must move at least this many USD to be reported as anomalous.",
        section=BUDGET, minimum=0)

    # -- Deployment wiring (Variables genai_cost_*, not in the form) -------------------------------
    aws_conn_id: str = wiring("cost_aws_conn_id", "aws_cost_explorer",
                              "Airflow connection (type aws) for Cost Explorer; absent = source skipped.")
    aws_tag_key: str = wiring("cost_aws_tag_key", "team", "Cost-allocation tag Cost Explorer groups by.")
    aws_account_id: str = wiring("cost_aws_account_id", "",
                                 "BillingAccountId of AWS rows; empty = the credentials' account (STS).")
    azure_conn_id: str = wiring("cost_azure_conn_id", "azure_cost_management",
                                "Airflow connection (type azure; extra scope or subscriptionId) for Cost "
                                "Management; absent = source skipped.")
    gcp_conn_id: str = wiring("cost_gcp_conn_id", "gcp_billing",
                              "Airflow connection (type google_cloud_platform) for the BigQuery billing export.")
    gcp_billing_table: str = wiring("cost_gcp_billing_table", "",
                                    "BigQuery billing export table project.dataset.gcp_billing_export_v1_<ID>; "
                                    "empty = GCP source skipped.")
    platform_account: str = wiring("cost_platform_account", "genai-airflow",
                                   "BillingAccountId/SubAccountId of the Airflow platform's own rows.")
    rate_card: dict = wiring("cost_rate_card", DEFAULT_RATE_CARD,
                             "JSON rate card pricing Airflow task time per pool/queue; a partial card is "
                             "merged over this default.")
    unit_metrics: list = wiring("cost_unit_metrics", DEFAULT_UNIT_METRICS,
                                "JSON list of unit-economics specs (dag_id, table or count, columns, per).")

    def check(self) -> None:
        need = 7 * self.baseline_weeks + 1
        if self.lookback_days < need:
            raise ConfigError(
                f"Param lookback_days = {self.lookback_days} is shorter than the anomaly baseline: "
                f"Param baseline_weeks = {self.baseline_weeks} needs {need} days (7 × baseline_weeks + 1)",
                f"raise lookback_days to at least {need} or lower baseline_weeks to "
                f"{(self.lookback_days - 1) // 7}")
