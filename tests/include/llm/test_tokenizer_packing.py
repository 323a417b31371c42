"""The BPE tokenizer (and the vocabulary check every load passes) and the packing into fixed-length blocks."""

from __future__ import annotations

import numpy as np
import pytest

from include.llm import packing
from include.llm import tokenizer as tok_mod
from include.platform.errors import ConfigError


@pytest.fixture(scope="module")
def texts():
    from include.llm.corpus import shipped_texts

    return shipped_texts()[:600]


@pytest.fixture(scope="module")
def bpe(texts):
    return tok_mod.train_bpe(texts, vocab_size=400)


def test_trained_bpe_has_merges_and_round_trips(bpe, texts, tmp_path):
    assert 256 < len(bpe) <= 400 and bpe.eos_token == "<|endoftext|>" and bpe.eos_token_id is not None
    sample = texts[3]
    ids = bpe(sample, add_special_tokens=False)["input_ids"]
    assert bpe.decode(ids) == sample and len(ids) < len(sample.encode())  # merges compress the bytes
    assert bpe.decode(bpe("naïve — ünïcode ✓", add_special_tokens=False)["input_ids"]) == "naïve — ünïcode ✓"
    bpe.save_pretrained(tmp_path)
    again = tok_mod.load(str(tmp_path))
    assert again(sample)["input_ids"] == bpe(sample)["input_ids"] and len(again) == len(bpe)


def test_a_byte_only_tokenizer_is_refused():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    empty = Tokenizer(models.BPE())
    empty.pre_tokenizer = pre_tokenizers.ByteLevel()
    empty.decoder = decoders.ByteLevel()
    empty.add_special_tokens(["<|endoftext|>"])
    fast = PreTrainedTokenizerFast(tokenizer_object=empty, eos_token="<|endoftext|>")
    with pytest.raises(ConfigError, match="did not load"):
        tok_mod.check_vocab(fast, "an empty BPE")


def test_offline_gpt2_from_pretrained_is_caught(monkeypatch):
    """Offline, GPT2TokenizerFast.from_pretrained("gpt2") returns a near-empty tokenizer instead of failing."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import GPT2TokenizerFast

    try:
        loaded = GPT2TokenizerFast.from_pretrained("gpt2")
    except OSError:
        pytest.skip("this transformers raises offline instead of returning an empty tokenizer")
    if len(loaded) > 256:
        pytest.skip("gpt2 is in the local Hugging Face cache here")
    with pytest.raises(ConfigError, match="<= 256 byte symbols"):
        tok_mod.check_vocab(loaded, "the hub (gpt2)")


def test_packing_cuts_the_stream_into_full_blocks(bpe, texts):
    stream = packing.encode(bpe, texts[:50])
    assert stream.count(bpe.eos_token_id) == 50 and stream[-1] == bpe.eos_token_id
    blocks = packing.pack_texts(bpe, texts[:50], 32)
    assert blocks.shape == (len(stream) // 32, 32) and blocks.dtype == np.int32
    assert blocks.reshape(-1).tolist() == stream[: blocks.size]  # no padding, nothing reordered
    assert packing.pack(list(range(10)), 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]  # the tail is dropped
    back = packing.from_frame(packing.to_frame(blocks))
    assert np.array_equal(back, blocks)


def test_heldout_split_is_decided_by_the_text(texts):
    train, held = packing.split(texts, 0.1)
    assert len(train) + len(held) == len(texts) and not set(train) & set(held)
    assert 0.05 < len(held) / len(texts) < 0.15
    # the same text lands on the same side whatever the sample or order
    train2, held2 = packing.split(list(reversed(texts[:300])), 0.1)
    assert set(held2) == {t for t in held if t in set(texts[:300])}
