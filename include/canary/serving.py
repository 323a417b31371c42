"""How a canary model server loads a registry version and reads a request: one row of a table per model kind.

The canary serves whatever version a ``challenger_registered`` event names, so the server cannot
assume one model family. Each *serving kind* says how its artifact loads, what a request body holds
and what one warm-up input looks like:

===================  ==========================================  =====================================
kind                 artifact (as its producer registers it)     request body
===================  ==========================================  =====================================
``hashed_logreg``    ``config.json`` ``{"kind": "hashed_logreg"}``  ``{"text": str}`` / ``{"texts": [...]}``
                     + ``model.safetensors`` (the canary demo)
``churn_hgb``        ``model.json`` ``{"format": "genai-hgb-trees/1"}``  ``{"row": {feature: value}}`` /
                     + ``model.safetensors`` (adaptive_retraining)  ``{"rows": [...]}``
``hf_text``          ``config.json`` naming ``architectures``     ``{"text": str}`` / ``{"texts": [...]}``
                     (train_sentiment_model's transformer)
``textgen``          ``config.json`` naming a causal-LM head      ``{"text": prompt}`` /
                     (``GPT2LMHeadModel``...: llm_fine_tuning)    ``{"texts": [...]}``
===================  ==========================================  =====================================

Every predictor answers ``[{"label", "score"}, ...]``, one per input; ``label`` is what a labelled
replay request is compared with (as text, case-insensitive), so accuracy is measured the same way
for every kind — for ``textgen`` the label is the quality gate's ``pass``/``fail`` of the generated
text (:mod:`include.canary.textgen_serving`), so "accuracy" there is the gate's pass rate. A loader
takes the server's ``options`` (only ``textgen`` uses them: decoding, gate rules, the reference
model). Heavy imports (pandas, transformers) happen in the server process, only for the
kind it serves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.canary.httpbase import BadRequest

Predictor = Callable[[list[Any]], list[dict]]
Options = dict[str, Any] | None

#: One request's batch; more is a client bug, not a workload.
MAX_INPUTS = 1024


@dataclass(frozen=True)
class Loaded:
    """A loaded model: ``predict(inputs)``, ``parse(body) -> inputs`` and one warm-up input."""

    kind: str
    predict: Predictor
    parse: Callable[[dict], list[Any]]
    warmup: list[Any]


def parse_texts(body: dict) -> list[str]:
    """``{"text": str}`` or ``{"texts": [str, ...]}`` → the texts; :class:`BadRequest` otherwise."""
    if "texts" in body:
        texts = body["texts"]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise BadRequest("'texts' must be a non-empty list of strings")
        if len(texts) > MAX_INPUTS:
            raise BadRequest(f"'texts' holds {len(texts)} items; at most {MAX_INPUTS} per request")
        return texts
    if isinstance(body.get("text"), str):
        return [body["text"]]
    raise BadRequest("expected a JSON object with 'text' (a string) or 'texts' (a list of strings)")


def parse_rows(body: dict) -> list[dict]:
    """``{"row": {...}}`` or ``{"rows": [{...}, ...]}`` → feature rows; :class:`BadRequest` otherwise."""
    rows = body.get("rows", [body["row"]] if "row" in body else None)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and r for r in rows):
        raise BadRequest("expected a JSON object with 'row' (an object of features) or 'rows' (a list of them)")
    if len(rows) > MAX_INPUTS:
        raise BadRequest(f"'rows' holds {len(rows)} items; at most {MAX_INPUTS} per request")
    return rows


def _hashed_logreg(model_dir: Path, options: Options = None) -> Loaded:
    from include.canary import model

    return Loaded("hashed_logreg", model.load(model_dir).predict, parse_texts, ["warm-up"])


def _churn_hgb(model_dir: Path, options: Options = None) -> Loaded:
    import pandas as pd

    from include.retraining.churn_model import ChurnModel

    clf = ChurnModel.load(model_dir)
    columns = [*clf.spec.numeric, *clf.spec.categories]

    def predict(rows: list[dict]) -> list[dict]:
        frame = pd.DataFrame(rows)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise BadRequest(f"feature rows lack {missing}")
        try:
            proba = clf.predict_proba(frame)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"feature rows do not fit the model: {exc}") from None
        return [{"label": int(p >= 0.5), "score": round(float(p), 4)} for p in proba]

    warm = {c: 0.0 for c in clf.spec.numeric} | {c: (v[0] if v else "") for c, v in clf.spec.categories.items()}
    return Loaded("churn_hgb", predict, parse_rows, [warm])


def _hf_text(model_dir: Path, options: Options = None) -> Loaded:
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device=-1)

    def predict(texts: list[str]) -> list[dict]:
        return [{"label": r["label"], "score": round(float(r["score"]), 4)} for r in clf(texts, truncation=True)]

    return Loaded("hf_text", predict, parse_texts, ["warm-up"])


def _textgen(model_dir: Path, options: Options = None) -> Loaded:
    from include.canary import textgen_serving

    return textgen_serving.load(model_dir, options)


#: Serving kind → loader.
LOADERS: dict[str, Callable[[Path, Options], Loaded]] = {
    "hashed_logreg": _hashed_logreg,
    "churn_hgb": _churn_hgb,
    "hf_text": _hf_text,
    "textgen": _textgen,
}


def detect_kind(model_dir: str | Path) -> str:
    """The serving kind of a downloaded artifact, read from its own config file."""
    model_dir = Path(model_dir)
    if (model_dir / "model.json").exists():
        from include.retraining.churn_model import FORMAT

        if json.loads((model_dir / "model.json").read_text()).get("format") == FORMAT:
            return "churn_hgb"
    if (model_dir / "config.json").exists():
        config = json.loads((model_dir / "config.json").read_text())
        if config.get("kind") in LOADERS:
            return str(config["kind"])
        from include.canary.textgen_serving import is_causal_lm

        if is_causal_lm(config):
            return "textgen"
        if config.get("architectures"):
            return "hf_text"
    raise ValueError(f"{model_dir}: unknown model format (no churn model.json, no config.json with kind or "
                     f"architectures); serving kinds: {sorted(LOADERS)}")


def load(model_dir: str | Path, kind: str | None = None, options: Options = None) -> Loaded:
    """Load ``model_dir`` with the loader of ``kind`` (detected from the artifact when not given)."""
    kind = kind or detect_kind(model_dir)
    if kind not in LOADERS:
        raise ValueError(f"unknown serving kind {kind!r}; known: {sorted(LOADERS)}")
    return LOADERS[kind](Path(model_dir), options)


def is_correct(prediction: Any, label: str) -> bool:
    """Whether a prediction's label equals the request's label (as text, case-insensitive)."""
    return str(prediction).strip().lower() == str(label).strip().lower()
