"""Perplexity, generation metrics, the gate's rule and its verdict through the lifecycle."""

from __future__ import annotations

import json

import pytest

from include.llm import evaluation
from include.llm.config import FineTuneConfig
from include.llm.gate import decide


def test_repetition_and_distinct_n():
    assert evaluation.repetition_rate(["a b c a b c a b c"]) == pytest.approx(1 - 3 / 7)
    assert evaluation.repetition_rate(["the fit is great and the color is lovely", "x"]) == 0.0
    assert evaluation.distinct_n(["a a a a"], 1) == 0.25 and evaluation.distinct_n(["a b", "a b"], 2) == 0.5
    assert evaluation.generation_metrics(["", "a b c"])["empty_generations"] == 1
    assert evaluation.repetition_rate([",,,,,,"]) == pytest.approx(1 - 1 / 4)  # punctuation counts as units


def test_a_uniform_model_has_perplexity_equal_to_its_vocabulary():
    """All weights zero: every next-token distribution is uniform, so perplexity is exactly the vocabulary size."""
    import torch

    from include.llm import modeling, tokenizer
    from include.llm.corpus import shipped_texts

    texts = shipped_texts()[:200]
    tok = tokenizer.train_bpe(texts, 320)
    model = modeling.tiny_gpt2(FineTuneConfig.from_params({"block_size": 32, "n_layer": 1, "n_embd": 32,
                                                           "n_head": 2}), len(tok), tok.eos_token_id)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    out = evaluation.perplexity(model, tok, texts[:20], block_size=32, max_blocks=10)
    assert out["perplexity"] == pytest.approx(len(tok), rel=1e-4) and out["eval_blocks"] == 10
    assert out["perplexity_word"] == pytest.approx(len(tok) ** out["tokens_per_word"], rel=1e-3)
    assert out["tokens_per_word"] > 1


def test_sampled_generations_are_seeded_per_prompt_and_greedy_is_one_per_prompt():
    """Samples reproduce for the same seed, differ for another, and a prompt's samples do not depend on the others."""
    import torch

    from include.llm import modeling, tokenizer
    from include.llm.corpus import shipped_texts

    texts = shipped_texts()[:200]
    tok = tokenizer.train_bpe(texts, 320)
    torch.manual_seed(0)
    model = modeling.tiny_gpt2(FineTuneConfig.from_params({"block_size": 32, "n_layer": 1, "n_embd": 32,
                                                           "n_head": 2}), len(tok), tok.eos_token_id)
    prompts = ["the dress", "i love", "the fit"]
    opts = {"temperature": 1.0, "top_p": 0.95, "samples": 3, "seed": 11}
    first = evaluation.generate(model, tok, prompts, 8, **opts)
    assert len(first) == 9 and first == evaluation.generate(model, tok, prompts, 8, **opts)
    assert first != evaluation.generate(model, tok, prompts, 8, **(opts | {"seed": 12}))
    # prompt i is reseeded with seed + i: asking for the last prompt alone (seed 13) gives its same three samples
    assert evaluation.generate(model, tok, prompts[2:], 8, **(opts | {"seed": 13})) == first[6:]
    greedy = evaluation.generate(model, tok, prompts, 8, samples=3)
    assert len(greedy) == 3 and greedy == evaluation.generate(model, tok, prompts, 8)


def test_first_model_bar_and_generation_thresholds_fit_the_measured_defaults():
    """Defaults calibrated on the bench: 300 steps (word ppl ~510; samples repetition ~0.02, distinct-2 ~0.75)
    promote as a first model; a barely trained one (word ppl in the tens of thousands, untrained ~31,600) does not."""
    cfg = FineTuneConfig.from_params({})
    trained = {"perplexity_word": 511.0, "perplexity": 101.0, "repetition_rate": 0.02, "distinct_2": 0.75,
               "empty_generations": 0}
    assert decide(trained, None, cfg)[0] == "promote"
    assert decide(trained | {"perplexity_word": 20_000.0}, None, cfg)[0] == "reject"
    looping = trained | {"repetition_rate": 0.43, "distinct_2": 0.09}  # what greedy decoding gives
    assert len(decide(looping, None, cfg)[1]) == 2


CFG = FineTuneConfig.from_params({"min_improvement": 0.05, "max_perplexity": 100.0, "max_repetition": 0.5,
                                  "min_distinct_2": 0.3})
GOOD = {"perplexity_word": 80.0, "perplexity": 20.0, "repetition_rate": 0.1, "distinct_2": 0.6, "empty_generations": 0}


def test_gate_rule():
    assert decide(GOOD, None, CFG)[0] == "promote"
    decision, reasons, numbers = decide(GOOD | {"perplexity_word": 120.0}, None, CFG)
    assert decision == "reject" and reasons == ["first model: held-out word perplexity 120.00 >= allowed 100.00"]
    champ = {"ref": "textgen/1", "perplexity_word": 84.0}
    decision, reasons, numbers = decide(GOOD, champ, CFG)  # 80 > 84 * 0.95 = 79.8
    assert decision == "reject" and "needs <= 79.80" in reasons[0] and numbers["champion_perplexity_word"] == 84.0
    assert decide(GOOD | {"perplexity_word": 79.0}, champ, CFG)[0] == "promote"
    decision, reasons, _ = decide(GOOD | {"repetition_rate": 0.9, "distinct_2": 0.1, "empty_generations": 2}, None, CFG)
    assert decision == "reject" and len(reasons) == 3


def test_gate_verdicts_go_through_the_lifecycle(lake, tmp_path):
    from include.llm.gate import gate_and_promote
    from include.platform import registry

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    first = registry.register_model("textgen", tmp_path, metrics=GOOD)
    out = gate_and_promote("textgen", {"version": first.version, "metrics": GOOD, "champion": None}, CFG)
    assert out["promoted"] and out["status"] == "champion" and registry.aliases("textgen")["champion"] == first.version
    worse = registry.register_model("textgen", tmp_path, metrics=GOOD)
    champ = {"ref": f"textgen/{first.version}", "version": first.version, "perplexity_word": 80.0}
    out = gate_and_promote("textgen", {"version": worse.version, "metrics": GOOD | {"perplexity_word": 78.0},
                                       "champion": champ}, CFG)
    assert not out["promoted"] and out["status"] == "rejected"
    stored = registry.get_version("textgen", worse.version)
    assert stored.status == "rejected" and stored.status_details["decided_by"] == "llm_fine_tuning.gate"
    assert "not 5% below" in stored.status_details["reasons"][0]
    assert registry.aliases("textgen")["champion"] == first.version
