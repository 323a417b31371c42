"""End to end: llm_fine_tuning continues a registered champion with LoRA adapters (peft) offline.

Run 1 trains the tiny GPT-2 from scratch (full fine-tuning: random weights cannot take LoRA) and promotes it;
run 2 starts from ``textgen@champion`` with ``lora=on``: only the adapters train, the registered challenger is
the merged plain model (its weights differ from the champion's in the attention projections ``c_attn`` only),
the registry records the adapter, and continued training lowers held-out perplexity below its base's.
"""

from __future__ import annotations

import pendulum
import pytest

from tests.e2e.sentiment_fixtures import task_states
from tests.e2e.test_llm_fine_tuning import DAG_ID, FAST

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_lora_continues_the_champion_and_registers_the_merged_model(lake, dagbag, tmp_path):
    import torch
    from safetensors.torch import load_file

    from include.llm import MODEL_NAME, corpus
    from include.platform import registry

    corpus.seed_corpus()
    dag = dagbag.get_dag(DAG_ID)
    run = dag.test(logical_date=pendulum.datetime(2026, 12, 1, tz="UTC"), run_conf=FAST | {"max_steps": 150})
    assert task_states(DAG_ID, run.run_id)["promote"] == "success"
    champ = registry.resolve(f"{MODEL_NAME}@champion")
    assert champ.metadata["adapter"] == "full"

    lora = {"base_model": f"{MODEL_NAME}@champion", "lora": "on", "lora_rank": 4, "lora_alpha": 8,
            "lora_dropout": 0.0, "learning_rate": 5e-3, "max_steps": 60}
    run = dag.test(logical_date=pendulum.datetime(2026, 12, 2, tz="UTC"), run_conf=FAST | lora)
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success" and states["train"] == "success", states
    (challenger,) = [v for v in registry.list_versions(MODEL_NAME) if v.version != champ.version]
    meta, m = challenger.metadata, challenger.metrics
    assert meta["adapter"] == "lora r=4 alpha=8" and meta["base_model"] == f"{MODEL_NAME}@champion"
    assert 0 < meta["trainable_parameters"] < 0.05 * m["parameters"]
    # "untrained" = the base the run started from (the champion), scored on the same held-out blocks
    assert m["perplexity"] < m["perplexity_untrained"]
    print(f"LoRA r=4 on {champ.ref}: {meta['trainable_parameters']} of {int(m['parameters'])} parameters trained; "
          f"held-out perplexity {m['perplexity_untrained']:.2f} -> {m['perplexity']:.2f}; gate: {challenger.status}")

    _, base_dir = registry.download(champ.ref, cache_dir=tmp_path / "a")
    _, lora_dir = registry.download(challenger.ref, cache_dir=tmp_path / "b")
    before, after = load_file(base_dir / "model.safetensors"), load_file(lora_dir / "model.safetensors")
    assert before.keys() == after.keys()  # a plain GPT-2: no lora_* tensors, no peft needed to serve it
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".attn.c_attn." in k for k in changed), changed
