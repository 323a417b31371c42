"""Documents → cleaned text blocks under their heading path (the structure the chunker keeps).

Parsers are the maintained libraries already in the environment: **markdown-it-py** (CommonMark + tables)
for Markdown, **BeautifulSoup on lxml** for HTML, **pypdf** for PDF (pure Python, BSD-3: no system
libraries, so the same code runs in the Astro image and on a laptop); plain text splits at blank lines.

PDF has no paragraphs or headings in its text layer, only positioned glyphs. pypdf's ``layout`` extraction
keeps vertical gaps as blank lines, which is where paragraphs split; words hyphenated across a line break are
re-joined; the document outline (bookmarks), when present, gives each page its heading path. A PDF with no
text layer (a scan) or one that needs a password is refused with the fix (OCR it; remove the password).

Whatever cannot be read — an unsupported suffix, binary bytes, text that is not UTF-8, a document with no
text left after cleaning — raises :class:`UnreadableDocument`; the ingest quarantines the file with that
reason and loses nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_FRONT_MATTER = re.compile(r"\A---\r?\n.*?\r?\n---\r?\n", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_HTML_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "svg", "form")
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_BLOCKS = ("p", "li", "pre", "blockquote", "dt", "dd", "tr", "figcaption", "caption")


class UnreadableDocument(ValueError):
    """A file the extractor cannot turn into text; ``reason`` goes to the quarantine record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Block:
    """One paragraph-like unit: its text and the headings above it (outermost first)."""

    headings: tuple[str, ...]
    text: str
    kind: str = "text"  # text | code | table


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    format: str = "text"


def clean(text: str) -> str:
    """NFKC, no control characters, whitespace collapsed: the form both indexes see."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(f"binary content (NUL bytes) in {name}: not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"not valid UTF-8 at byte {exc.start}: re-save {name} as UTF-8") from None


def extract(name: str, data: bytes) -> Document:
    """``name``'s suffix picks the parser; raises :class:`UnreadableDocument` with the reason."""
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if suffix in (".md", ".markdown"):
        doc = _markdown(_decode(data, name), stem)
    elif suffix in (".html", ".htm"):
        doc = _html(data, stem)
    elif suffix in (".txt", ".text"):
        doc = _plain(_decode(data, name), stem)
    elif suffix == ".pdf":
        doc = _pdf(data, stem, name)
    else:
        raise UnreadableDocument(f"unsupported file type {suffix or '(no suffix)'!r}: use Markdown, HTML or text")
    if not any(b.text for b in doc.blocks):
        raise UnreadableDocument("no text left after extraction (empty or markup only)")
    return doc


def _markdown(text: str, stem: str) -> Document:
    from markdown_it import MarkdownIt

    text = _FRONT_MATTER.sub("", text, count=1)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    doc = Document(title="", format="markdown")
    stack: list[tuple[int, str]] = []  # (level, heading)
    heading_level = 0
    row: list[str] | None = None
    for tok in tokens:
        if tok.type == "heading_open":
            heading_level = int(tok.tag[1])
        elif tok.type == "inline":
            content = clean(_inline_text(tok))
            if heading_level:
                stack = [(lvl, h) for lvl, h in stack if lvl < heading_level] + [(heading_level, content)]
                if heading_level == 1 and not doc.title:
                    doc.title = content
            elif row is not None:
                row.append(content)
            elif content:
                doc.blocks.append(Block(tuple(h for _, h in stack), content))
        elif tok.type == "heading_close":
            heading_level = 0
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            if row and any(row):
                doc.blocks.append(Block(tuple(h for _, h in stack), " | ".join(row), "table"))
            row = None
        elif tok.type in ("fence", "code_block"):
            code = clean(tok.content)
            if code:
                doc.blocks.append(Block(tuple(h for _, h in stack), code, "code"))
    doc.title = doc.title or stem
    return doc


def _inline_text(tok) -> str:  # noqa: ANN001 - markdown_it Token
    parts = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts) if tok.children is not None else tok.content


def _html(data: bytes, stem: str) -> Document:
    from bs4 import BeautifulSoup

    if b"\x00" in data[:8192]:
        raise UnreadableDocument("binary content (NUL bytes): not an HTML document")
    soup = BeautifulSoup(data, "lxml")  # lxml reads the declared charset; bs4 falls back to detection
    for tag in soup(list(_HTML_DROP)):
        tag.decompose()
    doc = Document(title=clean(soup.title.get_text(" ")) if soup.title else "", format="html")
    stack: list[tuple[int, str]] = []
    wanted = _HTML_HEADINGS + _HTML_BLOCKS
    for el in soup.find_all(wanted):
        if el.name in _HTML_HEADINGS:
            level, text = int(el.name[1]), clean(el.get_text(" "))
            stack = [(lvl, h) for lvl, h in stack if lvl < level] + [(level, text)]
            if level == 1 and not doc.title:
                doc.title = text
            continue
        if el.find_parent(_HTML_BLOCKS):  # nested (a <p> inside an <li>): its text is in the parent's
            continue
        if el.name == "tr":
            text = " | ".join(clean(c.get_text(" ")) for c in el.find_all(("td", "th")))
        else:
            text = clean(el.get_text(" "))
        if text:
            doc.blocks.append(Block(tuple(h for _, h in stack), text, "code" if el.name == "pre" else "text"))
    if not doc.blocks and soup.body is not None:  # text straight in <body>/<div>: keep it as paragraphs
        for para in soup.body.get_text("\n").split("\n\n"):
            if clean(para):
                doc.blocks.append(Block((), clean(para)))
    doc.title = doc.title or stem
    return doc


def _plain(text: str, stem: str) -> Document:
    paras = [clean(p) for p in re.split(r"\n\s*\n", text)]
    return Document(title=stem, blocks=[Block((), p) for p in paras if p], format="text")


_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
#: Pages beyond this are not read: a knowledge-base document, not a book scan (the rest is logged in the reason).
MAX_PDF_PAGES = 2000


def _pdf_outline(reader, outline=None, path=()) -> list[tuple[int, tuple[str, ...]]]:  # noqa: ANN001 - pypdf
    """``(page index, heading path)`` of every outline item, in document order (nested lists are children)."""
    items: list[tuple[int, tuple[str, ...]]] = []
    last: tuple[str, ...] = path
    for item in reader.outline if outline is None else outline:
        if isinstance(item, list):
            items += _pdf_outline(reader, item, last)
            continue
        try:
            page = reader.get_destination_page_number(item)
        except Exception:  # noqa: BLE001 - a bookmark to nowhere is skipped, not fatal
            continue
        last = (*path, clean(str(item.title or "")))
        if page is not None and page >= 0 and last[-1]:
            items.append((page, last))
    return items


def _pdf(data: bytes, stem: str, name: str) -> Document:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(f"{name} is password-protected: remove the password (or export it unprotected)")
        pages = list(reader.pages)[:MAX_PDF_PAGES]
        texts = [page.extract_text(extraction_mode="layout") or "" for page in pages]
        outline = _pdf_outline(reader)
        title = clean(str((reader.metadata or {}).get("/Title") or ""))
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise UnreadableDocument(f"not a readable PDF ({type(exc).__name__}: {exc}): re-export {name}") from None
    doc = Document(title=title or (outline[0][1][0] if outline else stem), format="pdf")
    marks = sorted(outline, key=lambda item: item[0])
    for index, text in enumerate(texts):
        headings = next((path for page, path in reversed(marks) if page <= index), ())
        for para in re.split(r"\n\s*\n", _HYPHEN_BREAK.sub(r"\1\2", text)):
            para = clean(para)
            if para and (not headings or para != headings[-1]):  # the bookmark's own title line is a heading
                doc.blocks.append(Block(headings, para))
    if not doc.blocks and pages:
        raise UnreadableDocument(f"no text layer in {name} ({len(pages)} page(s): a scan?): OCR it first, e.g. "
                                 "ocrmypdf, then ingest the result")
    return doc
