"""FineTuneConfig: Params that grant reach are refused unless allowed."""

from __future__ import annotations

import pytest

from include.llm.config import FineTuneConfig
from include.platform.errors import ConfigError


def test_defaults_and_allowed_bases():
    cfg = FineTuneConfig.defaults()
    assert cfg.local and cfg.base_model == "local:tiny-gpt2" and cfg.corpus_key == "womens_clothing_reviews.jsonl"
    for ref in ("gpt2", "distilgpt2", "textgen@champion", "textgen/3"):
        assert FineTuneConfig.from_params({"base_model": ref}).base_model == ref


@pytest.mark.parametrize("ref", ["../models/x", "/etc/passwd", "sentiment@champion", "someone/llama-70b"])
def test_refused_bases(ref):
    with pytest.raises(ConfigError):
        FineTuneConfig.from_params({"base_model": ref})


def test_allow_listed_hub_id(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_MODELS", "someone/llama-70b")
    assert FineTuneConfig.from_params({"base_model": "someone/llama-70b"}).base_model == "someone/llama-70b"


@pytest.mark.parametrize("params", [{"corpus_key": "../etc/passwd.jsonl"}, {"corpus_key": "x.csv"},
                                    {"n_embd": 100, "n_head": 3}, {"min_chars": 50, "max_chars": 20}])
def test_invalid_values(params):
    with pytest.raises(ConfigError):
        FineTuneConfig.from_params(params)
