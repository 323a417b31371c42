"""Typed configs: one declaration gives the form, the validation (naming the Param) and settings fallbacks."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from include.platform.config import DRILL_SECTION, DagConfig, knob, settings_table, wiring
from include.platform.errors import ConfigError


@dataclass(frozen=True)
class Example(DagConfig):
    days: int = knob(35, "Days loaded.", section="Window", minimum=1, maximum=400)
    sources: list = knob(["a", "b"], "Sources read.", section="Window",
                         items={"type": "string", "enum": ["a", "b"]})
    budget: float | None = knob(None, "Daily budget.", section="Budget", type="number", minimum=0,
                                setting="example_budget", fallback=1000.0)
    break_it: bool = knob(False, "Fail on purpose.", section="ignored", drill=True)
    namespace: str = wiring("example_namespace", "default", "Kubernetes namespace.")

    def check(self) -> None:
        if self.days > 300 and len(self.sources) > 1:
            raise ConfigError("days > 300 with several sources", "lower days or pick one source")


def test_form_has_described_sectioned_params_in_order_with_drills_last():
    params = Example.params()
    assert list(params) == ["days", "sources", "budget", "break_it"]  # wiring is not a Param
    assert [p.schema["section"] for p in params.values()] == ["Window", "Window", "Budget", DRILL_SECTION]
    assert params["days"].schema["minimum"] == 1 and params["days"].value == 35
    assert params["budget"].schema["type"] == ["null", "number"]
    assert "Variable genai_example_budget, else 1000.0" in params["budget"].description


def test_from_params_is_typed_frozen_and_fills_defaults(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_EXAMPLE_BUDGET", raising=False)
    cfg = Example.from_params({"days": 3})
    assert (cfg.days, cfg.sources, cfg.budget, cfg.namespace) == (3, ["a", "b"], 1000.0, "default")
    with pytest.raises(FrozenInstanceError):
        cfg.days = 4  # type: ignore[misc]
    assert Example.defaults().days == 35


def test_settings_back_empty_knobs_and_wiring(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_EXAMPLE_BUDGET", "55")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_EXAMPLE_NAMESPACE", "ml-prod")
    cfg = Example.from_params({"budget": None})
    assert cfg.budget == 55.0 and cfg.namespace == "ml-prod"
    assert Example.from_params({"budget": 7}).budget == 7  # the form wins over the Variable
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_EXAMPLE_BUDGET", "lots")
    with pytest.raises(ConfigError, match="Variable genai_example_budget = 'lots' is not a valid number"):
        Example.from_params({})


@pytest.mark.parametrize(("params", "message"), [
    ({"days": 0}, "Param 'days' of Example = 0 is invalid: 0 is less than the minimum of 1"),
    ({"days": "3"}, "Param 'days' of Example = '3' is invalid"),
    ({"sources": ["z"]}, "Param 'sources' of Example = \\['z'\\] is invalid: 'z' is not one of"),
    ({"days": 301}, "days > 300 with several sources"),
])
def test_bad_values_fail_naming_the_param_and_the_fix(params, message):
    with pytest.raises(ConfigError, match=message) as info:
        Example.from_params(params)
    assert "fix:" in str(info.value) or "—" in str(info.value)


def test_settings_table_lists_wiring():
    assert "| `genai_example_namespace` | `'default'` | Kubernetes namespace. |" in settings_table(Example)


def test_knob_refuses_unknown_schema_and_untyped_none():
    with pytest.raises(TypeError, match="unknown schema keywords"):
        knob(1, "x", section="s", minimun=0)
    with pytest.raises(TypeError, match="needs an explicit type"):
        knob(None, "x", section="s")
