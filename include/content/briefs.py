"""The day's briefs: ``raw/briefs/<YYYY-MM-DD>/*.jsonl`` and the form's brief, validated line by line.

A brief file holds one JSON object per line::

    {"brief_id": "kb-escalation", "topic": "what to do when the nightly ingest fails",
     "audience": "on-call engineers", "tone": "plain and direct", "length": "short"}

``brief_id`` (1-64 characters of ``A-Z a-z 0-9 _ . -``, starting alphanumeric: it names the published file
``curated/content/<date>/<brief_id>.md``) and ``topic`` (3-500 characters) are required; ``audience``,
``tone`` (strings up to 200 characters) and ``length`` (short, medium, long) are optional. Lines are split
and decoded by :mod:`include.platform.lines`; every rejected line becomes a quarantine row with its file,
line and reason. A ``brief_id`` seen earlier the same day is rejected naming where the first one is.

:func:`seed_briefs` writes the demo briefs (topics the demo knowledge base answers) for ``seed_demo_data``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from include.content import BRIEFS_PREFIX, BRIEFS_ZONE
from include.content.config import LENGTHS
from include.platform import lines as lines_mod

BRIEF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FORM_SOURCE = "trigger-form"
#: Sentences a draft of each length aims at (extractive: exactly; LLM: asked for).
SENTENCES = {"short": 3, "medium": 5, "long": 8}
MIN_TOPIC, MAX_TOPIC, MAX_FIELD = 3, 500, 200
DEFAULT_AUDIENCE, DEFAULT_TONE = "general readers", "plain and direct"


@dataclass(frozen=True)
class Brief:
    brief_id: str
    topic: str
    audience: str
    tone: str
    length: str
    source_file: str
    line: int | None

    @property
    def query(self) -> str:
        """What retrieval searches for: the topic (audience and tone steer writing, not matching)."""
        return self.topic

    @property
    def sentences(self) -> int:
        return SENTENCES[self.length]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BriefsRead:
    valid: list[Brief] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    blank: int = 0


def form_brief_id(topic: str, audience: str, tone: str, length: str) -> str:
    """The id of a trigger-form brief: the same brief always gets the same id (reruns upsert)."""
    key = json.dumps([topic.strip(), audience.strip(), tone.strip(), length])
    return "form-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def check_record(value: Any) -> dict[str, str] | str:
    """The brief's fields of a valid record, else the reason it is not one."""
    if not isinstance(value, dict):
        return f"not a JSON object ({type(value).__name__})"
    bid = value.get("brief_id")
    if bid is None:
        return "missing brief_id"
    if not isinstance(bid, str) or not BRIEF_ID.fullmatch(bid):
        return "brief_id must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit"
    topic = value.get("topic")
    if not isinstance(topic, str):
        return "missing topic" if topic is None else "topic is not a string"
    topic = " ".join(topic.split())
    if not MIN_TOPIC <= len(topic) <= MAX_TOPIC:
        return f"topic of {len(topic)} characters is outside {MIN_TOPIC}-{MAX_TOPIC}"
    out = {"brief_id": bid, "topic": topic}
    for name, default in (("audience", DEFAULT_AUDIENCE), ("tone", DEFAULT_TONE)):
        got = value.get(name, default)
        if not isinstance(got, str) or len(got) > MAX_FIELD:
            return f"{name} must be a string of at most {MAX_FIELD} characters"
        out[name] = " ".join(got.split()) or default
    length = value.get("length", "medium")
    if length not in LENGTHS:
        return f"length {length!r} is not one of {list(LENGTHS)}"
    out["length"] = length
    return out


def read_briefs(files: list[tuple[str, bytes]], form: dict[str, str] | None) -> BriefsRead:
    """Validate the day's files (in name order) and the form's brief; duplicates of an id are rejected."""
    out = BriefsRead()
    seen: dict[str, str] = {}

    def accept(fields: dict[str, str], source: str, line: int | None) -> str | None:
        where = f"{source}:{line}" if line is not None else source
        if fields["brief_id"] in seen:
            return f"duplicate brief_id {fields['brief_id']!r} (first at {seen[fields['brief_id']]})"
        seen[fields["brief_id"]] = where
        out.valid.append(Brief(source_file=source, line=line, **fields))
        return None

    for name, data in sorted(files):
        read = lines_mod.read_json_lines(data, name, text_fields=("topic", "audience", "tone"))
        out.lines += len(read.records) + len(read.quarantined)
        out.blank += read.blank
        out.quarantined += [q.as_row() | {"line": q.line_no} for q in read.quarantined]
        for rec in read.records:
            checked = check_record(rec.value)
            reason = checked if isinstance(checked, str) else accept(checked, name, rec.line_no)
            if reason:
                out.quarantined.append({"source_file": name, "line": rec.line_no, "reason": reason,
                                        "raw": rec.text[:lines_mod.RAW_PREVIEW_CHARS]})
    if form and form.get("topic", "").strip():
        out.lines += 1
        fields = {k: form[k] for k in ("topic", "audience", "tone", "length")}
        fields["brief_id"] = form_brief_id(**fields)
        checked = check_record(fields)
        reason = checked if isinstance(checked, str) else accept(checked, FORM_SOURCE, None)
        if reason:
            out.quarantined.append({"source_file": FORM_SOURCE, "line": None, "reason": reason,
                                    "raw": json.dumps(fields, ensure_ascii=False)})
    for row in out.quarantined:
        row.pop("line_no", None)
    return out


#: Demo briefs: each topic is answered by the demo knowledge base (planted handbook + Pydantic AI guide).
DEMO_BRIEFS: tuple[dict[str, str], ...] = (
    {"brief_id": "kb-ingest-failures", "topic": "what to do when the nightly knowledge base ingest keeps failing "
     "and how escalation works", "audience": "on-call engineers", "tone": "plain and direct", "length": "short"},
    {"brief_id": "kb-backups", "topic": "how the vector store is backed up and when restore drills happen",
     "audience": "platform engineers", "tone": "plain and direct", "length": "short"},
    {"brief_id": "retention-policy", "topic": "how long quarantined files and failed drafts are retained and how "
     "data removal requests are handled", "audience": "compliance reviewers", "tone": "formal", "length": "medium"},
    {"brief_id": "testing-agents", "topic": "testing a Pydantic AI agent without calling a real LLM",
     "audience": "Python developers", "tone": "practical", "length": "medium"},
)


def seed_briefs(day: date) -> list[str]:
    """Write the demo briefs to ``raw/briefs/<day>/demo-briefs.jsonl``; never over an existing file."""
    from include.platform import storage

    dest = storage.lake_path(BRIEFS_ZONE, BRIEFS_PREFIX, day.isoformat(), "demo-briefs.jsonl")
    text = "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in DEMO_BRIEFS)
    return [str(dest)] if storage.create_exclusive(dest, text.encode()) else []
