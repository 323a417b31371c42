"""Line-oriented input (JSONL, CSV lines) read from bytes, one line at a time, never losing its place.

Why not ``data.decode().splitlines()`` and ``json.loads`` per line, as the pipelines used to:

* one non-UTF-8 byte anywhere failed the *whole* decode, naming neither file nor line;
* ``str.splitlines`` also splits on U+2028, U+2029, U+0085, \\x0b, \\x0c, \\x1c-\\x1e: a raw U+2028
  inside a JSON string (legal JSON) cut a valid record into two invalid fragments and shifted every
  later line number;
* ``json.loads`` on 100,000 ``[`` raises ``RecursionError`` (not a ``ValueError``), which nobody caught;
* nothing bounded a line's or a text's size.

Here the input is split on ``b"\\n"`` only (a trailing ``\\r`` is dropped, so CRLF files read the
same), each line is decoded on its own (UTF-8, strict), and every problem becomes a
:class:`Quarantined` row with the file, the 1-based line number, the byte offset of the line in the
file and a reason. Blank lines are counted, not quarantined. Line numbers count every ``\\n``, so
they stay right after bad or blank lines.

The limits are constants with keyword overrides (not Params): they protect the worker, so an
operator changes them in code review, not a trigger form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: A feedback line is ~300 bytes; 256 KiB leaves room for a 20k-character text escaped as \\uXXXX.
DEFAULT_MAX_LINE_BYTES = 256 * 1024
#: Characters one text field may hold; the models read 128-512 tokens, so this only stops abuse.
DEFAULT_MAX_TEXT_CHARS = 20_000
#: Nesting a record may have; our records are flat, 64 is generous and far below Python's recursion limit.
DEFAULT_MAX_JSON_DEPTH = 64
#: How much of a rejected line is kept as evidence (a 5 MB line is not evidence, it is a problem).
RAW_PREVIEW_CHARS = 10_000

_BOM = b"\xef\xbb\xbf"
# JSON strings (escapes included, unrolled loop: linear time) are blanked before counting brackets.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")

T = TypeVar("T")


@dataclass(frozen=True)
class Quarantined:
    """A line that could not become a record: where it is, why, and a bounded preview of it."""

    source: str
    line_no: int  # 1-based, counting every b"\n" of the file
    offset: int  # byte offset of the line's first byte in the file
    reason: str
    raw: str

    def as_row(self) -> dict[str, Any]:
        return {"source_file": self.source, "line_no": self.line_no, "byte_offset": self.offset,
                "reason": self.reason, "raw": self.raw}


@dataclass(frozen=True)
class TextLine:
    """One decoded, non-blank line (without its line terminator)."""

    source: str
    line_no: int
    offset: int
    text: str


@dataclass(frozen=True)
class JsonLine:
    """One line parsed as JSON: the decoded text and the value it holds."""

    source: str
    line_no: int
    offset: int
    text: str
    value: Any


@dataclass
class LinesRead(Generic[T]):
    """What one file (or several) held: records in file order, quarantined lines, blank lines."""

    records: list[T] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    blank: int = 0

    def extend(self, other: LinesRead[T]) -> LinesRead[T]:
        self.records += other.records
        self.quarantined += other.quarantined
        self.blank += other.blank
        return self


class NotUtf8(ValueError):
    """A whole document (a CSV whose quoted fields may span lines) that is not UTF-8, located."""

    def __init__(self, byte: int, byte_offset: int, line: int) -> None:
        self.byte, self.byte_offset, self.line = byte, byte_offset, line
        super().__init__(f"not UTF-8: byte 0x{byte:02x} at byte offset {byte_offset} (line {line})")


def decode_utf8(data: bytes) -> str:
    """Decode a whole document (a leading BOM dropped); a bad byte raises :class:`NotUtf8` saying where."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotUtf8(data[exc.start], exc.start, data.count(b"\n", 0, exc.start) + 1) from None


def _preview(data: bytes | memoryview) -> str:
    """Readable evidence of a line, whatever its bytes (invalid ones shown as ``\\xff``)."""
    return bytes(data[: RAW_PREVIEW_CHARS]).decode("utf-8", "backslashreplace")[:RAW_PREVIEW_CHARS]


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """``(line_no, start, stop)`` byte ranges of each line, split on b"\\n" only, \\r\\n tolerated."""
    n = len(data)
    start = len(_BOM) if data.startswith(_BOM) else 0  # Excel's UTF-8 BOM is not part of line 1
    line_no = 0
    while start < n:
        end = data.find(b"\n", start)
        stop = n if end < 0 else end
        line_no += 1
        yield line_no, start, stop - 1 if stop > start and data[stop - 1] == 0x0D else stop
        if end < 0:
            return
        start = end + 1


def read_lines(data: bytes, source: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> LinesRead[TextLine]:
    """Split ``data`` into decoded lines; oversize and non-UTF-8 lines are quarantined, blank ones counted."""
    out: LinesRead[TextLine] = LinesRead()
    view = memoryview(data)
    for line_no, start, stop in _segments(data):
        size = stop - start
        if size > max_line_bytes:
            out.quarantined.append(Quarantined(
                source, line_no, start, f"line of {size} bytes exceeds the limit of {max_line_bytes} bytes",
                _preview(view[start:stop])))
            continue
        chunk = data[start:stop]
        if not chunk.strip():  # ASCII whitespace only: U+2028 alone is *not* blank, it is invalid JSON
            out.blank += 1
            continue
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            out.quarantined.append(Quarantined(
                source, line_no, start,
                f"not valid UTF-8: byte 0x{chunk[exc.start]:02x} at file offset {start + exc.start} "
                f"(column {exc.start + 1}): {exc.reason}", _preview(chunk)))
            continue
        out.records.append(TextLine(source, line_no, start, text))
    return out


def json_too_deep(text: str, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``max_depth`` (checked before ``json.loads``).

    Brackets inside strings do not count; the scan is linear and stops at the first level too deep.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN/Infinity)")


def parse_json(line: TextLine, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH, text_fields: Sequence[str] = (),
               max_text_chars: int = DEFAULT_MAX_TEXT_CHARS) -> JsonLine | Quarantined:
    """One decoded line → its JSON value, or a quarantine row saying exactly why not."""
    def reject(reason: str) -> Quarantined:
        return Quarantined(line.source, line.line_no, line.offset, reason, line.text[:RAW_PREVIEW_CHARS])

    if json_too_deep(line.text, max_depth):
        return reject(f"nesting too deep (more than {max_depth} levels of arrays/objects)")
    try:
        value = json.loads(line.text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        return reject(f"invalid JSON: {exc.msg} at char {exc.pos}")
    except RecursionError:  # belt and braces: the depth check should have caught it
        return reject("nesting too deep (parser recursion limit)")
    except ValueError as exc:  # NaN/Infinity, integers beyond Python's digit limit
        return reject(f"invalid JSON: {exc}")
    if isinstance(value, dict):
        for name in text_fields:
            text = value.get(name)
            if isinstance(text, str) and len(text) > max_text_chars:
                return reject(f"{name}: {len(text)} characters exceed the limit of {max_text_chars}")
    return JsonLine(line.source, line.line_no, line.offset, line.text, value)


def read_json_lines(data: bytes, source: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                    max_depth: int = DEFAULT_MAX_JSON_DEPTH, text_fields: Sequence[str] = (),
                    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS) -> LinesRead[JsonLine]:
    """JSONL bytes → parsed lines + quarantined lines (file, line, byte offset, reason), in file order."""
    lines = read_lines(data, source, max_line_bytes=max_line_bytes)
    out: LinesRead[JsonLine] = LinesRead(blank=lines.blank, quarantined=list(lines.quarantined))
    for line in lines.records:
        parsed = parse_json(line, max_depth=max_depth, text_fields=text_fields, max_text_chars=max_text_chars)
        if isinstance(parsed, Quarantined):
            out.quarantined.append(parsed)
        else:
            out.records.append(parsed)
    out.quarantined.sort(key=lambda q: q.line_no)
    return out
