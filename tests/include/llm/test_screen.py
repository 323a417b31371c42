"""The PII screen: e-mails, phone numbers and Luhn-valid card numbers, and none in measurements."""

from __future__ import annotations

import pytest

from include.llm.screen import card_numbers, has_phone, luhn_ok, pii_kinds


@pytest.mark.parametrize(("text", "kinds"), [
    ("write to jane.doe+shop@example.co.uk about the hem", ["email"]),
    ("call me at 555-123-4567 about the return", ["phone"]),
    ("my number is (555) 123 4567", ["phone"]),
    ("reach me on +1 555.123.4567", ["phone"]),
    ("uk office +44 20 7946 0958", ["phone"]),
    ("paid with 4111 1111 1111 1111 and it was charged twice", ["card"]),
    ("card 5500-0000-0000-0004 on file", ["card"]),
    ("mail a@b.io or call 555-123-4567, card 4012888888881881", ["email", "phone", "card"]),
])
def test_personal_data_is_found(text, kinds):
    assert pii_kinds(text) == kinds


@pytest.mark.parametrize("text", [
    "i am 5'8 135# and the medium fit",
    "measurements 34-28-36, size 0-2 runs small",
    "order 4111 1111 1111 1112 arrived late",  # card-shaped but fails Luhn
    "ordered 2 in 12/2016, returned 1",
    "style #1234567 in petite",
    "rated 5/5, would buy again for $79.99",
])
def test_measurements_and_prices_are_not_personal_data(text):
    assert pii_kinds(text) == []


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112") and not luhn_ok("79927398710") and not luhn_ok("12a4")
    assert card_numbers("x 4111-1111-1111-1111 y") == ["4111111111111111"]
    assert not has_phone("4111 1111 1111 1111")  # a card number is not also a phone number


def test_the_shipped_corpus_holds_no_personal_data():
    from include.llm.corpus import shipped_texts

    texts = shipped_texts()
    assert len(texts) == 11192
    assert [t for t in texts if pii_kinds(t)] == []
