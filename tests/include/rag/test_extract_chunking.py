"""Extraction (Markdown, HTML, text; refusals with reasons) and structure-aware chunking with stable ids."""

from __future__ import annotations

import pytest

from include.rag import chunking
from include.rag.extract import Block, Document, UnreadableDocument, extract

MD = b"""---
name: front-matter
---
# Guide

Intro paragraph with `code` and a [link](http://x).

## Install

Run the installer.

```python
print("hi")
```

| a | b |
|---|---|
| 1 | 2 |

### Deep

Deep text.
"""


def test_markdown_keeps_headings_code_tables_and_drops_front_matter():
    doc = extract("docs/guide.md", MD)
    assert doc.title == "Guide" and doc.format == "markdown"
    texts = [(b.headings, b.text, b.kind) for b in doc.blocks]
    assert (("Guide",), "Intro paragraph with code and a link.", "text") in texts
    assert (("Guide", "Install"), 'print("hi")', "code") in texts
    assert (("Guide", "Install"), "a | b", "table") in texts and (("Guide", "Install"), "1 | 2", "table") in texts
    assert (("Guide", "Install", "Deep"), "Deep text.", "text") in texts
    assert not any("front-matter" in b.text for b in doc.blocks)


def test_html_drops_script_nav_and_does_not_duplicate_nested_blocks():
    html = (b"<html><head><title>T</title><script>var x=1;</script></head><body><nav>Menu</nav>"
            b"<h1>Top</h1><p>One.</p><h2>Sub</h2><ul><li><p>Item text</p></li></ul>"
            b"<table><tr><th>k</th><td>v</td></tr></table></body></html>")
    doc = extract("a/page.html", html)
    assert doc.title == "T"
    assert [(b.headings, b.text) for b in doc.blocks] == [
        (("Top",), "One."), (("Top", "Sub"), "Item text"), (("Top", "Sub"), "k | v")]


def test_plain_text_paragraphs():
    doc = extract("notes.txt", "First para\nstill first.\n\n\nSecond\u00a0para.\n".encode())
    assert doc.title == "notes" and [b.text for b in doc.blocks] == ["First para still first.", "Second para."]


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("report.pdf", b"%PDF-1.7 ...", "not a readable PDF"),
    ("image.png", b"\x89PNG", "unsupported file type '.png'"),
    ("README", b"text", "unsupported file type '(no suffix)'"),
    ("bin.txt", b"abc\x00\x01def", "binary content"),
    ("latin.md", "caf\u00e9".encode("latin-1"), "not valid UTF-8 at byte 3"),
    ("empty.md", b"# \n\n   \n", "no text left"),
    ("markup.html", b"<html><body><script>x()</script></body></html>", "no text left"),
])
def test_unreadable_documents_raise_with_the_reason(name, data, reason):
    with pytest.raises(UnreadableDocument) as err:
        extract(name, data)
    assert reason in err.value.reason


def _doc(*sections: tuple[tuple[str, ...], list[str]]) -> Document:
    return Document(title="Doc", blocks=[Block(h, t) for h, texts in sections for t in texts])


def test_chunks_never_cross_a_heading_and_respect_the_size():
    para = " ".join(f"w{i}" for i in range(30))
    doc = _doc((("Doc", "A"), [para, para, para]), (("Doc", "B"), ["short b"]))
    chunks = chunking.chunk_document(doc, "src", "x.md", chunk_size=70, overlap=10)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert {c.heading for c in chunks} == {"Doc > A", "Doc > B"}
    assert all(len(c.body.split()) <= 70 for c in chunks)
    b_chunks = [c for c in chunks if c.heading == "Doc > B"]
    assert [c.body for c in b_chunks] == ["short b"] and b_chunks[0].text == "Doc > B\nshort b"
    a = [c.body.split() for c in chunks if c.heading == "Doc > A"]
    assert len(a) == 2 and a[1][:10] == a[0][-10:]  # the overlap carries the previous chunk's tail
    covered = " ".join(" ".join(words) for words in a)
    assert all(f"w{i}" in covered for i in range(30))


def test_long_paragraph_splits_at_sentences_and_long_sentences_at_words():
    sentences = " ".join(f"Sentence {i} has some words here." for i in range(40))
    one_long = " ".join(f"x{i}" for i in range(250))
    doc = _doc(((), [sentences]), (("S",), [one_long]))
    chunks = chunking.chunk_document(doc, "src", "y.txt", chunk_size=50, overlap=5)
    assert all(len(c.body.split()) <= 50 for c in chunks)
    first = [c for c in chunks if c.heading == "Doc"]
    assert first[0].body.endswith("here.")  # cut at a sentence end, not mid-sentence
    assert any(c.body.startswith("x0 ") for c in chunks)


def test_chunk_ids_are_stable_hashes_of_source_path_and_position():
    doc = _doc((("Doc",), ["alpha beta", "gamma"]))
    one = chunking.chunk_document(doc, "s", "p.md", chunk_size=100, overlap=10)
    two = chunking.chunk_document(doc, "s", "p.md", chunk_size=100, overlap=10)
    assert [c.chunk_id for c in one] == [c.chunk_id for c in two] == [chunking.chunk_id("s", "p.md", 0)]
    assert chunking.chunk_id("s", "p.md", 0) != chunking.chunk_id("s", "q.md", 0) != chunking.chunk_id("t", "p.md", 0)
    with pytest.raises(ValueError):
        chunking.chunk_document(doc, "s", "p.md", chunk_size=10, overlap=10)
