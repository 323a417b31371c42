"""Chunk texts → unit vectors with a hosted embedding model behind an Airflow connection.

``embedding_model=hosted`` (``ingest_knowledge_base``): the model is named by a connection, never by a Param —
the connection id is deployment wiring (Variable ``genai_kb_embedding_conn_id``, default ``embedding_default``).
The connection follows the common-ai provider's ``PydanticAIHook`` conventions, the same as the project's hosted
chat models: type ``pydanticai`` (or ``pydanticai_azure`` ...), host = base URL, password = API key, extra
``{"model": "openai:text-embedding-3-small"}`` (optional ``"dimensions": 256`` for models that shorten their
vectors on request). The hook resolves the credentials and the provider exactly as for chat; the call itself
is pydantic-ai's :class:`pydantic_ai.embeddings.Embedder` (``POST /embeddings`` on OpenAI-compatible servers).

* **Model version** — ``hosted:<conn_id>/<model>`` (plus ``?dimensions=n``) is what ``kb_chunks.model`` and the
  ``knowledge_base`` event record. It is part of every document's fingerprint, so naming another model in the
  connection re-embeds everything; :func:`include.rag.embedding.query_vector` reads it back from the store and
  embeds queries with that model (through the same connection's credentials).
* **Batching** — ``batch_size`` texts per request (OpenAI accepts up to 2,048 inputs and 300k tokens per
  request), and at most :data:`MAX_REQUEST_CHARS` characters; vectors come back in input order, L2-normalised.
* **Retries** — on OpenAI-compatible clients (OpenAI, Azure OpenAI, vLLM, Ollama, ...) the SDK client is copied
  with ``max_retries`` and ``timeout``: a 429 / 408 / 409 / 5xx / timeout is retried with exponential backoff
  honouring ``Retry-After`` inside the task (the ``llm_max_retries`` rule of the LLM rooms), then Airflow's task
  retries take over. Other providers' SDKs (Cohere, Bedrock, Google, Voyage) keep their own retry defaults.
  A 401 / 403 / 404 is a :class:`~include.platform.errors.ConfigError` (a retry cannot fix a key or a model name).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.platform.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: ``IngestConfig.embedding_model``'s value for a model behind a connection.
HOSTED = "hosted"
#: Default connection id of the hosted embedding model (Variable ``genai_kb_embedding_conn_id`` re-points it).
EMBEDDING_CONN_ID = "embedding_default"
_PREFIX = "hosted:"
#: Characters per request at most (~100k tokens of English): far below OpenAI's 300k-token request limit.
MAX_REQUEST_CHARS = 400_000
#: Query embedding (hybrid_search): per-request timeout and retries.
QUERY_TIMEOUT_S, QUERY_MAX_RETRIES = 30.0, 4
_FIX = ("add connection {conn} (type pydanticai: host = the API's base URL, password = the API key, extra "
        '{{"model": "openai:text-embedding-3-small"}}), or point Variable genai_kb_embedding_conn_id at one, '
        "or use embedding_model local:all-minilm-l6-v2")


@dataclass(frozen=True)
class HostedModel:
    """A hosted embedding model: the connection that reaches it and the model it names."""

    conn_id: str
    model: str  # pydantic-ai 'provider:model', e.g. 'openai:text-embedding-3-small'
    dimensions: int | None = None  # asked of the API (connection extra), None = the model's own

    @property
    def version(self) -> str:
        """What ``kb_chunks.model`` and the asset event record (and the fingerprint includes)."""
        return f"{_PREFIX}{self.conn_id}/{self.model}" + (f"?dimensions={self.dimensions}" if self.dimensions else "")


def parse_version(version: str) -> HostedModel | None:
    """The :class:`HostedModel` a recorded model version names; None for the local model's versions."""
    if not version.startswith(_PREFIX) or "/" not in version:
        return None
    conn_id, _, rest = version[len(_PREFIX):].partition("/")
    model, _, query = rest.partition("?dimensions=")
    return HostedModel(conn_id, model, int(query) if query else None)


def resolve(conn_id: str) -> HostedModel:
    """The model the connection names (no request is sent); a missing connection or model is a ConfigError."""
    from airflow.sdk import BaseHook

    from include.platform.connections import connection_exists

    if not connection_exists(conn_id):
        raise ConfigError(f"embedding_model is hosted but connection {conn_id!r} does not exist",
                          _FIX.format(conn=conn_id))
    conn = BaseHook.get_connection(conn_id)
    if not str(conn.conn_type or "").startswith("pydanticai"):
        raise ConfigError(f"hosted embedding connection {conn_id!r} is of type {conn.conn_type!r}, not a Pydantic "
                          "AI connection", _FIX.format(conn=conn_id))
    extra = conn.extra_dejson or {}
    model = str(extra.get("model") or "").strip()
    if not model:
        raise ConfigError(f"hosted embedding connection {conn_id!r} names no model (extra 'model')",
                          'set its extra to {"model": "openai:text-embedding-3-small"} (or the model your server '
                          "serves, prefixed by its pydantic-ai provider)")
    dims = extra.get("dimensions")
    if dims not in (None, ""):
        try:
            dims = int(dims)
        except (TypeError, ValueError):
            dims = -1
        if not 1 <= dims <= 16_000:
            raise ConfigError(f"connection {conn_id!r}: extra 'dimensions' = {extra.get('dimensions')!r} is not a "
                              "positive integer", "remove it (the model's own size) or set e.g. 256, 512, 1024")
    return HostedModel(conn_id, model, dims or None)


def _embedding_model(model: HostedModel, timeout_s: float, max_retries: int) -> Any:  # EmbeddingModel
    """The pydantic-ai embedding model, its provider built by the common-ai ``PydanticAIHook`` from the connection."""
    # Run time only: pydantic-ai costs ~0.5 s to import.
    from airflow.providers.common.ai.hooks.pydantic_ai import PydanticAIHook
    from pydantic_ai.embeddings import infer_embedding_model

    try:
        chat = PydanticAIHook.get_hook(model.conn_id, hook_params={"model_id": model.model}).get_conn()
    except ValueError as exc:
        raise ConfigError(f"hosted embedding connection {model.conn_id!r}: {exc}", _FIX.format(conn=model.conn_id)) \
            from exc
    provider = getattr(chat, "provider", None)
    if provider is None:
        raise ConfigError(f"hosted embedding connection {model.conn_id!r} resolves to {type(chat).__name__} with no "
                          "single provider (a fallback chain?)", "remove fallback_conn_ids from that connection")
    from openai import AsyncOpenAI

    client = getattr(provider, "client", None)
    if isinstance(client, AsyncOpenAI):
        from pydantic_ai.embeddings.openai import OpenAIEmbeddingModel
        from pydantic_ai.providers.openai import OpenAIProvider

        # The provider's own client (Azure's too), copied with this task's retry budget and timeout.
        tuned = client.with_options(max_retries=int(max_retries), timeout=float(timeout_s))
        return OpenAIEmbeddingModel(chat.model_name, provider=OpenAIProvider(openai_client=tuned))
    return infer_embedding_model(f"{provider.name}:{chat.model_name}", provider_factory=lambda _name: provider)


def batches(texts: list[str], batch_size: int, max_chars: int = MAX_REQUEST_CHARS) -> list[list[int]]:
    """Indexes of ``texts`` per request, in input order: at most ``batch_size`` texts and ``max_chars`` characters."""
    out: list[list[int]] = []
    current: list[int] = []
    chars = 0
    for i, text in enumerate(texts):
        if current and (len(current) >= batch_size or chars + len(text) > max_chars):
            out.append(current)
            current, chars = [], 0
        current.append(i)
        chars += len(text)
    if current:
        out.append(current)
    return out


def embed(texts: list[str], model: HostedModel, *, batch_size: int = 128, timeout_s: float = 60.0,
          max_retries: int = 4, input_type: str = "document",
          on_first_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """``len(texts) × dim`` float32, L2-normalised, in input order.

    ``on_first_batch(dim)`` runs once the first response is in (the caller checks the store's dimension
    there, before the rest of the corpus is paid for).
    """
    import numpy as np
    from pydantic_ai.embeddings import Embedder
    from pydantic_ai.exceptions import ModelHTTPError

    if not texts:
        return np.zeros((0, model.dimensions or 0), dtype=np.float32)
    embedder = Embedder(_embedding_model(model, timeout_s, max_retries),
                        settings={"dimensions": model.dimensions} if model.dimensions else None)
    # Empty strings are refused by OpenAI's API; a chunk is never empty, a query may be.
    safe = [t if t.strip() else " " for t in texts]
    out: np.ndarray | None = None
    for n, idx in enumerate(batches(safe, batch_size)):
        try:
            result = embedder.embed_sync([safe[i] for i in idx], input_type=input_type)
        except ModelHTTPError as exc:
            if exc.status_code in (401, 403, 404):
                raise ConfigError(f"hosted embedding model {model.version} refused the request: HTTP "
                                  f"{exc.status_code} {exc.body!r}", "check the connection's API key, base URL "
                                  "and model name") from exc
            raise
        got = np.asarray(result.embeddings, dtype=np.float32)
        if got.ndim != 2 or got.shape[0] != len(idx):
            raise RuntimeError(f"{model.version} answered {got.shape[0] if got.ndim else 0} vectors for "
                               f"{len(idx)} texts")
        if out is None:
            out = np.zeros((len(texts), got.shape[1]), dtype=np.float32)
            if on_first_batch is not None:
                on_first_batch(got.shape[1])
        elif got.shape[1] != out.shape[1]:
            raise RuntimeError(f"{model.version} changed dimension mid-run: {out.shape[1]} then {got.shape[1]}")
        norms = np.linalg.norm(got, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise RuntimeError(f"{model.version} answered a zero vector")
        out[idx] = got / norms
        log.debug("embedded batch %d: %d texts through %s", n, len(idx), model.version)
    return out
