"""The serving table (each kind loads and reads its own requests), labelled replay graded by the router,
the accuracy z-test, and the typed config. Real models, real server/router processes on loopback."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from include.canary import model, serving
from include.canary import stack as local_stack
from include.canary.analysis import Sample, evaluate_step
from include.canary.backends.local import LocalRouterBackend
from include.canary.config import CanaryConfig
from include.canary.httpbase import BadRequest
from include.canary.policy import CanaryPolicy
from include.canary.router import Ledger, _graded
from include.demo.customers import customer_table
from include.demo.feedback import labeled_examples
from include.platform.errors import ConfigError
from include.retraining.churn_model import ChurnModel
from include.retraining.features import CATEGORICAL, NUMERIC, TARGET


@pytest.fixture(scope="module")
def churn_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("churn")
    frame = customer_table(800, seed=3)
    ChurnModel.fit(frame, {"max_iter": 20}).save(root / "m")
    return root / "m", frame


def test_each_kind_is_detected_from_its_artifact_and_answers_labels(tmp_path, churn_dir):
    model.train(labeled_examples(120, seed=1), epochs=10).save(tmp_path / "demo")
    demo = serving.load(tmp_path / "demo")
    assert demo.kind == serving.detect_kind(tmp_path / "demo") == "hashed_logreg"
    assert demo.predict(demo.parse({"text": "Great support, thank you so much."}))[0]["label"] in (
        "negative", "neutral", "positive")

    directory, frame = churn_dir
    churn = serving.load(directory)
    assert churn.kind == "churn_hgb"
    rows = frame[[*NUMERIC, *CATEGORICAL]].head(5).to_dict("records")
    answers = churn.predict(churn.parse({"rows": rows}))
    expected = ChurnModel.load(directory).predict_proba(frame.head(5))
    assert [a["label"] for a in answers] == [int(p >= 0.5) for p in expected]
    assert np.allclose([a["score"] for a in answers], expected, atol=1e-4)
    assert churn.predict(churn.warmup)  # the warm-up row is a valid row
    with pytest.raises(BadRequest, match="lack"):
        churn.predict([{"age": 40}])
    with pytest.raises(BadRequest, match="'row'"):
        churn.parse({"text": "a text is not a feature row"})
    with pytest.raises(ValueError, match="unknown model format"):
        serving.detect_kind(tmp_path)
    with pytest.raises(ValueError, match="unknown serving kind"):
        serving.load(tmp_path / "demo", "pickle_jar")


def test_router_grades_labelled_answers_only():
    ok = json.dumps({"predictions": [{"label": 1, "score": 0.9}]}).encode()
    assert _graded(200, ok, "1") is True and _graded(200, ok, "0") is False
    assert _graded(200, ok, None) is None and _graded(500, ok, "1") is None
    assert _graded(200, b"not json", "1") is False
    ledger = Ledger(weight=0, seed=0)
    ledger.add("champion", True, 1.0, True)
    ledger.add("champion", True, 1.0, None)
    sample = Sample.from_records(ledger.since(0), "champion")
    assert (sample.n, sample.labelled, sample.correct, sample.accuracy) == (2, 1, 1, 1.0)


def _sample(n: int, correct: int, latency: float = 5.0) -> Sample:
    return Sample(n=n, errors=0, latencies_ms=[latency] * n, labelled=n, correct=correct)


def _check(verdict, name="accuracy_vs_champion_ztest"):
    return next(c for c in verdict["checks"] if c["check"] == name)


def test_equal_latency_worse_accuracy_fails_the_step_a_tie_passes():
    policy = CanaryPolicy(min_requests=100)
    worse = evaluate_step(policy, 10, champion=_sample(1000, 900), challenger=_sample(200, 150))
    assert worse["status"] == "fail" and _check(worse)["passed"] is False
    assert any(r.startswith("accuracy_vs_champion_ztest") for r in worse["reasons"])
    assert worse["challenger"]["accuracy"] == 0.75
    tie = evaluate_step(policy, 10, champion=_sample(1000, 900), challenger=_sample(200, 178))
    assert tie["status"] == "pass" and _check(tie)["passed"] is True  # 1 point below: within max_accuracy_drop
    unlabelled = evaluate_step(policy, 10, champion=Sample(1000, 0, [5.0] * 1000), challenger=Sample(200, 0, [5.0] * 200))
    assert unlabelled["status"] == "pass" and _check(unlabelled)["passed"] is None
    assert "skipped" in _check(unlabelled)["detail"]


def test_labelled_replay_through_real_processes_measures_both_models(tmp_path, churn_dir):
    directory, frame = churn_dir
    rows = frame.head(60)
    (tmp_path / "requests.jsonl").write_text("\n".join(
        json.dumps({"row": {c: r[c] for c in (*NUMERIC, *CATEGORICAL)}, "label": int(r[TARGET])})
        for r in rows.to_dict("records")) + "\n")
    flipped = frame.assign(**{TARGET: 1 - frame[TARGET]})  # a model that learned the opposite of the truth
    ChurnModel.fit(flipped, {"max_iter": 20}).save(tmp_path / "bad")
    running = local_stack.start_stack(
        tmp_path / "run", champion_dir=str(directory), challenger_dir=str(tmp_path / "bad"), champion_ref="churn/1",
        challenger_ref="churn/2", champion_kind="churn_hgb", challenger_kind="churn_hgb",
        requests_file=str(tmp_path / "requests.jsonl"), rate=150.0, concurrency=3, ttl=120.0)
    try:
        backend = LocalRouterBackend(running["router_url"])
        mark = backend.set_challenger_weight(50)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and min(backend.counts(mark)[m]["n"] for m in ("champion", "challenger")) < 60:
            time.sleep(0.2)
        champion, challenger, _ = backend.window(mark)
    finally:
        local_stack.stop_stack(tmp_path / "run")
    assert champion.labelled >= 60 and challenger.labelled >= 60 and champion.errors == challenger.errors == 0
    assert champion.accuracy > 0.6 and challenger.accuracy < 0.4, (champion.summary(), challenger.summary())
    verdict = evaluate_step(CanaryPolicy(min_requests=50), 50, champion, challenger)
    assert verdict["status"] == "fail" and _check(verdict)["passed"] is False


def test_config_defaults_policy_and_wiring(monkeypatch):
    cfg = CanaryConfig.defaults()
    assert cfg.policy() == CanaryPolicy() and cfg.embedded and cfg.bind_host == "127.0.0.1"
    assert (cfg.accuracy_alpha, cfg.max_accuracy_drop) == (0.01, 0.02)
    params = CanaryConfig.params()
    assert "backend_conn_id" not in params and "target" not in params  # wiring, not the form
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_CANARY_BACKEND_CONN_ID", "aws_canary")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_CANARY_TARGET", '{"endpoint_name": "churn"}')
    wired = CanaryConfig.from_params({})
    assert (wired.backend_conn_id, wired.target, wired.embedded) == ("aws_canary", {"endpoint_name": "churn"}, False)
    with pytest.raises(ConfigError, match="steps"):
        CanaryConfig.from_params({"steps": [50, 10]})
    with pytest.raises(ConfigError, match="max_step_seconds"):
        CanaryConfig.from_params({"bake_seconds": 100, "max_step_seconds": 10})
