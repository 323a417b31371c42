"""The sentiment configs: one home per default, the reach constraints kept, Variables behind empty knobs."""

from __future__ import annotations

import pytest

from include.platform.config import DRILL_SECTION
from include.platform.errors import ConfigError
from include.sentiment import CHAMPION_REF
from include.sentiment.config import (
    CONN_ID_PATTERN,
    LABELED_CSV_PATTERN,
    SentimentConfig,
    TrainingConfig,
)
from include.sentiment.modeling import LOCAL_MINILM, MODEL_PARAM_PATTERN


@pytest.fixture(autouse=True)
def _no_sentiment_variables(monkeypatch):
    for name in ("SENTIMENT_MODEL", "SENTIMENT_BASE_MODEL", "ALLOWED_MODELS", "ALLOWED_CONNECTIONS"):
        monkeypatch.delenv(f"AIRFLOW_VAR_GENAI_{name}", raising=False)


def test_untouched_forms_give_the_documented_defaults():
    cfg = SentimentConfig.defaults()
    assert (cfg.backend, cfg.model, cfg.precision, cfg.device) == ("transformers", CHAMPION_REF, "auto", "auto")
    assert (cfg.batch_size, cfg.chunk_size, cfg.max_tokens, cfg.threads) == (32, 256, 128, 2)
    assert not cfg.llm and cfg.llm_version == "llm:sentiment_llm:connection-model"
    train = TrainingConfig.defaults()
    assert train.base_model == LOCAL_MINILM and train.labeled_csv_uri == ""
    assert (train.corpus_sources, train.train_rows, train.examples, train.epochs) == ("all", 30_000, 300, 2)
    assert (train.batch_size, train.learning_rate, train.max_length) == (32, 1e-4, 128)
    assert (train.student_layers, train.student_rows, train.student_epochs, train.student_alpha) == (3, 30_000, 3, 1.0)
    assert cfg.variant == "auto" and train.mixed_precision == "auto"
    assert train.trainable_layers == 6 and train.class_weights is True
    assert train.min_macro_f1 == 0.55 and train.beat_lexicon is True and TrainingConfig.WARMUP_SHARE == 0.1


def test_every_param_sits_in_a_section_and_reach_params_keep_their_patterns():
    for cls in (SentimentConfig, TrainingConfig):
        params = cls.params()
        assert all(p.schema.get("section") for p in params.values()), cls
        assert DRILL_SECTION not in {p.schema["section"] for p in params.values()}  # no drills in this domain
    scoring, training = SentimentConfig.params(), TrainingConfig.params()
    assert scoring["model"].schema["pattern"] == MODEL_PARAM_PATTERN
    assert scoring["llm_conn_id"].schema["pattern"] == CONN_ID_PATTERN
    assert training["base_model"].schema["pattern"] == MODEL_PARAM_PATTERN
    assert training["labeled_csv_uri"].schema["pattern"] == LABELED_CSV_PATTERN
    # The form says where an empty model comes from.
    assert "Variable genai_sentiment_model, else 'sentiment@champion'" in scoring["model"].description
    assert list(training)[:5] == ["corpus_sources", "train_rows", "labeled_csv_uri", "examples", "seed"]  # data first


def test_values_outside_the_form_fail_naming_the_param():
    with pytest.raises(ConfigError, match="Param 'batch_size'.*minimum 1"):
        SentimentConfig.from_params({"batch_size": 0})
    with pytest.raises(ConfigError, match="Param 'backend'"):
        SentimentConfig.from_params({"backend": "onnx"})
    with pytest.raises(ConfigError, match="Param 'model'"):
        SentimentConfig.from_params({"model": "../../etc"})
    with pytest.raises(ConfigError, match="Param 'labeled_csv_uri'"):
        TrainingConfig.from_params({"labeled_csv_uri": "/etc/passwd"})
    with pytest.raises(ConfigError, match="Param 'min_macro_f1'"):
        TrainingConfig.from_params({"min_macro_f1": 1.5})


def test_empty_model_reads_the_variable_which_is_held_to_the_same_pattern(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SENTIMENT_MODEL", "sentiment@challenger")
    assert SentimentConfig.from_params({"model": ""}).model == "sentiment@challenger"
    assert SentimentConfig.from_params({"model": "sentiment/3"}).model == "sentiment/3"  # the form wins
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SENTIMENT_MODEL", "../../x")  # the Variable bypasses the form ...
    with pytest.raises(ConfigError, match="Variable genai_sentiment_model .*'../../x'"):
        SentimentConfig.from_params({})  # ... not the config
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SENTIMENT_BASE_MODEL", "distilbert/distilbert-base-uncased")
    assert TrainingConfig.from_params({}).base_model == "distilbert/distilbert-base-uncased"


def test_allow_lists_are_checked_when_the_config_is_built(monkeypatch):
    with pytest.raises(ConfigError, match="'evil-org/exfiltrator' is not allowed.*genai_allowed_models"):
        SentimentConfig.from_params({"model": "evil-org/exfiltrator"})
    with pytest.raises(ConfigError, match="'evil-org/model' is not allowed"):
        TrainingConfig.from_params({"base_model": "evil-org/model"})
    # the LLM connection matters only with the LLM backend
    assert SentimentConfig.from_params({"llm_conn_id": "aws_default"}).llm_conn_id == "aws_default"
    with pytest.raises(ConfigError, match="'aws_default' is not allowed.*genai_allowed_connections"):
        SentimentConfig.from_params({"backend": "llm", "llm_conn_id": "aws_default"})
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", "team_llm")
    cfg = SentimentConfig.from_params({"backend": "llm", "llm_conn_id": "team_llm", "llm_model_id": "openai:x"})
    assert cfg.llm and cfg.llm_version == "llm:team_llm:openai:x"


def test_configs_are_frozen_and_plain():
    cfg = TrainingConfig.from_params({"examples": 600})
    with pytest.raises(AttributeError):
        cfg.examples = 1  # type: ignore[misc]
    assert cfg.as_dict()["examples"] == 600 and "WARMUP_SHARE" not in cfg.as_dict()
