"""Prompt validation: every rejected line keeps its file, line and reason; ids are unique per day."""

from __future__ import annotations

import json
from datetime import date

from include.textgen import prompts


def _read(data: bytes, form: str = "", lo: int = 3, hi: int = 50):
    return prompts.read_prompts([("p.jsonl", data)], form, lo, hi)


def test_valid_lines_become_prompts_with_metadata():
    data = b'{"prompt_id": "a-1", "prompt": "  this dress is  ", "product": "dress"}\n'
    out = _read(data)
    (p,) = out.valid
    assert (p.prompt_id, p.prompt, p.source_file, p.line, p.meta) == ("a-1", "this dress is", "p.jsonl", 1,
                                                                      {"product": "dress"})
    assert out.quarantined == []


def test_each_bad_line_is_quarantined_with_line_and_reason():
    lines = [b'{"prompt_id": "ok", "prompt": "fine text"}', b"{broken", b"[1, 2]", b'{"prompt": "x y z"}',
             b'{"prompt_id": "a b", "prompt": "bad id"}', b'{"prompt_id": "n", "prompt": 3}',
             b'{"prompt_id": "s", "prompt": "ab"}', b'{"prompt_id": "l", "prompt": "' + b"x" * 60 + b'"}',
             b'{"prompt_id": "ok", "prompt": "again"}', b"", b"\xff\xfe not utf-8"]
    out = _read(b"\n".join(lines) + b"\n")
    reasons = {q["line"]: q["reason"] for q in out.quarantined}
    assert [p.prompt_id for p in out.valid] == ["ok"]
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "not a JSON object (got list)"
    assert reasons[4] == "missing prompt_id"
    assert reasons[5].startswith("prompt_id must be")
    assert reasons[6] == "prompt is not a string (got int)"
    assert "shorter than 3" in reasons[7] and "longer than 50" in reasons[8]
    assert reasons[9] == "duplicate prompt_id 'ok' (first at p.jsonl:1)"
    assert reasons[11].startswith("not valid UTF-8")
    assert all(q["source_file"] == "p.jsonl" for q in out.quarantined)
    assert out.blank == 1 and out.lines == 10


def test_form_prompt_has_a_stable_id_and_is_validated():
    out = _read(b"", form="  i love the color  ")
    (p,) = out.valid
    assert p.prompt_id == prompts.form_prompt_id("i love the color") and p.source_file == prompts.FORM_SOURCE
    assert p.line is None
    bad = _read(b"", form="x")
    assert bad.valid == [] and bad.quarantined[0]["source_file"] == prompts.FORM_SOURCE


def test_seeded_demo_prompts_are_valid_and_unique():
    rows = prompts.prompt_lines(date(2026, 12, 2))
    out = prompts.read_prompts([("seed.jsonl", ("\n".join(rows) + "\n").encode())], "", 3, 1000)
    assert len(out.valid) == len(prompts.DEMO_PROMPTS) >= 30 and out.quarantined == []
    assert all(p.prompt == p.prompt.lower() for p in out.valid)  # the champion's corpus is lower-cased
    assert json.loads(rows[0])["prompt_id"] == "demo-2026-12-02-000"
