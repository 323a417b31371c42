"""The demo knowledge base: a real, permissively licensed documentation set plus planted answer passages.

* Source ``pydantic_ai_agents``: Pydantic AI's "building Pydantic AI agents" guide (``SKILL.md`` and its 12
  reference pages, Markdown) as shipped inside the ``pydantic-ai-slim`` 2.68.0 wheel
  (``pydantic_ai/.agents/skills/building-pydantic-ai-agents/``), MIT licence, © Pydantic Services Inc.;
  copied into ``include/rag/demo_corpus/`` with its ``LICENSE`` (seeded as ``LICENSE.txt``).
* Source ``handbook``: three short documents written for this project (CC0) in the three formats the
  extractor reads (Markdown, HTML, text). They hold the *planted* passages: facts found nowhere else, which
  :data:`SEEDED_QUESTIONS` ask about in other words (recall@5 in tests/e2e).

:func:`seed_knowledge_base` writes both under ``raw/knowledge/<source>/`` (``seed_demo_data`` calls it);
like every seeder it never writes over an existing object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from include.rag import PREFIX, ZONE

CORPUS_DIR = Path(__file__).resolve().parent / "demo_corpus"
LICENSES = {
    "pydantic_ai_agents": {"name": "Pydantic AI — building-pydantic-ai-agents skill (pydantic-ai-slim 2.68.0)",
                           "license": "MIT", "copyright": "Pydantic Services Inc.",
                           "url": "https://github.com/pydantic/pydantic-ai"},
    "handbook": {"name": "genai-airflow-pipelines demo handbook", "license": "CC0-1.0"},
}

#: Planted passages: (question, source, path, text the answering chunk contains). Paraphrases, not copies.
SEEDED_QUESTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("Who should be paged when the nightly knowledge ingestion keeps failing?",
     "handbook", "operations.md", "#kb-oncall"),
    ("How long is the escalation window before the head of platform engineering gets involved?",
     "handbook", "operations.md", "45 minutes"),
    ("Why does switching to another embedding model force re-embedding the whole corpus?",
     "handbook", "operations.md", "cannot be compared"),
    ("For how many days do we keep files that were quarantined?", "handbook", "retention.html", "30 days"),
    ("How long are drafts that failed the grounding check retained?", "handbook", "retention.html", "90 days"),
    ("How fast does the privacy team handle data removal requests?", "handbook", "retention.html",
     "14 calendar days"),
    ("What is the maximum word count of a generated article?", "handbook", "style_guide.txt", "1,200 words"),
    ("How long may a headline be?", "handbook", "style_guide.txt", "70 characters"),
    ("How often is the vector store backed up?", "handbook", "operations.md", "every six hours"),
    ("When do we rehearse restoring from backup?", "handbook", "operations.md", "first Monday"),
)

#: Questions about the real documentation (not planted): reported beside the gate, not gated — several
#: pages of the guide answer them, so "the" passage is a judgement call.
REAL_DOC_QUESTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("How can I test an agent deterministically without calling a real LLM?", "pydantic_ai_agents",
     "references/TESTING-AND-DEBUGGING.md", "TestModel"),
    ("Which decorator registers a tool function that needs access to the run context?", "pydantic_ai_agents",
     "references/TOOLS-CORE.md", "tool_plain"),
)


def corpus_files() -> dict[str, list[tuple[str, Path]]]:
    """source → [(key under raw/knowledge/<source>/, shipped file)]: Markdown, HTML, text, and LICENSE."""
    out: dict[str, list[tuple[str, Path]]] = {}
    for source_dir in sorted(p for p in CORPUS_DIR.iterdir() if p.is_dir()):
        files = []
        for f in sorted(source_dir.rglob("*")):
            if not f.is_file():
                continue
            key = f.relative_to(source_dir).as_posix()
            files.append(("LICENSE.txt" if key == "LICENSE" else key, f))
        out[source_dir.name] = files
    return out


def seed_knowledge_base(*, sources: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Write the shipped demo corpus to ``raw/knowledge/<source>/``; never over an existing object.
    Returns ``{source: {"written": n, "kept": n}}`` (kept = already there, untouched)."""
    from include.platform import storage

    summary: dict[str, Any] = {}
    for source, files in corpus_files().items():
        if sources is not None and source not in sources:
            continue
        written = kept = 0
        for key, f in files:
            dest = storage.lake_path(ZONE, PREFIX, source, *key.split("/"))
            if storage.create_exclusive(dest, f.read_bytes()):
                written += 1
            else:
                kept += 1
        summary[source] = {"written": written, "kept": kept, **LICENSES.get(source, {})}
    return summary
