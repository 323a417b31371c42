"""Post-processing and the quality gate: each rule, its reason, and what is left alone."""

from __future__ import annotations

from include.textgen import postprocess, quality


def test_stop_sequence_cuts_at_the_earliest_and_whitespace_is_normalised():
    out = postprocess.clean("  it fits well.\n\nEND more  ###", ["###", "END"])
    assert out.text == "it fits well." and out.steps == ("stop_sequence",)
    assert postprocess.clean("no stop here", ["###"]).steps == ()


def test_repeated_sentences_are_dropped_keeping_the_first():
    out = postprocess.clean("it is so soft. It is  so soft! the color is nice. it is so soft.")
    assert out.text == "it is so soft. the color is nice." and out.steps == ("dedupe",)
    assert postprocess.clean("one. two. three.").text == "one. two. three."


RULES = quality.GateRules(min_chars=5, max_chars=40, max_repetition=0.3, max_perplexity=100.0,
                          banned_terms=("ass", "http://"))


def _reasons(text, ppl=10.0, rules=RULES):
    return quality.reasons(text, ppl, rules, quality.banned_pattern(rules.banned_terms))


def test_a_good_output_passes():
    assert _reasons("the fabric is soft and warm") == []


def test_each_rule_names_its_reason():
    assert _reasons("") == ["empty output after post-processing"]
    assert "shorter than min_chars 5" in _reasons("ok")[0]
    assert "longer than max_chars 40" in _reasons("a fine dress that fits " * 3)[0]
    assert "repetition" in _reasons("so so so so so so so")[0]
    assert _reasons("the fabric is soft", ppl=250.0) == ["perplexity 250.0 above max_perplexity 100.0"]
    assert _reasons("see http://x.example now") == ["banned terms: ['http://']"]


def test_banned_words_match_whole_words_only_and_ignore_case():
    assert _reasons("a class act") == []
    assert _reasons("what an ASS move") == ["banned terms: ['ass']"]


def test_no_reference_model_means_no_perplexity_rule():
    rules = quality.GateRules(5, 40, 0.3, None, ())
    assert quality.reasons("the fabric is soft", 1e6, rules) == []
