"""Params that grant reach are constrained; the hosted answer is parsed strictly."""

from __future__ import annotations

import pytest

from include.platform.errors import ConfigError
from include.textgen import hosted
from include.textgen.config import GenerationConfig


@pytest.mark.parametrize("ref", ["textgen@champion", "textgen/3", "textgen@challenger"])
def test_textgen_registry_refs_are_accepted(ref):
    assert GenerationConfig.from_params({"model": ref}).model == ref


@pytest.mark.parametrize("ref", ["../models/textgen", "/tmp/model", "sentiment@champion", "gpt2", "textgen/0"])
def test_anything_else_is_refused(ref):
    with pytest.raises(ConfigError):
        GenerationConfig.from_params({"model": ref})
    with pytest.raises(ConfigError):
        GenerationConfig.from_params({"reference_model": ref})


def test_model_falls_back_to_the_variable_then_the_champion_and_the_variable_is_checked(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_TEXTGEN_MODEL", raising=False)
    assert GenerationConfig.from_params({}).model == "textgen@champion"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_TEXTGEN_MODEL", "textgen/4")
    assert GenerationConfig.from_params({"model": ""}).model == "textgen/4"
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_TEXTGEN_MODEL", "../../models/x")
    with pytest.raises(ConfigError, match="genai_textgen_model"):
        GenerationConfig.from_params({})


def test_llm_connection_must_be_allow_listed(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", raising=False)
    assert GenerationConfig.from_params({"backend": "llm"}).llm_version == "llm:textgen_llm:connection-model"
    with pytest.raises(ConfigError, match="genai_allowed_connections"):
        GenerationConfig.from_params({"backend": "llm", "llm_conn_id": "warehouse_default"})


def test_cross_field_rules():
    with pytest.raises(ConfigError, match="nothing to generate"):
        GenerationConfig.from_params({"read_lake": False, "prompt": "  "})
    with pytest.raises(ConfigError, match="min_chars"):
        GenerationConfig.from_params({"min_chars": 50, "max_chars": 10})


def test_hosted_answer_is_parsed_strictly():
    out = {"items": [{"id": "a", "text": "fits well."}, {"id": "a", "text": "again"}, {"id": "z", "text": "?"}]}
    texts, problems = hosted.parse_output(out, ["a", "b"])
    assert texts == {"a": "fits well."}
    assert {(p["prompt_id"], p["reason"]) for p in problems} == {
        ("a", "LLM answered twice; first answer kept"), ("z", "LLM answered for an id it was not asked about"),
        ("b", "LLM returned no text for this prompt")}
    prompt = hosted.build_prompt([{"prompt_id": "a", "prompt": "this dress"}])
    assert prompt.splitlines()[1] == '{"id": "a", "prompt": "this dress"}'
