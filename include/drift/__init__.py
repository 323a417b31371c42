"""Drift detection (effect-size-aware with FDR control; Evidently's preset defaults for comparison), cool-down rule and report."""
