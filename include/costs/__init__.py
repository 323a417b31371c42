"""Cloud and platform cost reporting: sources → FOCUS 1.2 rows → warehouse → report and alerts.

``sources/`` turns each cost API (AWS Cost Explorer, Azure Cost Management, GCP billing export,
FOCUS files in the lake, Airflow's own task durations) into FOCUS-shaped frames; ``focus`` pins the
column set and normalizes; ``validation`` checks rows against the spec with Great Expectations;
``anomaly`` finds budget breaches and seasonal anomalies; ``report`` writes the Markdown report;
``config`` declares every knob (``CostConfig``) and ``pipeline`` holds the task bodies, which take it.
"""
