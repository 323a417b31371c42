"""The day's prompts: ``raw/prompts/<YYYY-MM-DD>/*.jsonl`` and the form's prompt, validated line by line.

A prompt file holds one JSON object per line::

    {"prompt_id": "rev-0001", "prompt": "I ordered this dress in a medium and", "product": "dress"}

``prompt_id`` (1-128 characters of ``A-Z a-z 0-9 _ . : -``) and ``prompt`` (a string whose stripped
length is within the configured bounds) are required; other fields are kept as metadata. Lines are split
and decoded by :mod:`include.platform.lines` (non-UTF-8 bytes, oversize lines, absurd nesting and broken
JSON cost that line alone); every rejected line becomes a quarantine row with its file, line and reason.
A ``prompt_id`` seen earlier the same day is rejected naming where the first one is: one id, one output.

:func:`seed_prompts` writes the project's demo prompts (review openings in the clothing-review domain the
champion is trained on) for ``seed_demo_data``; the DAG never seeds its own input.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from include.platform import lines as lines_mod

ZONE, PREFIX = "raw", "prompts"
PROMPT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
FORM_SOURCE = "trigger-form"


@dataclass(frozen=True)
class Prompt:
    prompt_id: str
    prompt: str
    source_file: str
    line: int | None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        return {"prompt_id": self.prompt_id, "prompt": self.prompt, "source_file": self.source_file,
                "line": self.line, "meta": json.dumps(self.meta, ensure_ascii=False, sort_keys=True)}


@dataclass
class PromptsRead:
    valid: list[Prompt] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    blank: int = 0


def form_prompt_id(text: str) -> str:
    """The id of a trigger-form prompt: the same text always gets the same id (reruns upsert)."""
    return "form-" + hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def check_record(value: Any, min_chars: int, max_chars: int) -> tuple[str, str, dict[str, Any]] | str:
    """``(prompt_id, prompt, meta)`` of a valid record, else the reason it is not one."""
    if not isinstance(value, dict):
        return f"not a JSON object (got {type(value).__name__})"
    pid = value.get("prompt_id")
    if pid is None:
        return "missing prompt_id"
    if not isinstance(pid, str) or not PROMPT_ID.fullmatch(pid):
        return "prompt_id must be 1-128 characters of letters, digits, '_', '.', ':', '-'"
    text = value.get("prompt")
    if text is None:
        return "missing prompt"
    if not isinstance(text, str):
        return f"prompt is not a string (got {type(text).__name__})"
    stripped = text.strip()
    if len(stripped) < min_chars:
        return f"prompt of {len(stripped)} characters is shorter than {min_chars}"
    if len(stripped) > max_chars:
        return f"prompt of {len(stripped)} characters is longer than {max_chars}"
    meta = {k: v for k, v in value.items() if k not in ("prompt_id", "prompt")}
    return pid, stripped, meta


def read_prompts(files: list[tuple[str, bytes]], form_prompt: str, min_chars: int, max_chars: int) -> PromptsRead:
    """Validate every line of ``files`` (name, bytes) and the form's prompt; first ``prompt_id`` wins."""
    out = PromptsRead()
    seen: dict[str, str] = {}

    def take(pid: str, text: str, meta: dict[str, Any], source: str, line: int | None, raw: str) -> None:
        if pid in seen:
            out.quarantined.append({"source_file": source, "line": line, "reason":
                                    f"duplicate prompt_id {pid!r} (first at {seen[pid]})", "raw": raw})
            return
        seen[pid] = f"{source}:{line}" if line else source
        out.valid.append(Prompt(pid, text, source, line, meta))

    for name, data in files:
        read = lines_mod.read_json_lines(data, name, text_fields=("prompt",), max_text_chars=max(max_chars * 4, 1000))
        out.lines += len(read.records) + len(read.quarantined)
        out.blank += read.blank
        out.quarantined += [{"source_file": q.source, "line": q.line_no, "reason": q.reason, "raw": q.raw}
                            for q in read.quarantined]
        for rec in read.records:
            checked = check_record(rec.value, min_chars, max_chars)
            if isinstance(checked, str):
                out.quarantined.append({"source_file": rec.source, "line": rec.line_no, "reason": checked,
                                        "raw": rec.text[: lines_mod.RAW_PREVIEW_CHARS]})
            else:
                take(*checked, rec.source, rec.line_no, rec.text[: lines_mod.RAW_PREVIEW_CHARS])
    if form_prompt.strip():
        out.lines += 1
        checked = check_record({"prompt_id": form_prompt_id(form_prompt), "prompt": form_prompt},
                               min_chars, max_chars)
        if isinstance(checked, str):
            out.quarantined.append({"source_file": FORM_SOURCE, "line": None, "reason": checked,
                                    "raw": form_prompt[: lines_mod.RAW_PREVIEW_CHARS]})
        else:
            take(*checked, FORM_SOURCE, None, form_prompt[: lines_mod.RAW_PREVIEW_CHARS])
    out.quarantined.sort(key=lambda q: (q["source_file"], q["line"] or 0))
    return out


# ------------------------------------------------------------------------------------------------- seeding
#: Openings of product reviews in the champion's domain (women's clothing, written for this project):
#: what a merchandising team would ask the model to continue for review-form suggestions.
DEMO_PROMPTS: tuple[tuple[str, str], ...] = (
    ("dress", "I ordered this dress in a medium and"),
    ("dress", "This dress is beautiful but"),
    ("dress", "I wore this to a wedding and"),
    ("dress", "The color of this dress is"),
    ("dress", "I was hesitant to order this dress because"),
    ("top", "This top runs a little"),
    ("top", "I love the fabric of this top,"),
    ("top", "The sleeves on this blouse are"),
    ("top", "I bought this shirt in two colors and"),
    ("top", "This tee is soft and"),
    ("sweater", "This sweater is so cozy"),
    ("sweater", "I was disappointed with this sweater because"),
    ("sweater", "The knit is thicker than"),
    ("sweater", "After one wash the sweater"),
    ("jeans", "These jeans fit true to size and"),
    ("jeans", "I usually wear a 28 and these"),
    ("jeans", "The rise on these pants is"),
    ("jeans", "I returned these pants because"),
    ("skirt", "This skirt is perfect for"),
    ("skirt", "The lining of this skirt"),
    ("jacket", "I get compliments every time I wear this jacket"),
    ("jacket", "The jacket is well made but"),
    ("fit", "I am 5'4\" and 130 lbs and the small"),
    ("fit", "The fit is perfect"),
    ("fit", "It runs large, so"),
    ("quality", "The quality is not what I expected"),
    ("quality", "For the price, the material"),
    ("quality", "The stitching came undone after"),
    ("service", "The package arrived quickly and"),
    ("service", "I had to exchange the size and"),
    ("general", "I love this"),
    ("general", "I really wanted to like this, but"),
    ("general", "Great for summer,"),
    ("general", "I would recommend this to anyone who"),
    ("general", "My daughter tried it on and"),
    ("general", "This is my new favorite"),
)


def prompt_lines(day: date) -> list[str]:
    """The demo prompt file of ``day`` as JSONL lines (deterministic)."""
    # Lower-cased like the shipped corpus the offline champion learned from (it has seen no capitals).
    return [json.dumps({"prompt_id": f"demo-{day.isoformat()}-{i:03d}", "prompt": text.lower(), "product": product,
                        "source": "seed_demo_data"}, ensure_ascii=False)
            for i, (product, text) in enumerate(DEMO_PROMPTS)]


def seed_prompts(day: date) -> list[str]:
    """``raw/prompts/<day>/review-openings.jsonl``, never over an existing object; the paths written."""
    from include.demo.writers import write_new
    from include.platform import storage

    path = storage.lake_path(ZONE, PREFIX, day.isoformat(), "review-openings.jsonl")
    written = write_new(path, lambda: ("\n".join(prompt_lines(day)) + "\n").encode("utf-8"))
    return [str(path)] if written else []
