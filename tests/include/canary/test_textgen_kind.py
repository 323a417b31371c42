"""The ``textgen`` serving kind without a trained model: detection, the replayed prompts, the check's name.

(The generators themselves are served and judged end to end in tests/e2e/test_textgen_canary.py.)
"""

from __future__ import annotations

import json

import pytest

from include.canary import replay, serving
from include.canary.analysis import Sample, evaluate_step
from include.canary.policy import CanaryPolicy, PolicyError


@pytest.mark.parametrize(("config", "kind"), [
    ({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}, "textgen"),
    ({"architectures": ["LlamaForCausalLM"]}, "textgen"),
    ({"architectures": ["DistilBertForSequenceClassification"]}, "hf_text"),
    ({"kind": "hashed_logreg"}, "hashed_logreg"),
])
def test_a_causal_lm_is_served_as_textgen_and_a_classifier_stays_hf_text(tmp_path, config, kind):
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert serving.detect_kind(tmp_path) == kind


def test_replayed_prompts_are_the_days_valid_prompts_each_expecting_a_gate_pass(lake):
    from datetime import date

    from include.platform import storage
    from include.textgen.prompts import DEMO_PROMPTS, seed_prompts

    day = date(2026, 12, 2)
    seed_prompts(day)
    bad = storage.lake_path("raw", "prompts", day.isoformat(), "upload.jsonl")
    storage.write_text(bad, '{"prompt_id": "x", "prompt": "a"}\n{"broken\n{"prompt_id": "ok", "prompt": "the hem"}\n')
    uri = replay.record_for("textgen", "textgen", "2", day, 1000)
    lines = [json.loads(line) for line in storage.read_text(storage.path_from_uri(uri)).splitlines()]
    assert len(lines) == len(DEMO_PROMPTS) + 1  # the too-short and the broken line are skipped
    assert all(set(r) == {"text", "label"} and r["label"] == "pass" for r in lines)
    assert {"the hem", DEMO_PROMPTS[0][1].lower()} <= {r["text"] for r in lines}


def test_without_prompts_of_the_day_the_fixed_eval_prompts_are_replayed(lake):
    from datetime import date

    from include.llm.config import FineTuneConfig
    from include.platform import storage

    uri = replay.record_for("textgen", "textgen", "2", date(2026, 12, 9), 1000)
    lines = [json.loads(line) for line in storage.read_text(storage.path_from_uri(uri)).splitlines()]
    assert [r["text"] for r in lines] == list(FineTuneConfig.PROMPTS)


def _graded(n: int, passed: int) -> Sample:
    return Sample(n=n, errors=0, latencies_ms=[20.0] * n, labelled=n, correct=passed)


def test_a_generators_pass_rate_is_judged_by_quality_vs_champion_ztest():
    policy = CanaryPolicy(min_requests=30, graded_as="quality")
    verdict = evaluate_step(policy, 20, _graded(150, 148), _graded(40, 5))
    assert verdict["status"] == "fail"
    (reason,) = verdict["reasons"]
    assert reason.startswith("quality_vs_champion_ztest") and "quality-gate pass rate" in reason
    assert evaluate_step(policy, 20, _graded(150, 148), _graded(40, 40))["status"] == "pass"
    # a classifier's policy keeps its accuracy check name (the sentiment and churn canaries)
    assert any(c["check"] == "accuracy_vs_champion_ztest"
               for c in evaluate_step(CanaryPolicy(min_requests=30), 20, _graded(150, 148), _graded(40, 5))["checks"])
    with pytest.raises(PolicyError, match="graded_as"):
        CanaryPolicy(graded_as="vibes")
