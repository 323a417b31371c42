"""The run's lake and warehouse I/O around the pure modules: what :mod:`include.content.steps` calls.

* ``quarantine/content_generation/<day>/briefs[-form].jsonl`` — rejected brief lines (:func:`prepare`);
* ``curated/content_generation/runs/<run>/drafts.json`` — every draft with its gate verdict (:func:`gate`);
* ``quarantine/content_generation/<day>/drafts[-form].jsonl`` — drafts the gate refused, with reasons;
* ``curated/content/<day>/<brief_id>.md`` + ``.json`` — approved drafts (:func:`publish`);
* warehouse ``generated_content``, key ``(brief_id, content_date)``: published *and* rejected drafts (status,
  reviewer, comment) — reruns replace, never duplicate;
* ``reports/content_generation/<day>/report.md`` + ``grounding.png`` (:func:`build_report`).

``-form``: runs with ``read_lake`` off keep their own quarantine files, so they never replace the day's.

Every valid brief ends in exactly one place: a ``published`` or ``rejected`` row (and, if published, its
files), or a line of the day's draft quarantine. A draft that fails the gate on a rerun loses an earlier
run's row and files for the same key: what is in ``curated/content/`` always passed today's gate.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from include.content import APPROVE, CONTENT_PREFIX, CONTENT_ZONE, DAG_ID, TABLE, TABLE_KEY

if TYPE_CHECKING:
    from include.content.config import ContentConfig

log = logging.getLogger(__name__)

ROW_COLUMNS = ["brief_id", "content_date", "status", "mode", "model", "title", "topic", "audience", "tone",
               "length", "body_md", "sentences_json", "citations", "sources", "n_sentences", "words",
               "min_support", "mean_support", "reviewer", "review_comment", "reviewed_at", "source_file", "line",
               "run_id", "generated_at"]


def quarantine_name(base: str, cfg: ContentConfig) -> str:
    """``base`` for runs that read the day's files, ``base-form`` for form-only runs (``read_lake`` off)."""
    return base if cfg.read_lake else f"{base}-form"


def resolve_mode(cfg: ContentConfig) -> str:
    """``llm``, ``extractive`` or ``local``: ``auto`` is llm exactly when connection ``llm_conn_id`` exists,
    else extractive (never local: the offline model is a small review-continuation model)."""
    if cfg.mode != "auto":
        return cfg.mode
    from include.platform.connections import connection_exists

    return "llm" if connection_exists(cfg.llm_conn_id) else "extractive"


def resolve_local_model(cfg: ContentConfig) -> str:
    """The registry version ``local_model`` points at (``textgen/<n>``); none yet → ConfigError naming the fix."""
    from include.platform import registry
    from include.platform.errors import ConfigError

    try:
        return registry.resolve(cfg.local_model).ref
    except registry.MissingModelError as err:
        raise ConfigError(f"mode local needs the textgen model {cfg.local_model!r}, and the registry has none "
                          f"({err.problem})",
                          "run DAG llm_fine_tuning first (it trains and promotes textgen@champion), or trigger with "
                          "mode extractive or llm") from err


# ------------------------------------------------------------------------------------------------ prepare
def prepare(cfg: ContentConfig, day: date) -> dict[str, Any]:
    """The day's valid briefs (form + files) and what was quarantined, with counts."""
    from include.content import BRIEFS_PREFIX, BRIEFS_ZONE, briefs
    from include.platform import quarantine, storage

    files = []
    if cfg.read_lake:
        files = storage.read_files(storage.lake_path(BRIEFS_ZONE, BRIEFS_PREFIX, day.isoformat()), ".jsonl")
    form = {"topic": cfg.topic, "audience": cfg.audience, "tone": cfg.tone, "length": cfg.length}
    read = briefs.read_briefs(files, form)
    q_uri = quarantine.write_rejected(DAG_ID, day, quarantine_name("briefs", cfg),
                                      [q | {"run_date": day.isoformat()} for q in read.quarantined])
    info = {"day": day.isoformat(), "files": len(files), "lines": read.lines, "blank": read.blank,
            "valid": len(read.valid), "quarantined": len(read.quarantined), "quarantine_uri": q_uri,
            "briefs": [b.as_dict() for b in read.valid]}
    log.info("briefs %s: %d files, %d lines, %d valid, %d quarantined", day, len(files), read.lines,
             len(read.valid), len(read.quarantined))
    return info


# ----------------------------------------------------------------------------------------------- retrieve
def retrieve(cfg: ContentConfig, brief: dict[str, Any]) -> dict[str, Any]:
    """``{"brief", "hits"}``: the top-k chunks for the brief's topic (the only text the writer may use)."""
    from include.platform.errors import ConfigError
    from include.rag.search import hybrid_search
    from include.rag.store import KnowledgeStore

    store = KnowledgeStore(cfg.kb_conn_id)
    hits = hybrid_search(brief["topic"], cfg.top_k, store=store, mode=cfg.retrieval_mode)
    if not hits and store.counts()["chunks"] == 0:
        raise ConfigError(f"the knowledge base behind {cfg.kb_conn_id!r} is empty",
                          "run DAG ingest_knowledge_base first (seed_demo_data writes its demo corpus)")
    keep = ("chunk_id", "score", "source", "path", "heading", "body")
    out = [{k: h.to_dict()[k] for k in keep} for h in hits]
    log.info("%s: %d chunks retrieved (%s)", brief["brief_id"], len(out), [h["chunk_id"][:10] for h in out])
    return {"brief": brief, "hits": out}


# ------------------------------------------------------------------------------------------------- write
def _n_sentences(brief: dict[str, Any]) -> int:
    from include.content.briefs import SENTENCES

    return SENTENCES[brief["length"]]


def write_extractive(cfg: ContentConfig, retrieved: dict[str, Any]) -> dict[str, Any]:
    from include.content.compose import compose

    brief = retrieved["brief"]
    draft = compose(brief, retrieved["hits"], n_sentences=_n_sentences(brief),
                    max_per_chunk=cfg.max_sentences_per_chunk)
    return draft | {"brief_id": brief["brief_id"], "mode": "extractive", "model": "extractive:minilm"}


def write_local(cfg: ContentConfig, retrieved: dict[str, Any]) -> dict[str, Any]:
    """The offline draft: ``local_model`` continues context + brief; citations assigned by MiniLM similarity."""
    import tempfile

    from include.content import local
    from include.llm import modeling
    from include.textgen.pipeline import load_registry_model

    brief = retrieved["brief"]
    version = resolve_local_model(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer = load_registry_model(version, tmp)
    draft = local.write(model, tokenizer, brief, retrieved["hits"], _n_sentences(brief),
                        tokens_per_sentence=cfg.local_tokens_per_sentence, temperature=cfg.local_temperature,
                        top_p=cfg.local_top_p, seed=cfg.local_seed, device=modeling.pick_device("auto"))
    gen = draft["generation"]
    log.info("%s: %s wrote %d new tokens (%s) → %d sentences; prompt %d tokens, context %d of %d tokens",
             brief["brief_id"], version, gen["new_tokens"], gen["finish_reason"], len(draft["sentences"]),
             gen["prompt_tokens"], gen["context_tokens"], gen["context_total_tokens"])
    return draft | {"brief_id": brief["brief_id"], "mode": "local", "model": f"local:{version}"}


def write_llm(cfg: ContentConfig, retrieved: dict[str, Any]) -> dict[str, Any]:
    from include.content.hosted import write

    brief = retrieved["brief"]
    draft = write(brief, retrieved["hits"], _n_sentences(brief), conn_id=cfg.llm_conn_id,
                  model_id=cfg.llm_model_id, timeout_s=cfg.llm_timeout_s, max_retries=cfg.llm_max_retries,
                  temperature=cfg.temperature)
    return draft | {"brief_id": brief["brief_id"], "mode": "llm", "model": cfg.llm_version}


# --------------------------------------------------------------------------------------------------- gate
def gate(cfg: ContentConfig, day: date, run_id: str, retrieved: list[dict[str, Any]],
         drafts: list[dict[str, Any]]) -> dict[str, Any]:
    """Judge every draft; quarantine the failing ones; keep all verdicts in the run folder."""
    from include.content import grounding
    from include.platform import quarantine, runs, storage

    rules = grounding.GateRules(cfg.min_support, cfg.min_sentences, cfg.max_words, cfg.min_cited_chunks,
                                tuple(cfg.banned_terms))
    by_brief = {r["brief"]["brief_id"]: r for r in retrieved}
    judged, q_rows = [], []
    for draft in drafts:
        ctx = by_brief[draft["brief_id"]]
        verdict = grounding.check(draft, ctx["hits"], rules)
        entry = {"brief": ctx["brief"], "hits": ctx["hits"], "draft": draft | {"sentences": verdict["sentences"]},
                 "verdict": {k: v for k, v in verdict.items() if k != "sentences"}}
        judged.append(entry)
        if verdict["reasons"]:
            brief = ctx["brief"]
            q_rows.append({"source_file": brief["source_file"], "line": brief["line"],
                           "reason": "; ".join(verdict["reasons"]), "brief_id": brief["brief_id"],
                           "topic": brief["topic"], "mode": draft["mode"], "model": draft["model"],
                           "title": draft.get("title"), "sentences": verdict["sentences"],
                           "retrieved": [h["chunk_id"] for h in ctx["hits"]], "run_date": day.isoformat()})
    missing = sorted(set(by_brief) - {d["brief_id"] for d in drafts})
    if missing:  # a writer returning nothing for a brief is a bug upstream, not a draft to drop silently
        raise RuntimeError(f"no draft for briefs {missing}")
    q_uri = quarantine.write_rejected(DAG_ID, day, quarantine_name("drafts", cfg), q_rows)
    uri = runs.run_path("curated", DAG_ID, run_id, "drafts.json")
    storage.write_json(uri, judged)
    passed = [j["brief"]["brief_id"] for j in judged if not j["verdict"]["reasons"]]
    failed = [j["brief"]["brief_id"] for j in judged if j["verdict"]["reasons"]]
    log.info("%s: %d drafts pass the grounding gate, %d quarantined (%s)", day, len(passed), len(failed), q_uri)
    return {"drafts_uri": str(uri), "passed": passed, "quarantined": failed, "quarantine_uri": q_uri,
            "modes": sorted({d["mode"] for d in drafts}), "min_support": cfg.min_support,
            "review_md": review_markdown(day, judged)}


def review_markdown(day: date, judged: list[dict[str, Any]]) -> str:
    """What the reviewer reads in Required Actions: each passing draft with its citations and support."""
    ok = [j for j in judged if not j["verdict"]["reasons"]]
    lines = [f"**{len(ok)} draft(s) for {day.isoformat()}** passed the grounding gate "
             f"({len(judged) - len(ok)} quarantined). Approve publishes all of them to `curated/content/` "
             "and `generated_content`; Reject records your comment and publishes none.", ""]
    for j in ok:
        d, v = j["draft"], j["verdict"]
        lines += [f"### {d.get('title') or j['brief']['topic']}",
                  f"`{j['brief']['brief_id']}` · mode `{d['mode']}` · {v['words']} words · "
                  f"support min {v['min_support']:.2f} / mean {v['mean_support']:.2f}", ""]
        lines += [f"- {s['text']} _[{', '.join(c[:8] for c in s['citations'])}]_" for s in d["sentences"]]
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ publish
def _content_path(day: date, brief_id: str, suffix: str):  # noqa: ANN202 - ObjectStoragePath
    from include.platform import storage

    return storage.lake_path(CONTENT_ZONE, CONTENT_PREFIX, day.isoformat(), f"{brief_id}{suffix}")


def _withdraw(day: date, brief_id: str) -> None:
    """Remove a brief's published files for ``day`` (rejected now, or failing today's gate)."""
    for path in (_content_path(day, brief_id, ".md"), _content_path(day, brief_id, ".json")):
        if path.exists():
            path.unlink()


def render_markdown(entry: dict[str, Any]) -> str:
    """The published article: title, sentences with numbered citations, and the sources they point at."""
    d, hits = entry["draft"], {h["chunk_id"]: h for h in entry["hits"]}
    order: list[str] = []
    for s in d["sentences"]:
        order += [c for c in s["citations"] if c not in order]
    num = {c: i + 1 for i, c in enumerate(order)}
    body = " ".join(f"{s['text']} " + "".join(f"[{num[c]}]" for c in s["citations"]) for s in d["sentences"])
    refs = [f"{num[c]}. `{c}` — {hits[c]['source']}/{hits[c]['path']} › {hits[c]['heading']}" for c in order]
    return (f"# {d.get('title') or entry['brief']['topic']}\n\n{body.strip()}\n\n## Sources\n\n" + "\n".join(refs)
            + f"\n\n_Written in mode `{d['mode']}` ({d['model']}); every sentence passed the grounding gate._\n")


def _row(entry: dict[str, Any], day: date, status: str, decision: dict[str, Any], run_id: str) -> dict[str, Any]:
    b, d, v = entry["brief"], entry["draft"], entry["verdict"]
    hits = {h["chunk_id"]: h for h in entry["hits"]}
    sources = sorted({f"{hits[c]['source']}/{hits[c]['path']}" for c in v["cited_chunks"]})
    return {"brief_id": b["brief_id"], "content_date": day.isoformat(), "status": status, "mode": d["mode"],
            "model": d["model"], "title": d.get("title") or b["topic"], "topic": b["topic"],
            "audience": b["audience"], "tone": b["tone"], "length": b["length"], "body_md": render_markdown(entry),
            "sentences_json": json.dumps(d["sentences"], ensure_ascii=False),
            "citations": ",".join(v["cited_chunks"]), "sources": json.dumps(sources),
            "n_sentences": len(d["sentences"]), "words": int(v["words"]), "min_support": float(v["min_support"]),
            "mean_support": float(v["mean_support"]), "reviewer": decision["reviewer"],
            "review_comment": decision["comment"], "reviewed_at": decision["at"], "source_file": b["source_file"],
            "line": b["line"], "run_id": run_id, "generated_at": datetime.now(UTC).replace(tzinfo=None)}


def decision_of(response: dict[str, Any] | None, require_approval: bool) -> dict[str, Any]:
    """The reviewer's answer (the HITL task's XCom), or the batch-mode decision when approval was skipped."""
    if not response:
        return {"approved": True, "reviewer": "auto (require_approval=false)" if not require_approval else "auto",
                "comment": "", "at": None}
    user = response.get("responded_by_user") or {}
    at = response.get("responded_at")
    return {"approved": (response.get("chosen_options") or [None])[0] == APPROVE,
            "reviewer": str(user.get("name") or user.get("id") or "unknown"),
            "comment": str((response.get("params_input") or {}).get("comment") or ""),
            "at": str(at) if at is not None else None}


def publish(cfg: ContentConfig, day: date, run_id: str, gated: dict[str, Any],
            response: dict[str, Any] | None) -> dict[str, Any]:
    """Approved: files + ``published`` rows. Rejected: ``rejected`` rows (comment), no files. Quarantined
    drafts lose any earlier row and files for their key."""
    import pandas as pd

    from include.platform import storage, warehouse

    decision = decision_of(response, cfg.require_approval)
    judged = storage.read_json(storage.path_from_uri(gated["drafts_uri"], "curated"))
    ok = [j for j in judged if not j["verdict"]["reasons"]]
    status = "published" if decision["approved"] else "rejected"
    files = []
    for entry in ok:
        bid = entry["brief"]["brief_id"]
        md, js = _content_path(day, bid, ".md"), _content_path(day, bid, ".json")
        if decision["approved"]:
            storage.write_text(md, render_markdown(entry))
            storage.write_json(js, {"brief": entry["brief"], "draft": entry["draft"], "verdict": entry["verdict"],
                                    "sources": entry["hits"], "review": decision, "run_id": run_id})
            files.append(str(md))
        else:
            _withdraw(day, bid)
    frame = pd.DataFrame([_row(e, day, status, decision, run_id) for e in ok], columns=ROW_COLUMNS)
    frame["line"] = frame["line"].astype("Int64")
    frame["reviewed_at"] = frame["reviewed_at"].astype("string")
    written = warehouse.replace_rows(TABLE, frame, list(TABLE_KEY)) if len(frame) else 0
    dropped = [j["brief"]["brief_id"] for j in judged if j["verdict"]["reasons"]]
    for bid in dropped:
        _withdraw(day, bid)
    if dropped and warehouse.table_exists(TABLE):
        marks = ", ".join("?" for _ in dropped)
        warehouse.execute(f"DELETE FROM {TABLE} WHERE content_date = ? AND brief_id IN ({marks})",
                          [day.isoformat(), *dropped])
    out = {"status": status, "approved": decision["approved"], "reviewer": decision["reviewer"],
           "comment": decision["comment"], "rows": written, "published": len(files),
           "rejected": 0 if decision["approved"] else len(ok), "quarantined": len(dropped), "files": files,
           "modes": gated["modes"], "day": day.isoformat()}
    log.info("%s: %s — %d rows in %s, %d files, %d drafts quarantined", day, status, written, TABLE, len(files),
             len(dropped))
    return out


# ------------------------------------------------------------------------------------------------- report
def build_report(day: date, prepared: dict[str, Any], gated: dict[str, Any], published: dict[str, Any]
                 ) -> dict[str, Any]:
    """``reports/content_generation/<day>/report.md`` with the per-sentence grounding chart."""
    from include.content import report
    from include.platform import runs, storage

    judged = storage.read_json(storage.path_from_uri(gated["drafts_uri"], "curated"))
    folder = runs.day_path("reports", DAG_ID, day)
    chart = storage.write_bytes(folder / "grounding.png", report.render_chart(judged, gated["min_support"]))
    md = storage.write_text(folder / "report.md",
                            report.render_markdown(day, judged, prepared, gated, published, chart.name))
    return {"report_uri": str(md), "chart_uri": str(chart)}
