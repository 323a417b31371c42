"""The Gaussian-copula baseline: schema-true, seeded, and a sensible quality."""

from __future__ import annotations

import pandas as pd

from include.synthetic.copula import GaussianCopulaSynthesizer
from include.synthetic.metrics import quality_report


def test_copula_sample_is_seeded_schema_true_and_reasonable(real_table, schema):
    model = GaussianCopulaSynthesizer(seed=3).fit(real_table, schema)
    a, b = model.sample(400, seed=1), model.sample(400, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == schema.names and a["satisfaction"].dtype == "int64"
    assert set(a["plan"]) <= set(schema.column("plan").categories)
    assert 0.75 < quality_report(real_table, a, schema)["overall_quality"] < 1.0
