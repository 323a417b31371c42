"""The demo model family and the policy/state machine: pure functions, no processes."""

from __future__ import annotations

import json

import pytest

from include.canary import model
from include.canary.policy import CanaryPolicy, PolicyError, RolloutState, next_action
from include.demo.feedback import labeled_examples


def test_demo_model_trains_saves_and_reloads_with_safetensors(tmp_path):
    clf = model.train(labeled_examples(300, seed=1), epochs=30)
    assert model.accuracy(clf, labeled_examples(150, seed=99)) > 0.9
    clf.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    again = model.load(tmp_path)
    texts = ["Terrible experience with the billing, I want a refund.", "Great delivery, fast and friendly!"]
    assert again.predict(texts) == clf.predict(texts)
    assert [p["label"] for p in again.predict(texts)] == ["negative", "positive"]


def test_load_refuses_another_model_kind(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"kind": "something_else"}))
    with pytest.raises(ValueError, match="not 'hashed_logreg'"):
        model.load(tmp_path)


def test_policy_defaults_follow_the_article_and_validate():
    p = CanaryPolicy()
    assert p.steps == (10, 25, 50, 100) and p.max_error_rate == 0.05
    assert (p.accuracy_alpha, p.max_accuracy_drop) == (0.01, 0.02)
    assert CanaryPolicy.from_dict({"steps": [5, 50], "bake_seconds": 2, "unrelated": 1}).steps == (5, 50)
    for bad in ({"steps": [50, 25]}, {"steps": [0, 10]}, {"steps": []}, {"max_error_rate": 5},
                {"bake_seconds": 10, "max_step_seconds": 5}, {"max_accuracy_drop": 1.5}):
        with pytest.raises(PolicyError):
            CanaryPolicy.from_dict(bad)


def test_state_machine_advances_then_promotes():
    policy, state = CanaryPolicy(steps=(10, 50, 100)), RolloutState()
    assert [next_action(policy, state, "pass") for _ in range(3)] == ["advance", "advance", "promote"]
    assert state.step_index == 2


def test_first_failure_rolls_back_at_the_default_failure_limit():
    state = RolloutState()
    assert next_action(CanaryPolicy(), state, "fail") == "rollback"
    assert state.step_index == 0


def test_failure_limit_rebakes_the_same_step_and_inconclusive_counts_as_failure():
    policy, state = CanaryPolicy(failure_limit=1), RolloutState()
    assert next_action(policy, state, "inconclusive") == "retry"
    assert (state.step_index, state.attempt) == (0, 2)
    assert next_action(policy, state, "pass") == "advance"
    assert next_action(policy, state, "fail") == "rollback"  # failures are counted over the whole rollout
