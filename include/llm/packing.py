"""Documents → token ids → fixed-length blocks, and the held-out split.

Each document is encoded, followed by ``<|endoftext|>``, and the stream is cut into blocks of exactly
``block_size`` tokens (the short tail is dropped): no padding, every position is a real next-token target,
and a block may span two documents (the separator tells the model where one ends) — GPT-2's recipe.

The held-out split is by a stable hash of the document text (not its position), so a document is on the
same side in every run and sample: the champion and the challenger are scored on the same texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def is_heldout(text: str, share: float) -> bool:
    """True for about ``share`` of texts, decided by the text alone (sha256 → [0, 1))."""
    bucket = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64
    return bucket < share


def split(texts: Sequence[str], share: float) -> tuple[list[str], list[str]]:
    """(train, held-out) texts; at least one held-out text when there are two or more."""
    held = [t for t in texts if is_heldout(t, share)]
    train = [t for t in texts if not is_heldout(t, share)]
    if not held and len(train) > 1:
        held, train = train[-1:], train[:-1]
    return train, held


def encode(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """All texts as one token stream, each followed by the end-of-text id."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    return stream


def pack(stream: Sequence[int], block_size: int) -> np.ndarray:
    """``[n_blocks, block_size]`` int32 blocks cut from ``stream`` (the tail shorter than a block is dropped)."""
    n = len(stream) // block_size
    return np.asarray(stream[: n * block_size], dtype=np.int32).reshape(n, block_size)


def pack_texts(tokenizer: Any, texts: Sequence[str], block_size: int) -> np.ndarray:
    return pack(encode(tokenizer, texts), block_size)


def to_frame(blocks: np.ndarray) -> pd.DataFrame:
    """Blocks as a Parquet-ready frame: one ``input_ids`` list per row."""
    return pd.DataFrame({"input_ids": list(blocks)})


def from_frame(frame: pd.DataFrame) -> np.ndarray:
    if frame.empty:
        return np.zeros((0, 0), dtype=np.int32)
    return np.stack([np.asarray(v, dtype=np.int32) for v in frame["input_ids"]])
