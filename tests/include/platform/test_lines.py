"""The line reader: each bad line costs itself only, with file, line, byte offset and reason."""

from __future__ import annotations

import json

import pytest

from include.platform import lines
from include.platform.lines import Quarantined, read_json_lines, read_lines

REC = {"id": "a", "text": "fine"}


def _jl(obj) -> bytes:
    return json.dumps(obj).encode()


def _offsets(data: bytes) -> list[int]:
    """Byte offset of every line start, the way a reader of the file would count them."""
    return [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]


def test_non_utf8_byte_quarantines_only_its_line_with_offset():
    data = b"\n".join([_jl(REC), b'{"id": "b", "text": "caf\xe9"}', _jl(REC | {"id": "c"})])
    read = read_json_lines(data, "day.jsonl")
    assert [r.value["id"] for r in read.records] == ["a", "c"]
    assert [r.line_no for r in read.records] == [1, 3]
    (bad,) = read.quarantined
    start = _offsets(data)[1]
    assert (bad.source, bad.line_no, bad.offset) == ("day.jsonl", 2, start)
    assert bad.reason.startswith("not valid UTF-8: byte 0xe9 at file offset")
    bad_byte = start + data[start:].index(b"\xe9")
    assert f"file offset {bad_byte} (column {bad_byte - start + 1})" in bad.reason
    assert "caf\\xe9" in bad.raw  # the evidence shows the byte instead of hiding it


def test_hundred_thousand_brackets_is_nesting_too_deep_not_recursion_error():
    data = _jl(REC) + b"\n" + b"[" * 100_000 + b"\n" + _jl(REC | {"id": "z"})
    read = read_json_lines(data, "f.jsonl")
    assert [r.line_no for r in read.records] == [1, 3]
    (bad,) = read.quarantined
    assert bad.line_no == 2 and bad.reason.startswith("nesting too deep")
    assert len(bad.raw) == lines.RAW_PREVIEW_CHARS


def test_depth_counts_brackets_outside_strings_only():
    assert not lines.json_too_deep(json.dumps({"text": "[" * 500}), max_depth=3)
    assert not lines.json_too_deep('{"a": "\\" [[[[[[[["}', max_depth=3)  # escaped quote stays in the string
    assert lines.json_too_deep("[[[[1]]]]", max_depth=3)
    assert not lines.json_too_deep("[[[1]]]", max_depth=3)


def test_u2028_inside_a_string_stays_in_the_record_and_numbers_hold():
    texts = ["one\u2028two", "three\u2029four", "five\x85six"]
    data = "\n".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(texts)).encode()
    assert len(data.decode().splitlines()) == 6  # what the old reader saw: six fragments
    read = read_json_lines(data, "f.jsonl")
    assert not read.quarantined
    assert [(r.line_no, r.value["text"]) for r in read.records] == [(1, texts[0]), (2, texts[1]), (3, texts[2])]


def test_oversize_line_and_oversize_text():
    big_text = _jl({"id": "t", "text": "x" * 30})
    huge_line = b'{"id": "h", "text": "' + b"y" * 500 + b'"}'
    data = b"\n".join([big_text, huge_line, _jl(REC)])
    read = read_json_lines(data, "f.jsonl", max_line_bytes=200, text_fields=("text",), max_text_chars=20)
    reasons = {q.line_no: q.reason for q in read.quarantined}
    assert reasons[1] == "text: 30 characters exceed the limit of 20"
    assert reasons[2] == f"line of {len(huge_line)} bytes exceeds the limit of 200 bytes"
    assert [r.line_no for r in read.records] == [3]


def test_defaults_are_the_documented_constants():
    assert lines.DEFAULT_MAX_LINE_BYTES == 256 * 1024
    assert lines.DEFAULT_MAX_TEXT_CHARS == 20_000
    line = _jl({"id": "t", "text": "x" * (lines.DEFAULT_MAX_TEXT_CHARS + 1)})
    (bad,) = read_json_lines(line, "f", text_fields=("text",)).quarantined
    assert "exceed the limit of 20000" in bad.reason


def test_crlf_blank_lines_and_bom():
    data = b"\xef\xbb\xbf" + _jl(REC) + b"\r\n\r\n   \r\n" + _jl(REC | {"id": "b"}) + b"\r\n"
    read = read_json_lines(data, "win.jsonl")
    assert not read.quarantined
    assert read.blank == 2
    assert [(r.line_no, r.value["id"]) for r in read.records] == [(1, "a"), (4, "b")]
    assert read.records[1].offset == data.index(b'{"id": "b"')
    assert not read.records[0].text.endswith("\r")


def test_line_numbers_and_offsets_stay_right_after_bad_lines():
    rows = [_jl(REC | {"id": "0"}), b"\xff\xfe", b"[" * 5000, b"", b"{broken", "\u2028".encode(),
            _jl(REC | {"id": "6"}), b"NaN", _jl(REC | {"id": "8"})]
    data = b"\n".join(rows)
    read = read_json_lines(data, "f.jsonl", max_depth=64)
    starts = _offsets(data)
    assert [(r.line_no, r.value["id"]) for r in read.records] == [(1, "0"), (7, "6"), (9, "8")]
    assert all(r.offset == starts[r.line_no - 1] for r in read.records)
    assert [q.line_no for q in read.quarantined] == [2, 3, 5, 6, 8]
    assert all(q.offset == starts[q.line_no - 1] for q in read.quarantined)
    reasons = [q.reason for q in read.quarantined]
    assert reasons[0].startswith("not valid UTF-8") and reasons[1].startswith("nesting too deep")
    assert reasons[2].startswith("invalid JSON") and reasons[3].startswith("invalid JSON")  # U+2028 alone is not blank
    assert "NaN is not JSON" in reasons[4]
    assert read.blank == 1
    assert len(read.records) + len(read.quarantined) + read.blank == len(rows)


def test_plain_text_lines_and_quarantine_rows():
    read = read_lines(b"text,label\r\ngreat,positive\n\xc3(,bad\n", "labels.csv")
    assert [(t.line_no, t.text) for t in read.records] == [(1, "text,label"), (2, "great,positive")]
    (bad,) = read.quarantined
    assert isinstance(bad, Quarantined)
    assert bad.as_row() == {"source_file": "labels.csv", "line_no": 3, "byte_offset": 27,
                            "reason": bad.reason, "raw": "\\xc3(,bad"}


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n\r\n"])
def test_empty_and_blank_only_input(data):
    read = read_json_lines(data, "f")
    assert read.records == [] and read.quarantined == []
    assert read.blank == data.count(b"\n")
