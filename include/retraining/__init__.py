"""The churn model the adaptive_retraining DAG retrains: data, safe model format, gate, analytics."""
