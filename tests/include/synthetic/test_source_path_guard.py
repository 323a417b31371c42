"""Param source_path reaches the lake's raw zone and nothing else (the real table is read from it)."""

from __future__ import annotations

import os
import re

import pytest

from include.platform import storage
from include.platform.errors import ConfigError, PathRefused
from include.synthetic import pipeline
from include.synthetic.config import SOURCE_PATTERN, SyntheticConfig


def _load(path: str):
    """The task's own guard, past the form (a config built directly is not validated)."""
    return pipeline.load_real(SyntheticConfig(source_path=path))


@pytest.mark.parametrize("bad", ["../../etc/x", "/etc/passwd", "raw/../../../etc/x.parquet", "~/x.parquet",
                                 "raw/%2e%2e/x.parquet", "raw/customers/..\\x.parquet", "file:///etc/x"])
def test_paths_leaving_the_lake_are_refused(lake, bad):
    with pytest.raises(PathRefused):
        _load(bad)


@pytest.mark.parametrize("bad", ["models/churn/1/model.safetensors", "curated/synthetic/x.parquet",
                                 "raw/customers/customers.csv", "raw", "customers.parquet", ""])
def test_other_zones_and_non_parquet_names_are_config_errors(lake, bad):
    with pytest.raises((ConfigError, PathRefused)) as err:
        _load(bad)
    if bad:  # "" is an empty path: the guard's PathRefused
        assert isinstance(err.value, ConfigError)
        assert "fix: set Param source_path to \"raw/<folder>/<file>.parquet\"" in str(err.value)


def test_a_symlink_out_of_the_raw_zone_is_refused(lake, tmp_path):
    outside = tmp_path / "secret.parquet"
    outside.write_bytes(b"PAR1")
    folder = lake / "lake" / "raw" / "customers"
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "link.parquet")
    with pytest.raises(PathRefused, match="outside") as err:
        _load("raw/customers/link.parquet")
    assert "fix: point source_path at a file in the raw zone, not at a link" in str(err.value)


def test_the_default_table_in_the_raw_zone_loads(lake):
    from include.demo.writers import write_customers

    write_customers(rows=200, seed=3)
    real = pipeline.load_real(SyntheticConfig(holdout_share=0.2, seed=1))
    assert real.source["rows"] == 200
    assert real.source["uri"] == str(storage.lake_path("raw", "customers", "customers.parquet"))


def test_the_form_refuses_what_the_task_would_refuse():
    """One pattern (include/synthetic/config.py) for the trigger form's Param and the task's guard."""
    from airflow.sdk.exceptions import ParamValidationError

    param = SyntheticConfig.params()["source_path"]
    assert param.schema["pattern"] == SOURCE_PATTERN
    assert re.fullmatch(SOURCE_PATTERN, SyntheticConfig.source_path)
    for bad in ("../../etc/x", "/etc/x.parquet", "raw/../x.parquet", "models/m.parquet", "raw/.hidden.parquet"):
        with pytest.raises(ParamValidationError, match="does not match"):
            param.resolve(value=bad)
        with pytest.raises(ConfigError, match="source_path"):
            SyntheticConfig.from_params({"source_path": bad})
