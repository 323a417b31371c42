"""Fidelity metrics with SDMetrics' definitions (docs.sdv.dev/sdmetrics), computed by our own code.

* Column Shapes: ``KSComplement`` (1 - two-sample Kolmogorov-Smirnov statistic) for continuous
  columns, ``TVComplement`` (1 - total variation distance of category frequencies) for categorical.
* Column Pair Trends: ``CorrelationSimilarity`` (1 - |r_real - r_synth| / 2, Pearson) for
  continuous pairs, ``ContingencySimilarity`` (1 - total variation distance of the 2-D frequency
  table) for categorical and mixed pairs, continuous columns binned on the real data's bin edges.
* Overall quality = mean of the two property scores, as the SDMetrics QualityReport.

Why our own implementation: sdmetrics is not installed here and we avoid the SDV stack (BSL) in the
runtime; the definitions are short and pinned by unit tests against hand-computed values.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from include.synthetic.schema import ColumnSpec, TableSchema

#: SDMetrics' ContingencySimilarity discretises continuous columns into this many bins.
NUM_DISCRETE_BINS = 10


def _numeric(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def ks_complement(real: pd.Series, synthetic: pd.Series) -> float:
    r, s = _numeric(real), _numeric(synthetic)
    r, s = r[~np.isnan(r)], s[~np.isnan(s)]
    if not len(r) or not len(s):
        return float(len(r) == len(s))
    return float(1.0 - ks_2samp(r, s).statistic)


def _labels(series: pd.Series) -> pd.Series:
    """Categories as strings, missing as its own level (SDMetrics counts NaN as a category)."""
    return series.astype(object).where(series.notna(), "<NA>").map(str)


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    f_r = _labels(real).value_counts(normalize=True)
    f_s = _labels(synthetic).value_counts(normalize=True)
    f_r, f_s = f_r.align(f_s, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(f_r - f_s).sum())


def correlation_similarity(real: pd.DataFrame, synthetic: pd.DataFrame, a: str, b: str) -> float:
    def corr(frame: pd.DataFrame) -> float:
        x, y = _numeric(frame[a]), _numeric(frame[b])
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.sum() < 2 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
            return 0.0
        return float(np.corrcoef(x[ok], y[ok])[0, 1])

    return float(1.0 - abs(corr(real) - corr(synthetic)) / 2.0)


def _discretise(real: pd.Series, synthetic: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    if not spec.is_continuous:
        return _labels(real), _labels(synthetic)
    r = _numeric(real)
    edges = np.histogram_bin_edges(r[~np.isnan(r)], bins=NUM_DISCRETE_BINS)

    def binned(values: np.ndarray) -> pd.Series:
        idx = np.clip(np.digitize(values, edges[1:-1]), 0, NUM_DISCRETE_BINS - 1).astype(object)
        idx[np.isnan(values)] = "<NA>"
        return pd.Series(idx).map(str)

    return binned(r), binned(_numeric(synthetic))


def contingency_similarity(real: pd.DataFrame, synthetic: pd.DataFrame, a: ColumnSpec, b: ColumnSpec) -> float:
    ra, sa = _discretise(real[a.name], synthetic[a.name], a)
    rb, sb = _discretise(real[b.name], synthetic[b.name], b)
    f_r = pd.Series(list(zip(ra, rb, strict=True))).value_counts(normalize=True)
    f_s = pd.Series(list(zip(sa, sb, strict=True))).value_counts(normalize=True)
    f_r, f_s = f_r.align(f_s, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(f_r - f_s).sum())


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema) -> dict[str, Any]:
    """SDMetrics QualityReport for one table: property scores, overall score and every detail."""
    shapes = []
    for spec in schema.columns:
        if spec.is_continuous:
            shapes.append({"column": spec.name, "metric": "KSComplement",
                           "score": ks_complement(real[spec.name], synthetic[spec.name])})
        else:
            shapes.append({"column": spec.name, "metric": "TVComplement",
                           "score": tv_complement(real[spec.name], synthetic[spec.name])})
    pairs = []
    for a, b in combinations(schema.columns, 2):
        if a.is_continuous and b.is_continuous:
            score = correlation_similarity(real, synthetic, a.name, b.name)
            metric = "CorrelationSimilarity"
        else:
            score = contingency_similarity(real, synthetic, a, b)
            metric = "ContingencySimilarity"
        pairs.append({"columns": [a.name, b.name], "metric": metric, "score": score})
    column_shapes = float(np.mean([s["score"] for s in shapes]))
    pair_trends = float(np.mean([p["score"] for p in pairs])) if pairs else column_shapes
    return {
        "overall_quality": float(np.mean([column_shapes, pair_trends])),
        "column_shapes": column_shapes,
        "column_pair_trends": pair_trends,
        "column_shape_details": shapes,
        "column_pair_details": pairs,
    }


def correlation_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Pearson correlations of the numeric columns (for the side-by-side plot)."""
    return frame[columns].apply(pd.to_numeric, errors="coerce").corr()
