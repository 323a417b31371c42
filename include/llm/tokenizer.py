"""The tokenizer: byte-level BPE trained with ``tokenizers`` on the corpus, and the check every load passes.

Byte-level BPE (GPT-2's scheme) starts from the 256 byte symbols, so any UTF-8 text encodes without an
unknown token, and learns ``vocab_size - 257`` merges from the corpus plus ``<|endoftext|>`` (the document
separator, also BOS/EOS/PAD). The trained tokenizer is wrapped as a transformers
``PreTrainedTokenizerFast`` and saved with ``save_pretrained`` (``tokenizer.json`` + config), so the
registered model loads with ``AutoTokenizer`` like any hub model.

**The vocabulary check.** Offline, ``GPT2TokenizerFast.from_pretrained("gpt2")`` can hand back a
tokenizer with no merges at all (bytes only) instead of failing; training on it "works" and produces a
useless model. :func:`check_vocab` refuses any tokenizer whose vocabulary is not larger than the 256 byte
symbols, and every load here goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from include.platform.errors import ConfigError

EOS = "<|endoftext|>"
#: Byte-level BPE has 256 base symbols; a usable tokenizer has merges on top.
MIN_VOCAB = 257


def check_vocab(tokenizer: Any, where: str) -> Any:
    """``tokenizer`` if its vocabulary is larger than the 256 byte symbols, else a ConfigError naming ``where``."""
    size = len(tokenizer)
    if size < MIN_VOCAB:
        raise ConfigError(f"tokenizer from {where} has {size} entries (<= 256 byte symbols): it did not load "
                          "(an offline from_pretrained can return an empty tokenizer)",
                          "make the hub reachable (unset HF_HUB_OFFLINE / fill the cache) or use local:tiny-gpt2")
    if tokenizer.eos_token_id is None:
        raise ConfigError(f"tokenizer from {where} has no end-of-text token", "use a causal-LM tokenizer")
    return tokenizer


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts`` (deterministic for the same input)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=min_frequency,
                            special_tokens=[EOS], show_progress=False)
    fast = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS,
                                   pad_token=EOS, unk_token=EOS, model_max_length=1_000_000)
    return check_vocab(fast, "the corpus (trained)")


def load(path: str) -> Any:
    """A tokenizer saved with ``save_pretrained`` (a local folder), checked."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return check_vocab(tok, path)


def load_hub(hub_id: str) -> Any:
    """A hub model's tokenizer through ``from_pretrained`` (the id was allow-listed by the config), checked."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hub_id)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return check_vocab(tok, f"the hub ({hub_id})")
