"""FOCUS 1.2 cost exports for three clouds, daily, with one injected anomaly.

The rows look like the providers' own FOCUS exports (AWS Data Exports FOCUS 1.2, Azure FocusCost,
GCP's FOCUS billing view): one row per day × service × resource type × region, with SKU, pricing
unit/quantity and list/contracted unit prices as those exports carry them; provider-specific
extras prefixed ``x_``. A spike on one service lets the anomaly detector name a driver.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

SERVICES = {
    "AWS": [("Amazon SageMaker", "ml.g5.xlarge", "us-east-1", 210.0), ("Amazon EC2", "m7i.large", "us-east-1", 160.0),
            ("Amazon S3", "Storage", "us-east-1", 35.0), ("Amazon Bedrock", "Tokens", "us-west-2", 55.0)],
    "Google Cloud": [("Vertex AI", "n1-standard-8+T4", "us-central1", 140.0),
                     ("BigQuery", "Analysis", "us", 60.0), ("Cloud Storage", "Standard", "us", 18.0)],
    "Microsoft": [("Azure Machine Learning", "Standard_NC6s_v3", "eastus", 120.0),
                  ("Virtual Machines", "D4s_v5", "eastus", 70.0), ("Storage", "Hot LRS", "eastus", 12.0)],
}
ACCOUNTS = {"AWS": "123456789012", "Google Cloud": "genai-prod-4711", "Microsoft": "sub-genai-prod"}
#: Pricing unit and list unit price per service, in the style of the providers' price lists
#: (illustrative on-demand prices; the demo derives PricingQuantity = ListCost / ListUnitPrice).
PRICES = {
    "Amazon SageMaker": ("Hours", 1.408), "Amazon EC2": ("Hours", 0.1008), "Amazon S3": ("GB-Months", 0.023),
    "Amazon Bedrock": ("1K Tokens", 0.003), "Vertex AI": ("Hours", 0.73), "BigQuery": ("Tebibytes", 6.25),
    "Cloud Storage": ("GiB-Months", 0.02), "Azure Machine Learning": ("Hours", 3.06),
    "Virtual Machines": ("Hours", 0.192), "Storage": ("GB-Months", 0.0184),
}


def focus_rows(end: date, days: int = 35, seed: int = 42, spike_day: date | None = None,
               spike_service: str = "Amazon SageMaker", spike_factor: float = 4.0) -> pd.DataFrame:
    """Daily FOCUS rows for ``days`` days ending at ``end`` (inclusive)."""
    rng = np.random.default_rng(seed)
    spike_day = spike_day or end
    rows = []
    for offset in range(days):
        day = end - timedelta(days=days - 1 - offset)
        weekday_factor = 0.8 if day.weekday() >= 5 else 1.0
        for provider, services in SERVICES.items():
            for service, rtype, region, base in services:
                cost = base * weekday_factor * rng.normal(1.0, 0.07) * (1 + 0.004 * offset)
                if day == spike_day and service == spike_service:
                    cost *= spike_factor
                cost = round(max(cost, 0.0), 4)
                unit, list_price = PRICES[service]
                list_cost = round(cost * 1.05, 4)
                quantity = list_cost / list_price
                sku = f"{provider.split()[0].lower()}:{service.replace(' ', '')}:{rtype}"
                rows.append({
                    "ProviderName": provider,
                    "BillingAccountId": ACCOUNTS[provider],
                    "SubAccountId": f"{ACCOUNTS[provider]}-ml",
                    "BillingCurrency": "USD",
                    "BillingPeriodStart": pd.Timestamp(day.replace(day=1), tz="UTC"),
                    "ChargePeriodStart": pd.Timestamp(day, tz="UTC"),
                    "ChargePeriodEnd": pd.Timestamp(day + timedelta(days=1), tz="UTC"),
                    "ChargeCategory": "Usage",
                    "ServiceName": service,
                    "ResourceType": rtype,
                    "RegionId": region,
                    "BilledCost": cost,
                    "EffectiveCost": round(cost * 0.93, 4),
                    "ListCost": list_cost,
                    "ConsumedQuantity": round(cost / 3.2, 3),
                    "ConsumedUnit": "Hours",
                    "PricingQuantity": quantity,
                    "PricingUnit": unit,
                    "ListUnitPrice": list_price,
                    "ContractedUnitPrice": cost / quantity if quantity else None,
                    "PricingCategory": "Standard",
                    "ChargeFrequency": "Usage-Based",
                    "SkuId": sku,
                    "SkuPriceId": f"{sku}:on-demand",
                    "SkuMeter": f"{rtype} usage",
                    "BillingAccountName": "GenAI organisation",
                    "SubAccountName": f"{ACCOUNTS[provider]} ML workloads",
                    "Tags": '{"team": "ml-platform", "pipeline": "genai"}',
                    "x_ServiceCode": service.replace(" ", ""),
                })
    return pd.DataFrame(rows)
