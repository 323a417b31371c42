"""LoRA (peft) on a pretrained base: only the adapters train, a killed run resumes from adapter-only
checkpoints, the merged model is a plain transformers model, and lora=auto picks by size."""

from __future__ import annotations

import numpy as np
import pytest

from include.llm import adapters, training
from include.llm.config import FineTuneConfig
from include.platform.errors import ConfigError

SMALL = {"vocab_size": 300, "block_size": 16, "n_layer": 2, "n_embd": 32, "n_head": 2, "seed": 3}


def _pretrained(tmp_path):
    """A small GPT-2 trained for a few steps and saved: a stand-in 'pretrained base' that loads like one."""
    import torch

    from include.llm import modeling

    torch.manual_seed(0)
    model = modeling.tiny_gpt2(FineTuneConfig.from_params(SMALL), vocab_size=300, eos_id=0)
    training.train(model, _blocks(), max_steps=6, batch_size=4, learning_rate=3e-3, checkpoint_every=100,
                   log_every=6, seed=1)
    model.save_pretrained(tmp_path / "base", safe_serialization=True)
    return tmp_path / "base"


def _blocks():
    return np.random.default_rng(0).integers(0, 300, size=(64, 16), dtype=np.int32)


def _lora_cfg(**kw):
    # a registry reference as base (what an offline LoRA run continues from); the model itself is loaded by the test
    return FineTuneConfig.from_params(SMALL | {"base_model": "textgen@champion", "lora": "on", "lora_rank": 4,
                                               "lora_alpha": 8, "lora_dropout": 0.0} | kw)


def _load(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


def test_plan_picks_lora_by_size_and_refuses_it_for_random_weights():
    base = {"base_model": "textgen@champion"}
    assert adapters.plan(FineTuneConfig.from_params(base), 124_000_000).lora is True
    assert adapters.plan(FineTuneConfig.from_params(base), 82_000_000).lora is False
    assert adapters.plan(FineTuneConfig.from_params(base | {"lora": "off"}), 10**9).lora is False
    assert adapters.plan(FineTuneConfig.from_params(base | {"lora": "on"}), 1000).lora is True
    assert adapters.plan(FineTuneConfig.from_params({}), 10**9).lora is False  # local:tiny-gpt2: full
    with pytest.raises(ConfigError, match="random ones"):
        FineTuneConfig.from_params({"lora": "on"}).check()


def test_only_adapters_train_and_the_merged_model_is_plain(tmp_path, lake):
    import torch

    from include.platform import storage

    torch.set_num_threads(1)
    base_dir = _pretrained(tmp_path)
    frozen = {k: v.clone() for k, v in _load(base_dir).state_dict().items()}
    model = adapters.wrap(_load(base_dir), _lora_cfg())
    trainable = adapters.trainable_count(model)
    assert 0 < trainable < 0.1 * sum(p.numel() for p in model.parameters())
    assert all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)

    root = storage.lake_path("curated", "lora", "ckpt")
    result = training.train(model, _blocks(), max_steps=8, batch_size=4, learning_rate=1e-2, checkpoint_every=4,
                            log_every=4, seed=5, ckpt_root=root, base="textgen/1")
    assert result.final_step == 8 and result.losses[-1][1] < result.losses[0][1]
    # checkpoints hold the adapters only (not the frozen base)
    from safetensors.torch import load as load_safetensors

    saved = load_safetensors(storage.read_bytes(root / "step-0000008" / "model.safetensors"))
    assert saved and all("lora_" in k for k in saved) and sum(v.numel() for v in saved.values()) == trainable
    assert training.latest_checkpoint(root)["base"] == "textgen/1"

    merged = adapters.merge(model)
    assert type(merged).__name__ == "GPT2LMHeadModel" and not any("lora" in k for k in merged.state_dict())
    after = merged.state_dict()
    changed = {k for k in frozen if not torch.equal(frozen[k], after[k])}
    assert changed and all(".attn.c_attn." in k for k in changed)  # peft's GPT-2 default target: c_attn only
    merged.save_pretrained(tmp_path / "merged", safe_serialization=True)
    reloaded = _load(tmp_path / "merged")  # plain transformers, no peft
    ids = torch.from_numpy(_blocks()[:2].astype(np.int64))
    torch.testing.assert_close(reloaded(input_ids=ids).logits, merged(input_ids=ids).logits)


def test_killed_lora_run_resumes_and_a_different_base_starts_over(tmp_path, lake):
    import torch

    from include.platform import storage

    torch.set_num_threads(1)
    base_dir = _pretrained(tmp_path)

    def run(root, **kw):
        model = adapters.wrap(_load(base_dir), _lora_cfg())
        result = training.train(model, _blocks(), max_steps=8, batch_size=4, learning_rate=1e-2,
                                checkpoint_every=4, log_every=4, seed=5, ckpt_root=root, **kw)
        return result, adapters.merge(model).state_dict()

    full, ref = run(storage.lake_path("curated", "lora", "full"), base="textgen/1")
    root = storage.lake_path("curated", "lora", "crashy")
    with pytest.raises(training.SimulatedCrash):
        run(root, base="textgen/1", crash_after=6)
    resumed, got = run(root, base="textgen/1")
    assert resumed.resumed_from == 4 and resumed.steps_run == 4 and resumed.final_step == full.final_step
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-5, atol=1e-6, msg=name)

    other = storage.lake_path("curated", "lora", "other")
    with pytest.raises(training.SimulatedCrash):
        run(other, base="textgen/1", crash_after=6)
    restarted, _ = run(other, base="textgen/2")  # the champion moved between attempts: adapters do not fit it
    assert restarted.resumed_from is None and restarted.steps_run == 8
