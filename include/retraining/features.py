"""The churn model's feature contract: which columns are features, of which kind, and the label.

Owned here, by the pipeline that trains and serves on it; the demo generator
(``include.demo.customers``) imports it to produce tables that honour it, never the other way
round, so a real feature job replacing the demo data changes nothing in this package.
"""

from __future__ import annotations

#: Numeric features, in the order the model's preprocessing lists them.
NUMERIC = ("age", "income", "tenure_months", "monthly_spend", "support_tickets", "last_login_days", "satisfaction")
#: Categorical features (one-hot encoded by the model).
CATEGORICAL = ("region", "plan", "signup_channel")
#: The label: 1 when the customer churned.
TARGET = "churned"
