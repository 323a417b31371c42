"""The TVAE generator: seeded determinism on CPU, artifact round trip, device selection."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from include.synthetic.tvae import CONFIG_FILE, WEIGHTS_FILE, TVAEConfig, TVAESynthesizer, resolve_device


def test_same_seed_gives_identical_sample_and_other_seed_differs(trained):
    a = trained.sample(300, seed=9)
    b = trained.sample(300, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(trained.sample(300, seed=10))


def test_training_twice_with_the_same_seed_gives_identical_weights_and_rows(real_table, schema, trained):
    again = TVAESynthesizer(TVAEConfig(**vars(trained.config))).fit(real_table, schema, progress_every=0)
    for (name, p), (_, q) in zip(trained.decoder.state_dict().items(), again.decoder.state_dict().items(), strict=True):
        assert torch.equal(p, q), name
    pd.testing.assert_frame_equal(trained.sample(200, seed=1), again.sample(200, seed=1))


def test_sample_has_the_real_schema_ranges_and_categories(trained, schema, real_table):
    sample = trained.sample(500, seed=3)
    assert list(sample.columns) == schema.names
    for spec in schema.columns:
        values = sample[spec.name].dropna()
        if spec.is_continuous:
            assert values.min() >= spec.minimum and values.max() <= spec.maximum
        else:
            assert set(values.map(str)) <= {str(c) for c in spec.categories}
    assert sample["age"].dtype == "int64" and sample["region"].map(type).eq(str).all()
    # income has gaps in the real table; the generator learns a null rate for it.
    assert schema.column("income").has_nulls


def test_save_load_round_trip_is_safetensors_plus_json_and_samples_identically(trained, tmp_path):
    trained.save(tmp_path / "art", extra={"source": {"rows": 800}})
    assert sorted(p.name for p in (tmp_path / "art").iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE])
    config = json.loads((tmp_path / "art" / CONFIG_FILE).read_text())
    assert config["generator"] == "tvae" and config["config"]["seed"] == 5 and config["source"] == {"rows": 800}
    loaded = TVAESynthesizer.load(tmp_path / "art")
    pd.testing.assert_frame_equal(loaded.sample(250, seed=4), trained.sample(250, seed=4))


def test_registered_artifact_is_accepted_by_the_registry(trained, tmp_path, lake):
    from include.platform import registry

    trained.save(tmp_path / "art")
    mv = registry.register_model("tvae_unit", tmp_path / "art")
    _, local = registry.download(mv.ref)
    pd.testing.assert_frame_equal(TVAESynthesizer.load(local).sample(50, seed=2), trained.sample(50, seed=2))


def test_device_auto_uses_the_gpu_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU is visible"):
            resolve_device("cuda")


def test_sampling_before_training_says_what_to_do():
    with pytest.raises(RuntimeError, match="call fit"):
        TVAESynthesizer().sample(5)
