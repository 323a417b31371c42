"""Brief validation: every bad line quarantined with file, line and reason; ids unique per day; form briefs stable."""

from __future__ import annotations

import json

from include.content.briefs import DEMO_BRIEFS, FORM_SOURCE, form_brief_id, read_briefs


def _file(*records) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode() + b"\n"


def test_valid_lines_are_kept_with_defaults_and_bad_lines_quarantined_with_line_and_reason():
    data = _file({"brief_id": "a", "topic": "  backups   and restores  "},
                 '{"brief_id": "b", "topic": ',
                 {"brief_id": "c"},
                 {"brief_id": "d", "topic": "escalation", "length": "epic"},
                 {"brief_id": "../etc", "topic": "escape the lake"},
                 {"brief_id": "a", "topic": "again"},
                 "",
                 {"brief_id": "e", "topic": "retention", "audience": 7},
                 {"brief_id": "f", "topic": "ok", "length": "short"},
                 [1, 2])
    read = read_briefs([("day.jsonl", data)], None)
    assert [b.brief_id for b in read.valid] == ["a"]
    a = read.valid[0]
    assert (a.topic, a.audience, a.tone, a.length, a.source_file, a.line) == (
        "backups and restores", "general readers", "plain and direct", "medium", "day.jsonl", 1)
    reasons = {q["line"]: q["reason"] for q in read.quarantined}
    assert all(q["source_file"] == "day.jsonl" for q in read.quarantined)
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "missing topic"
    assert reasons[4] == "length 'epic' is not one of ['short', 'medium', 'long']"
    assert reasons[5].startswith("brief_id must be")  # never a path: it names the published file
    assert reasons[6] == "duplicate brief_id 'a' (first at day.jsonl:1)"
    assert reasons[8].startswith("audience must be")
    assert reasons[9] == "topic of 2 characters is outside 3-500"
    assert reasons[10] == "not a JSON object (list)"
    assert read.blank == 1 and read.lines == 9


def test_form_brief_gets_a_stable_id_and_joins_the_files():
    form = {"topic": "how backups work", "audience": "ops", "tone": "formal", "length": "short"}
    one = read_briefs([("x.jsonl", _file(*DEMO_BRIEFS))], form)
    two = read_briefs([], form)
    assert len(one.valid) == len(DEMO_BRIEFS) + 1 and not one.quarantined
    assert one.valid[-1].brief_id == two.valid[0].brief_id == form_brief_id(**form)
    assert one.valid[-1].source_file == FORM_SOURCE and one.valid[-1].line is None
    assert form_brief_id(**(form | {"length": "long"})) != form_brief_id(**form)
    assert read_briefs([], form | {"topic": "  "}).valid == []
