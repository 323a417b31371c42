"""End to end: train_sentiment_model fine-tunes the shipped MiniLM on the real corpus offline, evaluates it on the
cross-domain test set beside the lexicon, registers and promotes it."""

from __future__ import annotations

import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import FAST_TRAIN_CONF, trained_sentiment  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_champion_is_trained_registered_and_promoted(trained_sentiment):  # noqa: F811
    t = trained_sentiment
    assert t.run_state == "success", t.task_states
    assert t.task_states == {"train": "success", "promote": "success"}
    assert t.aliases["champion"] == t.version
    # The promote task's sentiment_model event carries the lifecycle's extra.
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as s:
        extras = [e.extra for e in s.query(AssetEvent).all() if e.extra.get("model") == "sentiment"]
    assert extras and extras[-1]["status"] == "champion" and extras[-1]["version"] == t.version
    assert extras[-1]["metrics"]["macro_f1"] == t.metrics["macro_f1"]
    # The train task reports the fine-tune it measured to cloud_cost_report (compute_spent).
    (spent,) = run_events(t.run_id, "compute_spent")
    assert (spent["dag_id"], spent["emitted_by"], spent["version"]) == ("train_sentiment_model", "train", t.version)
    assert spent["steps_s"]["fine_tune"] == round(t.metrics["train_seconds"], 3) > 0 and spent["device"] == "cpu"
    # Honest numbers: the cross-domain test set (Amazon Fine Food Reviews, never trained or tuned on), the champion
    # against the VADER lexicon scored on the same texts in the same run.
    m = t.metrics
    print(f"cross-domain test: champion macro-F1 {m['macro_f1']:.3f} acc {m['accuracy']:.3f} binary "
          f"{m['binary_accuracy']:.3f} (int8 {m['int8_macro_f1']:.3f}) | lexicon macro-F1 {m['lexicon_macro_f1']:.3f} "
          f"binary {m['lexicon_binary_accuracy']:.3f} | validation {m['val_macro_f1']:.3f} | demo held-out "
          f"{m['demo_holdout_macro_f1']:.3f} | {m['train_seconds']:.0f}s")
    assert m["test_rows"] == 1500 and m["train_rows"] >= 1000
    assert m["macro_f1"] > m["lexicon_macro_f1"] and m["binary_accuracy"] > m["lexicon_binary_accuracy"]
    assert m["macro_f1"] >= FAST_TRAIN_CONF["min_macro_f1"] and 0.0 <= m["int8_macro_f1"] <= 1.0
    assert m["demo_holdout_macro_f1"] >= 0.65  # the demo's language, reserved templates only (chance: 0.33)
    ev = t.metadata["evaluation"]
    assert len(ev["test"]["confusion"]) == 3 and sum(map(sum, ev["test"]["confusion"])) == 1500
    assert sum(map(sum, ev["lexicon"]["confusion"])) == 1500 and ev["lexicon"]["name"].startswith("vaderSentiment")
    assert t.metadata["test_data"]["name"] == "amazon_fine_food_reviews" and t.metadata["test_data"]["license"] == "CC0-1.0"
    assert set(t.metadata["train_data"]["licenses"]) == {"womens_clothing_reviews", "twitter_us_airline_sentiment"}
    assert t.metadata["train_data"]["rows_used_by_source"]["generated_templates"] == 200
    assert t.metadata["holdout"] == "template-disjoint" and t.metadata["evaluated_on"].startswith("amazon_fine_food")
    report = (t.report_dir / "report.md").read_text()
    assert "lexicon (VADER)" in report and "Amazon Fine Food Reviews" in report
    # safetensors only (no pickles), with a 3-label head and our label names
    files = {p.name for p in t.local_dir.iterdir()}
    assert "model.safetensors" in files and "tokenizer.json" in files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(t.local_dir)
    assert config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert config.genai_max_length == FAST_TRAIN_CONF["max_length"]


def test_version_ships_a_distilled_student_with_its_own_real_text_scores(trained_sentiment):  # noqa: F811
    """The fast path is inside the version: a 3-layer student (every other layer, top one kept), safetensors,
    scored on the same cross-domain texts in fp32 and bf16; serving compares those to the full model's fp32."""
    from transformers import AutoConfig

    from include.sentiment import inference
    from include.sentiment.modeling import ModelSource

    t = trained_sentiment
    m = t.metrics
    layers = FAST_TRAIN_CONF["student_layers"]
    assert m["student_layers"] == layers and 0.33 < m["student_macro_f1"] <= 1.0 and 0 < m["student_bf16_macro_f1"]
    assert m["student_macro_f1"] > m["lexicon_macro_f1"]  # a real classifier, not a constant
    student = t.local_dir / "student"
    assert (student / "model.safetensors").is_file() and (student / "tokenizer.json").is_file()
    config = AutoConfig.from_pretrained(student)
    assert config.num_hidden_layers == layers and config.genai_student_of_layers == [1, 3, 5]
    quality = t.metadata["evaluation"]["student"]
    assert quality["layers"] == layers and quality["transfer_rows"] >= FAST_TRAIN_CONF["student_rows"]
    assert sum(map(sum, quality["fp32"]["confusion"])) == 1500
    assert "student, 3 layers (bf16)" in (t.report_dir / "report.md").read_text()
    # serving: variant=student loads it; the recorded backend names it
    source = ModelSource(str(t.local_dir), f"sentiment/{t.version}", "registry")
    chosen, runtime, precision = inference.resolve_serving(source, m, "transformers", "fp32", "cpu", "student")
    assert chosen.path == str(student) and (runtime, precision) == ("transformers", "fp32")
    clf = inference.load_classifier(chosen, precision, "cpu", runtime=runtime)
    assert clf.path_name == f"student{layers}-transformers-fp32"
    scored = inference.classify(clf, ["I love it, works great", "Broken on arrival, awful, refund please"])
    assert scored.probs[0, 2] > scored.probs[1, 2] and scored.probs[1, 0] > scored.probs[0, 0]  # LABELS order


def test_gate_rejects_a_worse_model(lake, trained_sentiment):  # noqa: F811
    """A version below the bar is registered but marked rejected, and the champion does not move."""
    from include.platform import registry
    from include.sentiment.training import gate_and_promote
    from tests.e2e.sentiment_fixtures import install_champion

    champ = install_champion(trained_sentiment)
    weak = registry.register_model("sentiment", trained_sentiment.local_dir, metrics={"macro_f1": 0.5})
    decision = gate_and_promote("sentiment", {"version": weak.version, "metrics": weak.metrics}, 0.80)
    assert decision["promoted"] is False and "0.500 < required 0.80" in decision["reason"]
    assert registry.aliases("sentiment")["champion"] == champ.version
    stored = registry.get_version("sentiment", weak.version)
    assert stored.status == decision["status"] == "rejected"
    assert stored.status_details["decided_by"] == "train_sentiment_model.promote"
    assert stored.status_details["reasons"] == [decision["reason"]]
    assert stored.status_details["metrics"]["macro_f1"] == 0.5
    # Below the lexicon on the same texts: rejected even when the bar is met.
    lex = registry.register_model("sentiment", trained_sentiment.local_dir,
                                  metrics={"macro_f1": 0.6, "binary_accuracy": 0.9, "lexicon_macro_f1": 0.65,
                                           "lexicon_binary_accuracy": 0.7})
    decision = gate_and_promote("sentiment", {"version": lex.version, "metrics": lex.metrics}, 0.5)
    assert not decision["promoted"] and "does not beat the lexicon's 0.650" in decision["reason"]
    assert registry.aliases("sentiment")["champion"] == champ.version

    # A version as good as the champion passes: champion, and the old one retired behind it.
    equal = registry.register_model("sentiment", trained_sentiment.local_dir, metrics=trained_sentiment.metrics)
    decision = gate_and_promote("sentiment", {"version": equal.version, "metrics": equal.metrics},
                                FAST_TRAIN_CONF["min_macro_f1"])
    assert decision["promoted"] is True and decision["previous"] == champ.version
    assert registry.aliases("sentiment") == {"champion": equal.version, "previous": champ.version}
    assert registry.get_version("sentiment", equal.version).status == "champion"
    assert registry.get_version("sentiment", champ.version).status == "retired"
    assert decision["asset_extra"] == {"model": "sentiment", "version": equal.version, "kind": "model",
                                       "status": "champion", "decision": "promote",
                                       "metrics": registry.get_version("sentiment", equal.version)
                                       .status_details["metrics"]}
    assert decision["asset_extra"]["metrics"]["macro_f1"] == trained_sentiment.metrics["macro_f1"]


def test_params_that_reach_outside_fail_at_once(dagbag, lake, caplog, monkeypatch):
    """labeled_csv_uri outside the lake's raw/ zone and an unlisted base_model: ConfigError on try 1."""
    import pendulum
    from airflow.sdk.exceptions import ParamValidationError

    from tests.e2e.sentiment_fixtures import TRAINING_DEFAULTS, failure_errors, task_states, task_tries

    monkeypatch.delenv("AIRFLOW_VAR_GENAI_ALLOWED_MODELS", raising=False)
    dag = dagbag.get_dag("train_sentiment_model")
    day = pendulum.datetime(2026, 11, 21, tz="UTC")
    with pytest.raises(ParamValidationError, match="param labeled_csv_uri"):
        dag.test(logical_date=day, run_conf=TRAINING_DEFAULTS | {"labeled_csv_uri": "../../etc/passwd"})
    cases = {"labeled_csv_uri": ("file:///etc/passwd.csv", "raw/ zone"),
             "base_model": ("evil-org/model", "genai_allowed_models")}
    for param, (value, fix) in cases.items():
        caplog.clear()
        run = dag.test(logical_date=day, run_conf=TRAINING_DEFAULTS | {param: value})
        states, tries = task_states("train_sentiment_model", run.run_id), task_tries("train_sentiment_model", run.run_id)
        assert run.state == "failed" and states["train"] == "failed" and tries["train"] == 1, (param, states, tries)
        assert states["promote"] == "upstream_failed"
        (error,) = failure_errors(caplog, "train_sentiment_model", "train")
        assert "ConfigError(" in error and value in error and fix in error, error
