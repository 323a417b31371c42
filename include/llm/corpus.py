"""The corpus in the lake: seeding it from the shipped real reviews, and reading it back with file and line.

The default corpus is the review text of **Women's E-Commerce Clothing Reviews** (nicapotato, Kaggle;
CC0 1.0), the 11,192 reviews already shipped in ``include/sentiment/datasets/train_corpus.parquet``
(``source == "womens_clothing_reviews"``; processing and checksums in that folder's ``DATASETS.md``):
the project's own feedback domain. The airline tweets beside them are CC BY-NC-SA and are not used.

:func:`seed_corpus` writes it to ``raw/llm_corpus/<key>`` as JSONL (``seed_demo_data`` calls it; the DAG
never seeds its own input). :func:`read_corpus` accepts JSONL (one object per line with ``text``) or
Parquet (a ``text`` column); a JSONL line that is not such an object is returned as a rejected row with
its reason, so validation can quarantine it with file and line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from include.llm.config import DEFAULT_CORPUS_KEY
from include.platform.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import ObjectStoragePath

ZONE, PREFIX = "raw", "llm_corpus"
SOURCE = "womens_clothing_reviews"
LICENSE = {"name": "Women's E-Commerce Clothing Reviews (nicapotato, Kaggle)", "license": "CC0-1.0",
           "url": "https://www.kaggle.com/datasets/nicapotato/womens-ecommerce-clothing-reviews"}


def corpus_path(key: str = DEFAULT_CORPUS_KEY) -> ObjectStoragePath:
    """``raw/llm_corpus/<key>`` (guarded: no ``..`` or absolute parts)."""
    from include.platform import storage

    return storage.lake_path(ZONE, PREFIX, *key.split("/"))


def shipped_texts() -> list[str]:
    """The review texts of the shipped clothing-review corpus, in file order."""
    from include.sentiment.corpus import load_train_corpus

    frame = load_train_corpus(sources=(SOURCE,))
    return frame["text"].astype(str).tolist()


def seed_corpus(key: str = DEFAULT_CORPUS_KEY, *, overwrite: bool = False, max_docs: int | None = None) -> dict[str, Any]:
    """Write the shipped reviews to ``raw/llm_corpus/<key>`` as JSONL; never over an existing object
    unless ``overwrite``. Returns ``{uri, docs, written}`` (``written`` False when it already existed)."""
    from include.platform import storage

    path = corpus_path(key)
    if not key.endswith(".jsonl"):
        raise ValueError(f"seed_corpus writes JSONL; {key!r} does not end with .jsonl")
    if path.exists() and not overwrite:
        return {"uri": str(path), "docs": None, "written": False}
    texts = shipped_texts()[: max_docs or None]
    lines = (json.dumps({"id": f"wcr-{i:05d}", "text": t, "source": SOURCE, "license": LICENSE["license"]},
                        ensure_ascii=False) for i, t in enumerate(texts))
    storage.write_text(path, "\n".join(lines) + "\n")
    return {"uri": str(path), "docs": len(texts), "written": True}


def read_corpus(key: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """``(documents, rejected)``: documents with ``source_file``, ``line`` and ``text``; rejected rows
    (unparseable lines, non-objects, a missing or non-string ``text``) with ``source_file``, ``line``,
    ``reason`` and ``raw``. A missing corpus fails at once, naming how to seed it."""
    import pandas as pd

    from include.platform import storage

    path = corpus_path(key)
    if not path.exists():
        raise ConfigError(f"no corpus at {path}",
                          "run `make run DAG=seed_demo_data` (it writes the default corpus through "
                          "include.llm.corpus.seed_corpus) or point Param corpus_key at a corpus under raw/llm_corpus/")
    name = path.name
    if key.endswith(".parquet"):
        frame = storage.read_parquet(path)
        if "text" not in frame.columns:
            raise ConfigError(f"{path} has no 'text' column (columns: {list(frame.columns)})",
                              "write the corpus with a 'text' column")
        docs = pd.DataFrame({"source_file": name, "line": pd.array([None] * len(frame), dtype="Int64"),
                             "text": frame["text"]})
        return docs, []
    from include.platform import lines

    # The platform's JSONL reader: per-line strict UTF-8, U+2028 kept inside strings, nesting bounded, every
    # problem a reason with its line. Lines may be as long as the largest max_chars allows (1M characters).
    read = lines.read_json_lines(storage.read_bytes(path), name, max_line_bytes=8 * 2**20)
    rejected = [{"source_file": name, "line": q.line_no, "reason": q.reason, "raw": q.raw} for q in read.quarantined]
    rows = []
    for rec in read.records:
        if not isinstance(rec.value, dict) or not isinstance(rec.value.get("text"), str):
            rejected.append({"source_file": name, "line": rec.line_no,
                             "reason": "expected a JSON object with a string 'text' field",
                             "raw": rec.text[: lines.RAW_PREVIEW_CHARS]})
            continue
        rows.append({"source_file": name, "line": rec.line_no, "text": rec.value["text"]})
    rejected.sort(key=lambda r: r["line"])
    docs = pd.DataFrame(rows, columns=["source_file", "line", "text"])
    docs["line"] = docs["line"].astype("Int64")
    return docs, rejected
