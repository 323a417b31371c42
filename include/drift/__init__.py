"""Drift detection (Evidently data-drift-preset defaults on scipy), cool-down rule and report."""
