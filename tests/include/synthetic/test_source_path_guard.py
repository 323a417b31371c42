"""Param source_path reaches the lake's raw zone and nothing else (the real table is read from it)."""

from __future__ import annotations

import os
import re

import pytest

from include.platform import storage
from include.platform.errors import ConfigError, PathRefused
from include.synthetic import pipeline


@pytest.mark.parametrize("bad", ["../../etc/x", "/etc/passwd", "raw/../../../etc/x.parquet", "~/x.parquet",
                                 "raw/%2e%2e/x.parquet", "raw/customers/..\\x.parquet", "file:///etc/x"])
def test_paths_leaving_the_lake_are_refused(lake, bad):
    with pytest.raises(PathRefused):
        pipeline.load_real(bad)


@pytest.mark.parametrize("bad", ["models/churn/1/model.safetensors", "curated/synthetic/x.parquet",
                                 "raw/customers/customers.csv", "raw", "customers.parquet", ""])
def test_other_zones_and_non_parquet_names_are_config_errors(lake, bad):
    with pytest.raises((ConfigError, PathRefused)) as err:
        pipeline.load_real(bad)
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
        pipeline.load_real("raw/customers/link.parquet")
    assert "fix: point source_path at a file in the raw zone, not at a link" in str(err.value)


def test_the_default_table_in_the_raw_zone_loads(lake):
    from include.demo.writers import write_customers

    write_customers(rows=200, seed=3)
    real = pipeline.load_real(pipeline.SOURCE_PATH, holdout_share=0.2, seed=1)
    assert real.source["rows"] == 200
    assert real.source["uri"] == str(storage.lake_path("raw", "customers", "customers.parquet"))


def test_the_dag_param_carries_the_same_pattern():
    """The trigger form refuses what the task would refuse (jsonschema ``pattern`` on the Param)."""
    import importlib.util
    from pathlib import Path

    from airflow.sdk.exceptions import ParamValidationError

    dag_file = Path(pipeline.__file__).resolve().parents[2] / "dags" / "synthetic_data_generation.py"
    spec = importlib.util.spec_from_file_location("synthetic_dag_under_test", dag_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    param = module.PARAMS["source_path"]
    assert param.schema["pattern"] == pipeline.SOURCE_PATTERN
    assert re.fullmatch(pipeline.SOURCE_PATTERN, pipeline.SOURCE_PATH)
    for bad in ("../../etc/x", "/etc/x.parquet", "raw/../x.parquet", "models/m.parquet", "raw/.hidden.parquet"):
        with pytest.raises(ParamValidationError, match="does not match"):
            param.resolve(value=bad)
