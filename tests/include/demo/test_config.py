"""SeedConfig: sectioned form, defaults, validation naming the Param."""

from __future__ import annotations

import pytest

from include.demo.config import SeedConfig
from include.platform.errors import ConfigError


def test_every_param_has_a_section_and_defaults_round_trip():
    params = SeedConfig.params()
    assert all(p.schema["section"] for p in params.values())
    assert list(params) == ["seed", "customer_rows", "pending_requests", "days", "feedback_per_day",
                            "malformed_share", "allow_other_lake"]
    cfg = SeedConfig.from_params({})
    assert cfg == SeedConfig() and (cfg.customer_rows, cfg.days, cfg.allow_other_lake) == (20_000, 3, False)


@pytest.mark.parametrize(("name", "value"), [
    ("days", 0), ("customer_rows", 10), ("malformed_share", 2), ("allow_other_lake", "yes"), ("seed", 1.5),
])
def test_a_bad_value_is_a_config_error_naming_the_param(name, value):
    with pytest.raises(ConfigError) as err:
        SeedConfig.from_params({name: value})
    assert f"Param {name!r}" in str(err.value)
