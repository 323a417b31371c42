"""The training loop: a run killed after k steps resumes from its last checkpoint and ends where an
uninterrupted run ends (same step count, same weights)."""

from __future__ import annotations

import numpy as np
import pytest

from include.llm import training
from include.llm.config import FineTuneConfig

SMALL = {"vocab_size": 300, "block_size": 16, "n_layer": 1, "n_embd": 32, "n_head": 2, "seed": 3}


def _model():
    from include.llm import modeling

    return modeling.tiny_gpt2(FineTuneConfig.from_params(SMALL), vocab_size=300, eos_id=0)


def _blocks():
    rng = np.random.default_rng(0)
    return rng.integers(0, 300, size=(64, 16), dtype=np.int32)


def _train(root, **kw):
    return training.train(_model() if "model" not in kw else kw.pop("model"), _blocks(), max_steps=12, batch_size=4,
                          learning_rate=3e-3, checkpoint_every=4, log_every=4, seed=5, ckpt_root=root, **kw)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_killed_run_resumes_from_its_checkpoint_and_matches_an_uninterrupted_run(lake):
    import torch

    from include.platform import storage

    torch.set_num_threads(1)
    reference_model = _model()
    full = _train(storage.lake_path("curated", "t", "full"), model=reference_model)
    assert (full.start_step, full.final_step, full.steps_run) == (0, 12, 12)
    assert full.checkpoints == [4, 8, 12] and full.losses[-1][1] < full.losses[0][1]

    root = storage.lake_path("curated", "t", "crashy")
    with pytest.raises(training.SimulatedCrash):
        _train(root, crash_after=6)  # dies at step 6: the last checkpoint is step 4
    assert training.latest_checkpoint(root) == {"step": 4, "dir": "step-0000004"}
    resumed_model = _model()
    resumed = _train(root, model=resumed_model)
    assert resumed.start_step == 4 and resumed.resumed_from == 4
    assert resumed.steps_run == 8 < full.steps_run and resumed.final_step == full.final_step == 12
    ref, got = _weights(reference_model), _weights(resumed_model)
    assert ref.keys() == got.keys()
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-5, atol=1e-6, msg=name)
    # only the two newest checkpoints are kept; a finished run is not re-trained
    assert sorted(p.name for p in root.iterdir()) == ["latest.json", "step-0000008", "step-0000012"]
    again = _train(root)
    assert again.steps_run == 0 and again.final_step == 12


def test_learning_rate_schedule():
    assert training.lr_factor(0, 100, 0.1) == pytest.approx(0.1)
    assert training.lr_factor(9, 100, 0.1) == pytest.approx(1.0)
    assert training.lr_factor(100, 100, 0.1) == pytest.approx(0.1)
    assert 0.1 < training.lr_factor(55, 100, 0.1) < 1.0
