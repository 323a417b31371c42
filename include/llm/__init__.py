"""Causal-LM fine-tuning (``llm_fine_tuning``): a corpus in the lake → validated, tokenized, packed →
a GPT-2-architecture model trained with checkpoints → perplexity and generation checks → the gate to
``textgen@champion``.

Modules, in pipeline order:

* ``config``     — :class:`~include.llm.config.FineTuneConfig`, every Param's home.
* ``steps``      — one function per DAG task, taking the typed config (the DAG file stays thin).
* ``corpus``     — the shipped real corpus (Women's E-Commerce Clothing Reviews, CC0) → ``raw/llm_corpus/``
  (:func:`~include.llm.corpus.seed_corpus`), and reading a corpus back with file and line.
* ``screen``     — the PII screen (e-mails, phone numbers, Luhn-valid card numbers) and length rules.
* ``validate``   — the Great Expectations suite over the corpus; failing rows → quarantine with reasons.
* ``tokenizer``  — byte-level BPE trained with ``tokenizers``, and the vocabulary check every load passes.
* ``packing``    — documents → token ids → fixed-length blocks (Parquet in the lake), held-out split.
* ``modeling``   — where the model comes from (``local:tiny-gpt2`` from a config, a registry ref, an
  allow-listed hub id through ``from_pretrained``), device and precision.
* ``training``   — the hand-written AdamW loop with checkpoints to the lake and resume.
* ``evaluation`` — held-out perplexity, greedy generations, repetition and distinct-n.
* ``gate``       — the promotion rule and the verdict through the platform lifecycle.

Import-light: DAG files import :mod:`include.llm.config` (and this package) at parse time.
"""

from include.platform.assets import TEXTGEN_MODEL  # noqa: F401 - re-exported for include/llm and the DAG

DAG_ID = "llm_fine_tuning"
MODEL_NAME = "textgen"
CHAMPION_REF = f"{MODEL_NAME}@champion"
#: The offline base: a GPT-2 config sized for 2 CPU cores, trained from scratch on the corpus.
LOCAL_TINY_GPT2 = "local:tiny-gpt2"

