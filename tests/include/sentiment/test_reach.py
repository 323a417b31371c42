"""Params that grant reach: models, labeled CSVs and LLM connections are refused outside their lists."""

from __future__ import annotations

import re

import pytest

from include.platform.errors import ConfigError, PermanentError
from include.sentiment.config import CONN_ID_PATTERN, LABELED_CSV_PATTERN, check_llm_conn_id
from include.sentiment.modeling import HUB_MODELS, MODEL_PARAM_PATTERN, check_model_ref, resolve_source
from include.sentiment.training import labeled_csv_path, read_labeled_csv_text


@pytest.mark.parametrize("ref", ["sentiment@champion", "sentiment@challenger", "sentiment@previous", "sentiment/12",
                                 "local:all-minilm-l6-v2", HUB_MODELS[0]])
def test_model_refs_that_are_allowed(ref):
    assert check_model_ref(ref) == ref
    assert re.search(MODEL_PARAM_PATTERN, ref)


@pytest.mark.parametrize("ref", ["../../x", "/etc", "/etc/passwd", "~/models", "sentiment@latest", "./models/sentiment",
                                 "C:\\models", "file:///etc", "s3://bucket/model", "a/../../b", "sentiment@champion/.."])
def test_paths_and_odd_refs_fail_the_pattern_and_the_check(ref):
    assert not re.search(MODEL_PARAM_PATTERN, ref)
    with pytest.raises(ConfigError, match="genai_allowed_models|not allowed"):
        check_model_ref(ref)


def test_hub_shaped_but_not_a_registry_version():
    assert re.search(MODEL_PARAM_PATTERN, "sentiment/0")  # shaped like a hub id, so the form lets it through
    with pytest.raises(ConfigError, match="not allowed"):
        check_model_ref("sentiment/0")


def test_unknown_hub_id_needs_the_operator_allow_list(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_ALLOWED_MODELS", raising=False)
    with pytest.raises(ConfigError) as err:
        resolve_source("evil-org/exfiltrator")  # the loader itself refuses, not only the DAG
    assert "genai_allowed_models" in str(err.value) and "evil-org/exfiltrator" in str(err.value)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_MODELS", "evil-org/exfiltrator")
    source = resolve_source("evil-org/exfiltrator")
    assert (source.origin, source.path, source.version) == ("hub", "evil-org/exfiltrator", "hf:evil-org/exfiltrator")
    # the version string a hub source records resolves back to the same hub id (scoring passes it on)
    assert resolve_source(source.version).path == "evil-org/exfiltrator"


def test_llm_connection_allow_list(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", raising=False)
    assert check_llm_conn_id("sentiment_llm") == "sentiment_llm"
    with pytest.raises(ConfigError, match="genai_allowed_connections"):
        check_llm_conn_id("aws_default")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", "team_llm")
    assert check_llm_conn_id("team_llm") == "team_llm"
    assert re.search(CONN_ID_PATTERN, "team_llm") and not re.search(CONN_ID_PATTERN, "x y")


def test_labeled_csv_only_inside_the_raw_zone(lake):
    from include.platform import storage

    path = storage.write_bytes(storage.lake_path("raw", "labels", "team.csv"), b"text,label\ngreat,positive\n")
    storage.write_bytes(storage.lake_path("curated", "team.csv"), b"text,label\n")
    assert labeled_csv_path("labels/team.csv") == path
    assert labeled_csv_path(str(path)) == path
    assert re.search(LABELED_CSV_PATTERN, "labels/team.csv") and re.search(LABELED_CSV_PATTERN, str(path))
    refused = ["/etc/passwd.csv", "../curated/team.csv", "file:///etc/hosts.csv", str(lake / "lake" / "curated" /
               "team.csv"), f"file://{lake}/lake/curated/team.csv",
               f"file://{lake}/lake/raw/../curated/team.csv", "labels/missing.csv", "labels/team.txt"]
    for value in refused:
        with pytest.raises(ConfigError, match="raw/ zone"):
            labeled_csv_path(value)
    for value in ["/etc/passwd.csv", "../curated/team.csv", "labels/team.txt"]:
        assert not re.search(LABELED_CSV_PATTERN, value)


def test_labeled_csv_not_utf8_names_the_offset(lake):
    from include.platform import storage

    path = storage.write_bytes(storage.lake_path("raw", "labels", "latin1.csv"), b"text,label\ncaf\xe9,positive\n")
    with pytest.raises(PermanentError, match=r"byte 0xe9 at offset 14 \(line 2\)"):
        read_labeled_csv_text(path)
