"""RetrainingConfig: the form's Params, validation naming the Param, Param-or-setting, check() rules."""

from __future__ import annotations

from datetime import date

import pytest

from include.platform.errors import ConfigError
from include.retraining import config as retraining_config
from include.retraining.config import DEFAULT_PROMOTION, RetrainingConfig
from include.retraining.search_space import SEARCH_SPACE, space_for


def test_the_form_has_every_knob_in_a_section_and_no_wiring():
    params = RetrainingConfig.params()
    assert len(params) == 29  # 5 drift-method knobs: drift_method, drift_fdr, drift_min_effect_*
    assert all(p.schema.get("section") for p in params.values())
    assert "training_threads" not in params  # deployment wiring: a Variable, never a form field
    assert [s for s in dict.fromkeys(p.schema["section"] for p in params.values())] == [
        "Batch", "Minimum evidence", "Drift", "Retrain decision", "Search", "Quality gate", "Follow-up rounds"]
    assert f"else {DEFAULT_PROMOTION!r}" in params["promotion"].description


def test_untouched_form_gives_the_defaults(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_CHURN_PROMOTION", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_TRAINING_THREADS", raising=False)
    cfg = RetrainingConfig.defaults()
    assert cfg.promotion == DEFAULT_PROMOTION == "canary"  # one constant: canary_deploy decides by default
    assert cfg.training_threads == 1 and cfg.min_batch_rows == 200 and cfg.search_space == {}


@pytest.mark.parametrize(("name", "value", "words"), [
    ("holdout_share", 0.95, "maximum"),
    ("gate_metric", "accuracy", "is not one of"),
    ("insufficient_evidence", "ignore", "is not one of"),
    ("n_calls", 0, "minimum"),
    ("run_date", "22/11/2026", "does not match"),
    ("promotion", "auto", "is not one of"),
])
def test_a_bad_value_is_a_config_error_naming_the_param(name, value, words):
    with pytest.raises(ConfigError) as err:
        RetrainingConfig.from_params({name: value})
    text = str(err.value)
    assert f"Param {name!r}" in text and words in text and f"set {name} to" in text


def test_promotion_param_or_setting(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_CHURN_PROMOTION", "canary")
    assert RetrainingConfig.from_params({}).promotion == "canary"
    assert RetrainingConfig.from_params({"promotion": "gate"}).promotion == "gate"  # the form wins
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_CHURN_PROMOTION", "sometimes")
    with pytest.raises(ConfigError, match="Variable genai_churn_promotion"):
        RetrainingConfig.from_params({})


def test_training_threads_is_wiring_from_its_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_TRAINING_THREADS", "4")
    assert RetrainingConfig.from_params({"training_threads": 9}).training_threads == 4  # not a Param
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_TRAINING_THREADS", "0")
    with pytest.raises(ConfigError, match="genai_training_threads"):
        RetrainingConfig.from_params({})


@pytest.mark.parametrize(("params", "named"), [
    ({"run_date": "2026-02-30"}, "run_date"),
    ({"n_calls": 3, "n_initial_points": 5}, "n_initial_points"),
    ({"search_round": 3, "max_search_rounds": 2}, "max_search_rounds"),
    ({"drift_share": 0.6, "hard_drift_limit": 0.5}, "hard_drift_limit"),
    ({"search_space": {"learnig_rate": [0.01, 0.1]}}, "search_space"),
    ({"search_space": {"max_iter": [150, 50]}}, "search_space"),
    ({"search_space": {"learning_rate": [0, 0.1]}}, "search_space"),
])
def test_check_rules_across_params(params, named):
    with pytest.raises(ConfigError) as err:
        RetrainingConfig.from_params(params)
    assert named in str(err.value)


def test_search_space_overrides_narrow_the_declared_space():
    cfg = RetrainingConfig.from_params({"search_space": {"max_iter": [30, 120]}})
    space = space_for(cfg)
    assert space.names == SEARCH_SPACE.names
    assert [(d.low, d.high) for d in space.dimensions if d.name == "max_iter"] == [(30, 120)]
    assert space_for(RetrainingConfig()) is SEARCH_SPACE


def test_run_date_and_follow_up_conf():
    cfg = RetrainingConfig.from_params({"run_date": "2026-11-22", "n_calls": 6, "promotion": "canary"})
    day = cfg.day({})
    assert day == date(2026, 11, 22)
    conf = cfg.follow_up_conf(day, "file:///lake/trials.json")
    assert conf["search_round"] == 2 and conf["warm_start_trials"] == "file:///lake/trials.json"
    assert conf["run_date"] == "2026-11-22" and conf["n_calls"] == 6 and conf["promotion"] == "canary"
    assert set(conf) == set(RetrainingConfig.params())  # Params only: wiring stays a Variable
    assert RetrainingConfig.from_params(conf).search_round == 2  # a follow-up's conf is itself valid


def test_promotion_modes_are_the_lifecycle_paths():
    assert retraining_config.PROMOTION_MODES == ("gate", "canary")
    assert DEFAULT_PROMOTION in retraining_config.PROMOTION_MODES
