"""The PII screen: e-mail addresses, phone numbers and card-like numbers (Luhn-valid) in free text.

Text with personal data must not be trained on (a language model memorizes and regurgitates it), so a
document that holds any of them is quarantined with the kind it held — never "cleaned" by masking, which
would teach the model the mask. The patterns are deliberately conservative for the corpus' domain: sizes
and measurements ("5'8 135#", "34-28-36", "size 0-2") must not read as phone numbers.

* **e-mail**: ``local@domain.tld``.
* **phone**: North-American style ``(555) 123-4567`` / ``555-123-4567`` / ``555.123.4567`` with an optional
  ``+1``, or an international ``+<country> ...`` run of 8-15 digits; separators are required between groups
  (a bare 10-digit run is only a phone when it starts with ``+``).
* **card**: 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn checksum (so a
  random order number of that length is flagged only 1 time in 10).
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)"  # (555) 123-4567, 555-123-4567
    r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\d{2,4}){2,5}(?!\w)"  # +44 20 7946 0958
)
CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a digit string (what every payment card number satisfies)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_numbers(text: str) -> list[str]:
    """Card-like numbers in ``text``: 13-19 digits (spaces/dashes allowed) passing Luhn."""
    out = []
    for match in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            out.append(digits)
    return out


def has_phone(text: str) -> bool:
    for match in PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 10 <= len(digits) <= 15 and not card_numbers(match.group()):
            return True
    return False


def pii_kinds(text: str) -> list[str]:
    """Which kinds of personal data ``text`` holds: a subset of ``["email", "phone", "card"]``, in that order."""
    kinds = []
    if EMAIL.search(text):
        kinds.append("email")
    if has_phone(text):
        kinds.append("phone")
    if card_numbers(text):
        kinds.append("card")
    return kinds
