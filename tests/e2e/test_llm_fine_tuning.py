"""End to end: llm_fine_tuning trains a tiny GPT-2 on the seeded clothing-review corpus offline, gates it on
held-out perplexity and generation checks, and moves statuses through the shared lifecycle.

Three runs on one lake, each with dag.test():

1. an under-trained challenger (3 steps) with no champion yet → rejected (above max_perplexity), the
   ``investigate`` branch runs and alerts, ``promote`` is skipped;
2. a trained one → promoted to ``textgen@champion``; its held-out perplexity is far below the untrained
   model's, and its seeded sampled generations are non-empty and reproduce exactly from the registered files
   (greedy decoding too);
3. the under-trained challenger again → rejected against the champion, measured on the same held-out
   texts in the same run (the champion's number equals what run 2 measured for itself); champion unchanged.

Sizes are small (2 layers, 64 wide, 64-token blocks, 1,500 documents) so the test fits in about two minutes
on two cores; the defaults' numbers are in docs/llm_fine_tuning.md.
"""

from __future__ import annotations

import logging

import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import task_states

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "llm_fine_tuning"
FAST = {"corpus_key": "womens_clothing_reviews.jsonl", "base_model": "local:tiny-gpt2", "max_docs": 1500,
        "vocab_size": 512, "block_size": 64, "n_layer": 2, "n_embd": 64, "n_head": 2, "batch_size": 8,
        "learning_rate": 3e-3, "checkpoint_every": 50, "log_every": 25, "max_eval_blocks": 120,
        "max_new_tokens": 24, "threads": 2, "precision": "fp32", "seed": 7, "drill_crash_after_steps": 0,
        "max_perplexity": 50000.0, "min_improvement": 0.02, "max_repetition": 0.9, "min_distinct_2": 0.1}
TRAINED_STEPS = 200
UNDER_TRAINED_STEPS = 3


def _run(dagbag, day: int, steps: int):
    run = dagbag.get_dag(DAG_ID).test(logical_date=pendulum.datetime(2026, 12, day, tz="UTC"),
                                      run_conf=FAST | {"max_steps": steps})
    return run, task_states(DAG_ID, run.run_id)


def test_train_gate_reject_promote_and_reject_against_the_champion(lake, dagbag, tmp_path, caplog):
    from include.llm import MODEL_NAME, corpus, evaluation, pipeline
    from include.llm.config import FineTuneConfig
    from include.platform import registry

    caplog.set_level(logging.WARNING, logger="include.platform.notify")
    corpus.seed_corpus()

    # 1. under-trained, no champion: rejected by the first-model bar, investigate alerts
    run, states = _run(dagbag, 1, UNDER_TRAINED_STEPS)
    assert run.state == "success", states
    assert states == {"prepare": "success", "backend": "success", "train": "success", "trained_model": "success",
                      "evaluate": "success", "gate": "success", "investigate": "success", "promote": "skipped",
                      "hand_to_canary": "skipped",
                      # no training connection: training_backend=auto stays local, the cloud branches skip
                      "sagemaker_job": "skipped", "sagemaker_train": "skipped", "sagemaker_model": "skipped",
                      "vertex_train": "skipped", "vertex_model": "skipped", "azureml_train": "skipped",
                      "azureml_model": "skipped"}
    (weak,) = registry.list_versions(MODEL_NAME)
    assert weak.status == "rejected" and weak.status_details["decided_by"] == "llm_fine_tuning.gate"
    assert any("first model: held-out word perplexity" in r for r in weak.status_details["reasons"])
    assert "champion" not in registry.aliases(MODEL_NAME)
    assert any(f"investigate {MODEL_NAME}/{weak.version}" in r.getMessage() for r in caplog.records)

    # 2. trained: promoted, far better than untrained, deterministic non-empty generations
    run, states = _run(dagbag, 2, TRAINED_STEPS)
    assert states["promote"] == "success" and states["investigate"] == "skipped", states
    champ = registry.resolve(f"{MODEL_NAME}@champion")
    m = champ.metrics
    print(f"trained {int(m['train_steps'])} steps in {m['train_seconds']:.1f}s ({m['train_tokens_per_s']:.0f} tok/s): "
          f"held-out perplexity {m['perplexity']:.1f} vs untrained {m['perplexity_untrained']:.1f}; word "
          f"{m['perplexity_word']:.1f} vs {m['perplexity_word_untrained']:.1f}; repetition {m['repetition_rate']:.3f} "
          f"distinct-2 {m['distinct_2']:.3f}; under-trained word ppl {weak.metrics['perplexity_word']:.1f}")
    assert champ.status == "champion" and m["train_steps"] == TRAINED_STEPS
    assert m["perplexity_untrained"] / m["perplexity"] > 5  # random init ~ vocabulary size (512)
    assert m["perplexity_untrained"] == pytest.approx(512, rel=0.25)
    assert m["perplexity_word"] < weak.metrics["perplexity_word"] / 3
    (spent,) = run_events(run.run_id, "compute_spent")
    assert spent["emitted_by"] == "trained_model" and spent["backend"] == "local" and spent["train_steps"] == TRAINED_STEPS
    assert spent["steps_s"]["train"] > 0 and spent["device"] == "cpu"
    (event,) = run_events(run.run_id, "textgen_model")
    assert event["version"] == champ.version and event["status"] == "champion"
    assert event["metrics"]["perplexity_word"] == pytest.approx(m["perplexity_word"])
    files = set(champ.files)
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    _, local = registry.download(f"{MODEL_NAME}@champion", cache_dir=tmp_path / "champ")
    model, tok = pipeline.load_model_dir(local)
    assert len(tok) == 512
    prompts = list(FineTuneConfig.PROMPTS)  # prompt i is sampled with seed + i: the config's order, not the stored keys
    assert set(champ.metadata["generations"]) == set(prompts)
    sampling = {"temperature": 0.8, "top_p": 0.9, "samples": 2, "seed": 7}  # the eval_* defaults, FAST's seed
    first = evaluation.generate(model, tok, prompts, 24, **sampling)
    registered = [g for p in prompts for g in champ.metadata["generations"][p]]
    assert first == evaluation.generate(model, tok, prompts, 24, **sampling) == registered and len(first) == 16
    assert all(g.strip() for g in first)
    greedy = evaluation.generate(model, tok, prompts, 24)
    assert greedy == evaluation.generate(model, tok, prompts, 24) and len(greedy) == len(prompts)

    # 3. under-trained again, now against the champion: rejected on the same held-out texts
    run, states = _run(dagbag, 3, UNDER_TRAINED_STEPS)
    assert states["investigate"] == "success" and states["promote"] == "skipped", states
    latest = registry.list_versions(MODEL_NAME)[-1]
    assert latest.status == "rejected" and any("champion" in r for r in latest.status_details["reasons"])
    seen = latest.metadata["champion_at_evaluation"]
    assert seen["version"] == champ.version
    assert seen["perplexity_word"] == pytest.approx(m["perplexity_word"], rel=1e-6)  # same texts, same model
    assert registry.aliases(MODEL_NAME)["champion"] == champ.version
    assert registry.get_version(MODEL_NAME, champ.version).status == "champion"
