"""Blocks → chunks: structure-aware, with overlap, and ids that stay put.

Why our own packer rather than a text-splitter library: none is in the environment (LangChain's
splitters would pull the LangChain stack), and the rule is short: a chunk never crosses a heading
(sections are the unit a reader cites); whole paragraphs are packed while they fit ``chunk_size`` words; a
paragraph longer than that is split at sentence ends (at words when a sentence alone is too long); the
next chunk of the same section starts with the last ``overlap`` words of the previous one.

Each chunk's text for both indexes is prefixed with the document title and heading path ("Title >
Section > Sub"): a passage that says "it defaults to 30 s" is only findable with the words of its heading.

Ids: ``chunk_id = sha256(source, path, position)`` — stable across runs, so a re-ingest of an unchanged
document changes nothing and a changed document's chunks replace exactly its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from include.rag.extract import Block, Document

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    position: int
    heading: str
    text: str  # what is embedded and indexed: heading path + body
    body: str  # the passage alone (what a generator quotes)

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def chunk_id(source: str, path: str, position: int) -> str:
    """Stable id of a chunk: a hash of where it is, not of what it says."""
    return hashlib.sha256(f"{source}\x00{path}\x00{position}".encode()).hexdigest()[:32]


def _pieces(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` words, at sentence ends where possible."""
    if len(text.split()) <= limit:
        return [text]
    out: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        while len(words) > limit:  # one sentence longer than a chunk: cut at words
            if current:
                out.append(" ".join(current))
                current = []
            out.append(" ".join(words[:limit]))
            words = words[limit:]
        if current and len(current) + len(words) > limit:
            out.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        out.append(" ".join(current))
    return out


def _sections(blocks: list[Block]) -> list[tuple[tuple[str, ...], list[Block]]]:
    sections: list[tuple[tuple[str, ...], list[Block]]] = []
    for block in blocks:
        if sections and sections[-1][0] == block.headings:
            sections[-1][1].append(block)
        else:
            sections.append((block.headings, [block]))
    return sections


def chunk_document(doc: Document, source: str, path: str, *, chunk_size: int, overlap: int) -> list[Chunk]:
    """The document's chunks in reading order (positions 0, 1, ...)."""
    if overlap >= chunk_size:
        raise ValueError("overlap must be below chunk_size")
    bodies: list[tuple[str, str]] = []  # (heading path, body)
    for headings, blocks in _sections(doc.blocks):
        path_text = " > ".join(h for h in (doc.title, *headings) if h)
        # dedupe the title when the first heading is the title itself
        if headings and headings[0] == doc.title:
            path_text = " > ".join(h for h in headings if h)
        budget = chunk_size - overlap  # room for new words once the overlap is carried in
        current: list[str] = []
        carried = 0
        section_chunks: list[list[str]] = []
        for block in blocks:
            for piece in _pieces(block.text, budget):
                words = piece.split()
                if current and len(current) + len(words) > chunk_size:
                    section_chunks.append(current)
                    tail = current[-overlap:] if overlap else []
                    current, carried = list(tail), len(tail)
                current.extend(words)
        if current and len(current) > carried:
            section_chunks.append(current)
        bodies.extend((path_text, " ".join(words)) for words in section_chunks)
    chunks = []
    for position, (heading, body) in enumerate(bodies):
        text = f"{heading}\n{body}" if heading else body
        chunks.append(Chunk(chunk_id(source, path, position), position, heading, text, body))
    return chunks
