"""Synthetic tabular data: our own TVAE-style generator, a Gaussian-copula baseline, GX validation,
SDMetrics-definition fidelity/privacy/usefulness metrics, the publish/reject gate and the report.

Why our own code instead of SDV/CTGAN: those packages are under the Business Source License (see
docs/synthetic_data_generation.md); the metric definitions follow SDMetrics' documentation so the
numbers are comparable with published SDGym results.
"""
