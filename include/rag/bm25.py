"""The full-text side of the knowledge base: a tokenizer and Okapi BM25 scored in SQL.

Why our own (about 40 lines) instead of a library: DuckDB's ``fts`` extension cannot be downloaded here
(extensions come from the internet), and no BM25 package (bm25s, rank-bm25, tantivy) is in the locked
environment. DuckDB's own fts is itself SQL over an inverted-index table; we do the same, so the index
lives in the same database as the vectors, is updated in the same transaction as the chunks, and needs
no rebuild: ``kb_postings(chunk_id, term, tf)`` plus each chunk's length.

Scoring is Lucene's BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N − df + 0.5)/(df + 0.5))). Tokens: lower-case
letters/digits runs, English stop words removed (scikit-learn's list), plurals folded by Harman's "S"
stemmer (Harman 1991, "How effective is suffixing?", JASIS 42(1)): no stemmer package is installed, and
the S rules are three lines that make "headline" find "headlines" without Porter's over-stemming.
"""

from __future__ import annotations

import re
from collections import Counter

K1, B = 1.2, 0.75
_TOKEN = re.compile(r"[a-z0-9]+")


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


_STOP: frozenset[str] | None = None


def s_stem(word: str) -> str:
    """Harman's S stemmer: -ies → -y, -es → -e, -s → '' (not after a, e, o / u, s)."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    global _STOP  # noqa: PLW0603 - loaded once per process, lazily (sklearn import)
    if _STOP is None:
        _STOP = _stop_words()
    return [s_stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOP and len(t) > 1]


def term_counts(text: str) -> Counter[str]:
    return Counter(tokens(text))


#: One query: ``$terms`` (VARCHAR[], distinct query terms) and ``$k``. Returns (chunk_id, score) best first.
QUERY_SQL = f"""
WITH q AS (SELECT DISTINCT unnest($terms::VARCHAR[]) AS term),
stats AS (SELECT count(*)::DOUBLE AS n, avg(n_tokens)::DOUBLE AS avgdl FROM kb_chunks),
df AS (SELECT p.term, count(*)::DOUBLE AS df FROM kb_postings p JOIN q USING (term) GROUP BY p.term)
SELECT p.chunk_id,
       sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
           * p.tf * ({K1} + 1) / (p.tf + {K1} * (1 - {B} + {B} * c.n_tokens / stats.avgdl))) AS score
FROM kb_postings p JOIN df USING (term) JOIN kb_chunks c USING (chunk_id) CROSS JOIN stats
GROUP BY p.chunk_id
ORDER BY score DESC, p.chunk_id
LIMIT $k
"""
