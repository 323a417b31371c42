"""The labelled requests a canary replays: the traffic the model really gets, with the answer attached.

A recorded request is one JSON line: the request body plus, where the truth is known, ``label``
(the load generator sends it in a header, the router grades the answer; see router.py). Which
traffic depends on the model's serving kind (:mod:`include.canary.serving`):

* **text models** (``hashed_logreg``, ``hf_text``): the day's customer-feedback export, read with the
  platform's line reader (the same as the sentiment pipeline: a bad byte or a 100,000-deep line
  costs one line, never the replay set), else the demo generator. The label is the customer's own
  star rating mapped to a sentiment (1-2 negative, 3 neutral, 4-5 positive); a line without a rating
  is replayed unlabelled (latency and errors still count).
* **churn** (``churn_hgb``): the challenger's hold-out rows — the labelled rows of the batch it was
  trained beside but never on (the registry metadata names the batch day, ``run_date``, and the
  share, ``holdout_share``; :data:`DEFAULT_HOLDOUT_SHARE` when a version predates that field). Each
  line is ``{"row": {feature: value}, "label": churned}``.
* **text generators** (``textgen``): the day's prompts, ``raw/prompts/<day>/*.jsonl`` (what
  ``text_generation`` serves; ``seed_demo_data`` writes them), read and validated by text_generation's
  own reader (:func:`include.textgen.prompts.read_prompts`: invalid lines are skipped, counted and
  logged), else the fixed evaluation prompts of ``llm_fine_tuning``
  (:attr:`include.llm.config.FineTuneConfig.PROMPTS`). Every line is ``{"text": prompt, "label": "pass"}``:
  the answer "right" is an output the quality gate passes (:mod:`include.canary.textgen_serving`).
"""

from __future__ import annotations

import json
import logging
import math
from datetime import date
from typing import Any

from include.platform import storage

log = logging.getLogger(__name__)

#: adaptive_retraining's hold-out share when a churn version's metadata does not record one.
DEFAULT_HOLDOUT_SHARE = 0.3
#: Star rating → the sentiment label a text model is graded against.
LABEL_BY_RATING = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}


def _encodable(text: str) -> bool:
    """False for a lone surrogate (``"\\ud800"`` is valid JSON, but no server can tokenize it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _labelled(record: Any) -> dict[str, Any] | None:
    """``{"text", "label"?}`` for a record with a usable text, else None (the sentiment pipeline's quarantine)."""
    text = record.get("text") if isinstance(record, dict) else None
    if not (isinstance(text, str) and text.strip() and _encodable(text)):
        return None
    rating = record.get("rating")
    label = LABEL_BY_RATING.get(rating) if isinstance(rating, int) and not isinstance(rating, bool) else None
    return {"text": text} | ({"label": label} if label else {})


def _export_requests(day: date) -> list[dict[str, Any]]:
    """The usable lines of the day's feedback export; skipped lines are logged and counted."""
    from include.platform.lines import read_json_lines

    out: list[dict[str, Any]] = []
    for path in storage.list_files(storage.lake_path("raw", "feedback", day.isoformat()), ".jsonl"):
        read = read_json_lines(storage.read_bytes(path), path.name, text_fields=("text",))
        for q in read.quarantined[:5]:
            log.info("skipping %s line %d (byte %d): %s", q.source, q.line_no, q.offset, q.reason)
        if read.quarantined:
            log.info("%s: %d lines skipped in all", path.name, len(read.quarantined))
        out.extend(r for r in (_labelled(line.value) for line in read.records) if r)
    return out


def _write(name: str, requests: list[dict[str, Any]], source: str) -> str:
    out = storage.lake_path("raw", "canary", name)
    storage.write_text(out, "\n".join(json.dumps(r) for r in requests) + "\n")
    labelled = sum(1 for r in requests if "label" in r)
    log.info("recorded %s requests (%s labelled) from the %s to %s", len(requests), labelled, source, out)
    return str(out)


def record_requests(day: date, n: int, seed: int = 0) -> str:
    """Text requests to replay (``raw/canary/requests-<day>.jsonl``): the feedback export, else the demo generator."""
    from include.demo.feedback import feedback_lines

    requests, source = _export_requests(day), "feedback export"
    if not requests:
        source = "demo generator"
        records = (json.loads(line) for line in feedback_lines(day, n, seed=seed, malformed_share=0.0))
        requests = [r for r in (_labelled(rec) for rec in records) if r]
    return _write(f"requests-{day.isoformat()}.jsonl", requests[:n], source)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def record_holdout(model: str, version: str, n: int) -> str:
    """Churn requests: the labelled hold-out rows of the batch ``model/version`` was trained beside."""
    from include.platform import registry
    from include.platform.errors import PermanentError
    from include.retraining import data
    from include.retraining.features import CATEGORICAL, NUMERIC, TARGET

    meta = registry.get_version(model, version).metadata
    if not meta.get("run_date"):
        raise PermanentError(f"{model}/{version} records no run_date: no labelled hold-out to replay",
                             "canary a version adaptive_retraining registered (its metadata names the batch)")
    share = float(meta.get("holdout_share") or DEFAULT_HOLDOUT_SHARE)
    batch = storage.read_parquet(data.batch_path(date.fromisoformat(meta["run_date"])))
    valid, _ = data.split_valid_rows(batch)
    holdout = valid[data.in_holdout(valid[data.ID_COLUMN], share)]
    rows = [{"row": {c: _jsonable(r[c]) for c in (*NUMERIC, *CATEGORICAL)}, "label": int(r[TARGET])}
            for r in holdout.head(n).to_dict("records")]
    if not rows:
        raise PermanentError(f"the hold-out of {model}/{version} (batch {meta['run_date']}, share {share}) is empty",
                             "canary a version trained on a batch with labelled rows")
    return _write(f"requests-{model}-v{version}.jsonl", rows, f"hold-out of batch {meta['run_date']} (share {share})")


#: The label a replayed prompt carries: the quality gate's verdict a good text generator earns.
QUALITY_PASS = "pass"


def record_prompts(day: date, n: int) -> str:
    """Text-generator requests (``raw/canary/prompts-<day>.jsonl``): the day's prompts, else the fixed eval prompts."""
    from include.llm.config import FineTuneConfig
    from include.textgen.config import GenerationConfig
    from include.textgen.prompts import PREFIX, ZONE, read_prompts

    gen = GenerationConfig()
    files = storage.read_files(storage.lake_path(ZONE, PREFIX, day.isoformat()), ".jsonl")
    read = read_prompts(files, "", gen.min_prompt_chars, gen.max_prompt_chars)
    for q in read.quarantined[:5]:
        log.info("skipping prompt %s", q)
    prompts, source = [p.prompt for p in read.valid], f"prompts of {day} ({len(files)} files)"
    if not prompts:
        prompts, source = list(FineTuneConfig.PROMPTS), "fixed evaluation prompts of llm_fine_tuning"
    requests = [{"text": p, "label": QUALITY_PASS} for p in prompts if _encodable(p)]
    return _write(f"prompts-{day.isoformat()}.jsonl", requests[:n], source)


def record_for(kind: str, model: str, version: str, day: date, n: int) -> str:
    """The replay file for a model of serving ``kind``."""
    if kind == "churn_hgb":
        return record_holdout(model, version, n)
    if kind == "textgen":
        return record_prompts(day, n)
    return record_requests(day, n)
