"""The churn model round-trips through safetensors + JSON and predicts exactly like scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from include.demo.customers import customer_table
from include.platform import registry
from include.retraining.churn_model import ChurnModel, FeatureSpec

PARAMS = {"max_iter": 40, "max_leaf_nodes": 15, "learning_rate": 0.1, "min_samples_leaf": 20,
          "l2_regularization": 0.0}


@pytest.fixture(scope="module")
def frames():
    return customer_table(800, seed=5), customer_table(300, seed=6, drift=0.6)


def test_tree_walk_equals_sklearn_and_survives_save_load(frames, tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    train, test = frames
    test = test.copy()
    test.loc[test.index[:5], "region"] = "atlantis"  # unseen category
    assert test["income"].isna().any()               # missing values take the learned NaN branch
    model = ChurnModel.fit(train, PARAMS, seed=3)
    spec = FeatureSpec.fit(train)
    reference = HistGradientBoostingClassifier(**PARAMS, early_stopping=False, random_state=3).fit(
        spec.transform(train), train["churned"])
    expected = reference.predict_proba(spec.transform(test))[:, 1]
    np.testing.assert_allclose(model.predict_proba(test), expected, rtol=0, atol=1e-12)

    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.safetensors"]
    loaded = ChurnModel.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    assert loaded.params == model.params


def test_registry_accepts_the_format_and_refuses_pickles(frames, lake, tmp_path):
    import pickle

    model = ChurnModel.fit(frames[0], PARAMS)
    model.save(tmp_path / "ok")
    mv = registry.register_model("churn", tmp_path / "ok", alias="challenger")
    _, local = registry.download(f"churn/{mv.version}")
    np.testing.assert_array_equal(ChurnModel.load(local).predict_proba(frames[1]), model.predict_proba(frames[1]))

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.pkl").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(registry.RegistryError, match="pickle"):
        registry.register_model("churn", tmp_path / "bad")


def test_missing_feature_column_names_it(frames):
    model = ChurnModel.fit(frames[0], PARAMS)
    with pytest.raises(KeyError, match="plan"):
        model.predict_proba(frames[1].drop(columns=["plan"]))
