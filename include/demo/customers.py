"""A subscription business's customer table (12 columns), with realistic dependencies.

Used as the "real" table the synthetic-data pipeline learns from, and (with the churn label) as the
feature batches of the retraining pipeline. ``drift`` moves the population the way a new market or
a price change would: younger customers, higher spend, more mobile sign-ups, more churn.
Its columns honour the churn model's feature contract, owned by ``include.retraining.features``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from include.retraining.features import TARGET

REGIONS = ("north", "south", "east", "west", "central")
PLANS = ("basic", "standard", "premium")
CHANNELS = ("web", "mobile", "partner", "store")


def customer_table(n: int = 20_000, seed: int = 42, drift: float = 0.0) -> pd.DataFrame:
    """``n`` customers; ``drift`` in [0, 1] shifts distributions (0 = reference population)."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42 - 8 * drift, 12, n), 18, 90).round().astype("int64")
    income = np.round(rng.lognormal(mean=10.8 + 0.15 * drift, sigma=0.45, size=n), 2)
    region = rng.choice(REGIONS, size=n, p=(0.25, 0.2, 0.2, 0.2, 0.15))
    plan_p = np.array([0.5, 0.35, 0.15]) * (1 - drift) + np.array([0.25, 0.35, 0.4]) * drift
    # Richer customers pick bigger plans: tilt plan probabilities by income quantile.
    income_rank = pd.Series(income).rank(pct=True).to_numpy()
    u = rng.random(n) * (0.6 + 0.4 * income_rank)
    plan_idx = np.searchsorted(np.cumsum(plan_p), np.clip(u + 0.4 * income_rank - 0.2, 0, 0.9999))
    plan = np.array(PLANS)[plan_idx]
    channel_p = np.array([0.45, 0.3, 0.15, 0.1]) * (1 - drift) + np.array([0.2, 0.65, 0.1, 0.05]) * drift
    signup_channel = rng.choice(CHANNELS, size=n, p=channel_p)
    tenure = rng.gamma(shape=2.0, scale=14 - 6 * drift, size=n).round().astype("int64")
    base_spend = np.array([19.0, 39.0, 79.0])[plan_idx]
    monthly_spend = np.round(base_spend * rng.normal(1.0 + 0.1 * drift, 0.12, n) + income / 20_000, 2)
    support_tickets = rng.poisson(0.6 + 0.8 * (plan_idx == 0) + 1.0 * drift, n).astype("int64")
    last_login_days = rng.exponential(6 + 10 * drift, n).round().astype("int64")
    sat_latent = 3.6 - 0.35 * support_tickets + 0.01 * tenure - 0.03 * last_login_days + rng.normal(0, 0.7, n)
    satisfaction = np.clip(np.round(sat_latent), 1, 5).astype("int64")
    logit = -1.2 - 0.6 * (satisfaction - 3) + 0.04 * last_login_days - 0.02 * tenure + 0.8 * drift
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")
    frame = pd.DataFrame(
        {
            "customer_id": [f"c-{seed % 1000:03d}-{i:06d}" for i in range(n)],
            "age": age,
            "income": income,
            "region": region,
            "plan": plan,
            "signup_channel": signup_channel,
            "tenure_months": tenure,
            "monthly_spend": monthly_spend,
            "support_tickets": support_tickets,
            "last_login_days": last_login_days,
            "satisfaction": satisfaction,
            TARGET: churned,
        }
    )
    # Real exports have gaps: income is missing for ~2% (customers who declined to say).
    frame.loc[rng.random(n) < 0.02, "income"] = np.nan
    return frame
