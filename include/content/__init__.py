"""Content generation (``content_generation``): briefs → hybrid retrieval from the knowledge base →
a draft with citations (hosted LLM, local textgen model or extractive) → grounding gate → human approval → published content.

The generation half of issue #17 (``ingest_knowledge_base`` builds what this retrieves from).

Modules, in pipeline order:

* ``config``    — :class:`~include.content.config.ContentConfig`, every Param's home.
* ``steps``     — one function per DAG task (the DAG file stays thin).
* ``briefs``    — the form's brief and ``raw/briefs/<date>/*.jsonl``, validated line by line; the demo briefs.
* ``sentences`` — sentence splitting of Markdown/HTML-derived chunk text (shared by composer and gate).
* ``compose``   — the extractive composer: the retrieved sentences closest to the brief (MiniLM), each cited.
* ``local``     — the offline writer: ``textgen@champion`` continues the retrieved chunks + the brief; each
  sentence cited with the retrieved chunk most similar to it (MiniLM).
* ``hosted``    — the hosted-LLM writer: structured output (sentences, each with cited chunk ids) through
  the common-ai provider's ``PydanticAIHook`` (:func:`include.platform.llm_answers.ask_structured`).
* ``grounding`` — the gate: support of every sentence by a cited, retrieved chunk; citations; length; terms.
* ``pipeline``  — lake and warehouse I/O (drafts, quarantine, ``curated/content/``, ``generated_content``).
* ``report``    — the Markdown report with its grounding chart.

Import-light: the DAG file imports :mod:`include.content.config` (and this package) at parse time.
"""

DAG_ID = "content_generation"
#: Warehouse table of reviewed drafts (published and rejected), keyed by (brief_id, content_date).
TABLE = "generated_content"
TABLE_KEY = ("brief_id", "content_date")
#: Lake folders: briefs in, published content out (``curated/content/<date>/<brief_id>.md`` + ``.json``).
BRIEFS_ZONE, BRIEFS_PREFIX = "raw", "briefs"
CONTENT_ZONE, CONTENT_PREFIX = "curated", "content"
#: The modes a draft can be written in (``auto`` resolves to llm or extractive at run time, never local).
MODES = ("auto", "llm", "extractive", "local")
#: Options of the approval step (the HITL operator's buttons in Required Actions).
APPROVE, REJECT = "Approve", "Reject"
