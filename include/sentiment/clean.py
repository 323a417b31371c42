"""Preprocess feedback text before a model sees it, and cut the day into chunks for mapped tasks.

* normalize: HTML tags and entities out, whitespace collapsed (the export platform sends both);
* duplicates: the same customer sending the same normalized text again is dropped (kept in the
  table with ``status='duplicate'`` and the id it duplicates, so counts still add up);
* empty texts are flagged (``status='empty'``) and not scored;
* over-long texts are truncated to the model's token window at a token boundary, keeping the
  original characters (decoding tokens back would lowercase and mangle them), and flagged.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

# Why a regex and not an HTML parser: feedback carries stray inline tags (<p>, <br/>), not documents;
# a tag-shaped token is dropped, and html.unescape handles entities (&amp;, &nbsp;) by the standard.
_TAG = re.compile(r"<[^<>]{0,200}>")
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """``"<p>Great   price&nbsp;!</p>"`` → ``"Great price !"``."""
    text = _TAG.sub(" ", text or "")
    text = html.unescape(text).replace("\u00a0", " ")
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class TokenWindow:
    """How to count tokens and where to cut: a tokenizer's offsets, or words when there is none."""

    max_tokens: int
    tokenizer: Any | None = None

    def measure(self, text: str) -> tuple[int, str]:
        """(token count, text truncated to ``max_tokens`` tokens)."""
        if self.tokenizer is None:
            # Hosted LLM backend: no local tokenizer; words are a safe, provider-neutral proxy.
            words = text.split(" ")
            return len(words), " ".join(words[: self.max_tokens])
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        budget = self.max_tokens - self.tokenizer.num_special_tokens_to_add()
        if len(ids) <= budget:
            return len(ids), text
        return len(ids), text[: offsets[budget - 1][1]]


def prepare(valid: pd.DataFrame, window: TokenWindow) -> pd.DataFrame:
    """Valid records → one row per record with ``text_clean``, ``status``, ``n_tokens``, ``truncated``.

    Rows come back sorted by token length (longest first) so consecutive chunks hold similar lengths
    and each mapped inference task pads little.
    """
    frame = valid[["id", "customer_id", "channel", "created_at", "text"]].copy()
    frame["text_clean"] = frame["text"].map(normalize_text)
    frame["status"] = "ok"
    frame["duplicate_of"] = None
    frame.loc[frame["text_clean"] == "", "status"] = "empty"
    ok = frame[frame["status"] == "ok"]
    first_id = ok.drop_duplicates(["customer_id", "text_clean"]).set_index(["customer_id", "text_clean"])["id"]
    dup_index = ok.index[ok.duplicated(["customer_id", "text_clean"], keep="first")]
    keys = pd.MultiIndex.from_frame(frame.loc[dup_index, ["customer_id", "text_clean"]])
    frame.loc[dup_index, "duplicate_of"] = first_id.reindex(keys).to_numpy()
    frame.loc[dup_index, "status"] = "duplicate"
    measured = [window.measure(t) if s == "ok" else (0, "") for t, s in zip(frame["text_clean"], frame["status"],
                                                                             strict=True)]
    frame["n_tokens"] = [m[0] for m in measured]
    frame["truncated"] = frame["n_tokens"] > window.max_tokens
    frame["text_model"] = [m[1] for m in measured]
    frame = frame.drop(columns=["text"]).sort_values(["n_tokens", "id"], ascending=[False, True])
    return frame.reset_index(drop=True)


def chunk_ranges(n_rows: int, chunk_size: int) -> list[dict[str, int]]:
    """``[{"start": 0, "stop": 256}, ...]`` covering ``n_rows`` rows; one mapped task per range."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    return [{"start": s, "stop": min(s + chunk_size, n_rows)} for s in range(0, n_rows, chunk_size)]
