"""Mode-specific normalization: encoding layout, round trip, JSON persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.synthetic.encoder import DataEncoder
from include.synthetic.schema import infer_schema


def _one_hot_decode(t: DataEncoder, matrix: np.ndarray) -> pd.DataFrame:
    return t.inverse_transform(matrix)  # no sigma noise, argmax blocks: deterministic decoding


def test_encoding_layout_and_one_hot_blocks(real_table, schema):
    t = DataEncoder(schema, seed=1).fit(real_table)
    x = t.transform(real_table)
    assert x.shape == (len(real_table), t.output_dim)
    for span in t.spans:
        block = x[:, span.start:span.end]
        if span.activation == "softmax":
            assert np.allclose(block.sum(axis=1), 1.0), span
        else:
            assert np.abs(block).max() <= 0.99
    assert {s.role for s in t.spans if s.column == "income"} == {"alpha", "mode", "null"}
    assert [s.role for s in t.spans if s.column == "region"] == ["category"]


def test_round_trip_recovers_values_nulls_and_categories(real_table, schema):
    t = DataEncoder(schema, seed=1).fit(real_table)
    back = _one_hot_decode(t, t.transform(real_table))
    real = real_table[schema.names]
    for col in ("region", "plan", "signup_channel", "satisfaction", "churned"):
        assert (back[col].map(str) == real[col].map(str)).all(), col
    assert back["income"].isna().equals(real["income"].isna())
    np.testing.assert_allclose(back["monthly_spend"], real["monthly_spend"], atol=0.011)
    np.testing.assert_allclose(back["age"], real["age"], atol=1)


def test_json_round_trip_decodes_identically(real_table, schema):
    t = DataEncoder(schema, seed=1).fit(real_table)
    x = t.transform(real_table)
    t2 = DataEncoder.from_dict(t.to_dict())
    pd.testing.assert_frame_equal(t2.inverse_transform(x), t.inverse_transform(x))


def test_unknown_category_is_named():
    frame = pd.DataFrame({"c": ["a", "b"] * 10, "x": np.arange(20.0)})
    t = DataEncoder(infer_schema(frame), seed=0).fit(frame)
    with pytest.raises(ValueError, match="categories \\['z'\\]"):
        t.transform(pd.DataFrame({"c": ["z"], "x": [1.0]}))
