"""The report: counts, distributions, examples and quarantine reasons from a judged frame; a real PNG."""

from __future__ import annotations

from datetime import date

import pandas as pd

from include.textgen import report

JUDGED = pd.DataFrame({
    "prompt": ["this dress is", "i love the", "the fabric"],
    "text": ["lovely and soft.", "see www.example.com", "so so so so so so"],
    "perplexity": [42.0, 80.5, 310.0],
    "n_new_tokens": [6, 7, 12],
    "reasons": ["", "banned terms: ['www.']", "repetition 0.75 above max_repetition 0.5"],
})
PUBLISHED = {"model_version": "textgen/3", "backend": "local", "reference_model": "textgen/3", "valid_prompts": 3,
             "published": 1, "quarantined_outputs": 2}
PREPARED = {"lines": 4, "quarantined": 1}


def test_markdown_has_counts_distributions_examples_and_reasons():
    md = report.render_markdown(date(2026, 12, 2), JUDGED, PREPARED, PUBLISHED, "distributions.png")
    assert "| published to `generated_text` | 1 |" in md and "| outputs quarantined (quality gate) | 2 |" in md
    assert "median 42.0" in md and "![distributions](distributions.png)" in md
    assert "- **this dress is** → 'lovely and soft.'" in md
    assert "banned terms" in md and "repetition" in md
    assert "not an independent judge" in md


def test_chart_is_a_png():
    png = report.render_chart(JUDGED, PUBLISHED)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
