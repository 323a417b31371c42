"""PDF extraction with pypdf: paragraphs from vertical gaps, hyphenation undone, headings from the outline,
and every unreadable case refused with its fix (scan, password, broken file)."""

from __future__ import annotations

import pytest

from include.rag import extract
from tests.fixtures.pdf import make_pdf

HANDBOOK = [
    ["Returns", "", "Customers may return unworn shoes within 45 days of deliv-",
     "ery for a full refund to the original payment method.", "",
     "Sale items can be exchanged but not refunded."],
    ["Shipping", "", "Orders over 80 euros ship free within the EU.", "", "Express delivery takes two working days."],
]
OUTLINE = [("Policies", 0, None), ("Returns", 0, "Policies"), ("Shipping", 1, "Policies")]


def test_paragraphs_headings_and_title_come_out_of_a_real_pdf():
    doc = extract.extract("handbook/policies.pdf", make_pdf(HANDBOOK, OUTLINE, title="Store handbook"))
    assert doc.format == "pdf" and doc.title == "Store handbook"
    texts = [(b.headings, b.text) for b in doc.blocks]
    assert texts == [
        (("Policies", "Returns"), "Customers may return unworn shoes within 45 days of delivery for a full refund "
                                  "to the original payment method."),
        (("Policies", "Returns"), "Sale items can be exchanged but not refunded."),
        (("Policies", "Shipping"), "Orders over 80 euros ship free within the EU."),
        (("Policies", "Shipping"), "Express delivery takes two working days."),
    ]


def test_a_pdf_without_outline_or_title_uses_the_file_name_and_keeps_every_paragraph():
    doc = extract.extract("notes/faq.pdf", make_pdf(HANDBOOK))
    assert doc.title == "faq" and all(b.headings == () for b in doc.blocks)
    assert [b.text for b in doc.blocks][:2] == ["Returns", "Customers may return unworn shoes within 45 days of "
                                                "delivery for a full refund to the original payment method."]


@pytest.mark.parametrize(("data", "reason"), [
    (b"%PDF-1.7\n%binary\n", "not a readable PDF"),
    (make_pdf([[], []]), "no text layer"),
    (make_pdf(HANDBOOK, password="s3cret"), "password-protected"),  # pragma: allowlist secret
])
def test_unreadable_pdfs_are_refused_with_the_fix(data, reason):
    with pytest.raises(extract.UnreadableDocument, match=reason):
        extract.extract("handbook/x.pdf", data)


def test_an_unprotected_encrypted_pdf_is_read():  # owner password only: readers open it without asking
    doc = extract.extract("x.pdf", make_pdf(HANDBOOK, password=""))
    assert any("45 days" in b.text for b in doc.blocks)
