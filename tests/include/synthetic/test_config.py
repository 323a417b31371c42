"""SyntheticConfig: the form's sections, validation naming the Param, the gate's thresholds and the wiring."""

from __future__ import annotations

import pytest

from include.platform.config import DRILL_SECTION
from include.platform.errors import ConfigError
from include.synthetic.config import SyntheticConfig


def test_every_param_has_a_section_and_the_drill_comes_last():
    params = SyntheticConfig.params()
    sections = [p.schema["section"] for p in params.values()]
    assert all(sections) and sections[-1] == DRILL_SECTION and sections.count(DRILL_SECTION) == 1
    assert list(params)[-1] == "drill_out_of_range_share"
    assert "augmented_table" not in params  # wiring, not a Param


def test_defaults_match_the_form():
    cfg = SyntheticConfig.defaults()
    assert cfg == SyntheticConfig()
    assert (cfg.rows_to_generate, cfg.epochs, cfg.source_path, cfg.augmented_table) == (
        5_000, 100, "raw/customers/customers.parquet", "customers_augmented")
    assert cfg.tvae.epochs == 100 and cfg.tvae.device == "auto"
    assert cfg.thresholds.min_quality == 0.8 and cfg.thresholds.max_exact_copy_rate == 0.01


@pytest.mark.parametrize(("name", "value"), [
    ("rows_to_generate", 5), ("epochs", 0), ("device", "tpu"), ("holdout_share", 0.9),
    ("min_quality", 1.5), ("threads", "two"), ("drill_out_of_range_share", -0.1),
])
def test_a_bad_value_is_a_config_error_naming_the_param(name, value):
    with pytest.raises(ConfigError) as err:
        SyntheticConfig.from_params({name: value})
    assert f"Param {name!r}" in str(err.value) and f"set {name} to a value the form accepts" in str(err.value)


def test_an_empty_target_column_skips_the_usefulness_check():
    assert SyntheticConfig.from_params({"target_column": ""}).label is None
    assert SyntheticConfig.from_params({"target_column": None}).label is None
    assert SyntheticConfig.from_params({}).label == "churned"


def test_the_augmented_table_is_wiring_checked_as_an_identifier(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SYNTHETIC_AUGMENTED_TABLE", "customers_aug_v2")
    assert SyntheticConfig.from_params({}).augmented_table == "customers_aug_v2"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SYNTHETIC_AUGMENTED_TABLE", "x; DROP TABLE customers")
    with pytest.raises(ConfigError, match="genai_synthetic_augmented_table"):
        SyntheticConfig.from_params({})
