"""The full-text side of the knowledge base: an analyzer and Okapi BM25 scored in SQL.

Why our own (about 60 lines) instead of a library: DuckDB's ``fts`` extension cannot be downloaded here
(extensions come from the internet), and no BM25 package (bm25s, rank-bm25, tantivy) is in the locked
environment. DuckDB's own fts is itself SQL over an inverted-index table; we do the same, so the index
lives in the same database as the vectors, is updated in the same transaction as the chunks, and needs
no rebuild: ``kb_postings(chunk_id, term, tf)`` plus each chunk's length.

Scoring is Lucene's BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N − df + 0.5)/(df + 0.5))) with a weight per
query term: 1 for the query's own terms; :mod:`include.rag.search` adds weighted feedback terms.

Analyzer (:data:`ANALYZER`): lower-case letter/digit runs, English stop words removed (scikit-learn's
list), then the **Snowball English (Porter2) stemmer** of the ``snowballstemmer`` package (BSD-3, pure
Python; the stemmer of Lucene's and Elasticsearch's English analyzers). It replaced Harman's S stemmer
(plurals only): BM25 nDCG@10 on BEIR NFCorpus 0.296 vs 0.286 on dev, 0.327 vs 0.318 on test
(docs/ingest_knowledge_base.md). The stores record the analyzer that built their postings and re-index
them from the stored chunk texts when it changes (no re-embedding).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable

K1, B = 1.2, 0.75
_TOKEN = re.compile(r"[a-z0-9]+")
#: Recorded by the stores next to the postings it built; a different value re-indexes them.
ANALYZER = "snowball-english/sklearn-stop/v2"


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


_STOP: frozenset[str] | None = None


@functools.lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - snowballstemmer's EnglishStemmer (imported lazily: DAG files import this package)
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball English (Porter2) stem of one lower-case word; cached, as a corpus repeats its vocabulary."""
    return _stemmer().stemWord(word)


def tokens(text: str) -> list[str]:
    global _STOP  # noqa: PLW0603 - loaded once per process, lazily (sklearn import)
    if _STOP is None:
        _STOP = _stop_words()
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOP and len(t) > 1]


def term_counts(text: str) -> Counter[str]:
    return Counter(tokens(text))


def index_rows(rows: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
    """``(chunk_id, text)`` pairs → postings ``(chunk_id, term, tf)`` and lengths ``(chunk_id, n_tokens)``.

    What a store writes for new chunks, and what it rebuilds from ``kb_chunks.text`` when :data:`ANALYZER`
    changes."""
    postings: list[tuple[str, str, int]] = []
    lengths: list[tuple[str, int]] = []
    for chunk_id, text in rows:
        counts = term_counts(text)
        lengths.append((chunk_id, max(sum(counts.values()), 1)))
        postings.extend((chunk_id, t, n) for t, n in counts.items())
    return postings, lengths


def weighted(terms: list[str] | dict[str, float]) -> tuple[list[str], list[float]]:
    """Query terms as sorted parallel (terms, weights) lists; a plain list gives each distinct term weight 1."""
    if isinstance(terms, dict):
        items = sorted((t, float(w)) for t, w in terms.items() if w > 0)
    else:
        items = [(t, 1.0) for t in sorted(set(terms))]
    return [t for t, _ in items], [w for _, w in items]


def score_sql(tf: str, length: str) -> str:
    """The BM25 term weight in SQL (both dialects): idf × saturated, length-normalised tf."""
    return (f"ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * {tf} * ({K1} + 1) / "
            f"({tf} + {K1} * (1 - {B} + {B} * {length} / stats.avgdl))")


#: One query: ``$terms`` (VARCHAR[], distinct) with ``$weights`` (DOUBLE[], same order) and ``$k``.
#: Returns (chunk_id, score) best first.
QUERY_SQL = f"""
WITH q AS (SELECT unnest($terms::VARCHAR[]) AS term, unnest($weights::DOUBLE[]) AS qw),
stats AS (SELECT count(*)::DOUBLE AS n, avg(n_tokens)::DOUBLE AS avgdl FROM kb_chunks),
df AS (SELECT p.term, count(*)::DOUBLE AS df FROM kb_postings p JOIN q USING (term) GROUP BY p.term)
SELECT p.chunk_id, sum(q.qw * {score_sql('p.tf', 'c.n_tokens')}) AS score
FROM kb_postings p JOIN q USING (term) JOIN df USING (term) JOIN kb_chunks c USING (chunk_id) CROSS JOIN stats
GROUP BY p.chunk_id
ORDER BY score DESC, p.chunk_id
LIMIT $k
"""

#: Feedback terms: the summed BM25 weight of every term of the chunks ``$ids`` (VARCHAR[]), best ``$k``
#: first — the term distribution pseudo-relevance feedback (RM3-style) adds to a query.
FEEDBACK_SQL = f"""
WITH fb AS (SELECT DISTINCT unnest($ids::VARCHAR[]) AS chunk_id),
stats AS (SELECT count(*)::DOUBLE AS n, avg(n_tokens)::DOUBLE AS avgdl FROM kb_chunks),
t AS (SELECT DISTINCT p.term FROM kb_postings p JOIN fb USING (chunk_id)),
df AS (SELECT p.term, count(*)::DOUBLE AS df FROM kb_postings p JOIN t USING (term) GROUP BY p.term)
SELECT p.term, sum({score_sql('p.tf', 'c.n_tokens')}) AS w
FROM kb_postings p JOIN fb USING (chunk_id) JOIN df USING (term) JOIN kb_chunks c USING (chunk_id) CROSS JOIN stats
GROUP BY p.term
ORDER BY w DESC, p.term
LIMIT $k
"""
