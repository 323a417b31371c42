"""The distilled student: which layers it keeps, that distillation moves it towards its teacher, and when it serves.

The shipped MiniLM with a random, decisive 3-label head is the teacher here: what is
tested is the mechanics (layer choice, loss, agreement), not quality; quality is the training DAG's, measured
on the real test set (tests/e2e/test_train_sentiment_model.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from include.sentiment import distill, inference
from include.sentiment.modeling import ModelSource


def test_student_keeps_evenly_spaced_layers_ending_with_the_top_one():
    assert distill.student_layers(6, 3) == [1, 3, 5]
    assert distill.student_layers(6, 2) == [2, 5]
    assert distill.student_layers(12, 4) == [2, 5, 8, 11]
    assert distill.student_layers(6, 6) == [0, 1, 2, 3, 4, 5]
    for bad in (0, 7):
        with pytest.raises(ValueError, match="layers"):
            distill.student_layers(6, bad)


@pytest.fixture(scope="module")
def teacher():
    """The shipped MiniLM (6 trained layers: dropping some changes its representation) with a random 3-label head
    scaled so its answers are decisive."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from include.sentiment.modeling import LOCAL_MINILM, resolve_source

    torch.manual_seed(0)
    path = resolve_source(LOCAL_MINILM).path
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3).eval()
    model.classifier.weight.data.normal_(0.0, 0.5)
    return model, AutoTokenizer.from_pretrained(path)


def test_make_student_copies_the_chosen_teacher_layers(teacher):
    import torch

    model, _ = teacher
    student = distill.make_student(model, 3)
    assert student.config.num_hidden_layers == 3 and student.config.genai_student_of_layers == [1, 3, 5]
    for mine, theirs in zip(student.bert.encoder.layer, [model.bert.encoder.layer[i] for i in (1, 3, 5)], strict=True):
        assert all(torch.equal(a, b) for a, b in zip(mine.state_dict().values(), theirs.state_dict().values(),
                                                     strict=True))
    assert len(model.bert.encoder.layer) == 6  # the teacher is untouched
    assert student.classifier.weight.data_ptr() != model.classifier.weight.data_ptr()  # a copy, not a view


def test_distillation_moves_the_student_towards_the_teacher(teacher):
    """KL(teacher || student) on the transfer texts falls clearly below the undistilled student's."""
    from include.sentiment import corpus

    model, tokenizer = teacher
    train = corpus.load_train_corpus(max_rows=64, seed=3)[["text", "label"]]
    texts = train["text"].tolist()

    def kl_to_teacher(student) -> float:
        t = distill.teacher_logits(model, tokenizer, texts, 48)
        s = distill.teacher_logits(student, tokenizer, texts, 48)
        p = np.exp(t - t.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        log_q = s - s.max(1, keepdims=True)
        log_q -= np.log(np.exp(log_q).sum(1, keepdims=True))
        return float((p * (np.log(p) - log_q)).sum(1).mean())

    before = kl_to_teacher(distill.make_student(model, 1))
    student = distill.distill(model, tokenizer, train, layers=1, epochs=10, batch_size=16, learning_rate=2e-3,
                              max_length=48, temperature=1.0, alpha=1.0, log_every=0)
    after = kl_to_teacher(student)
    assert after < before * 0.75, (before, after)  # measured: 0.093 -> 0.050
    assert student.config.num_hidden_layers == 1 and not student.training


def _version(tmp_path, with_student=True):
    folder = tmp_path / "v1"
    (folder / "student").mkdir(parents=True)
    if with_student:
        (folder / "student" / "config.json").write_text(json.dumps({"num_hidden_layers": 3}))
    return ModelSource(str(folder), "sentiment/1", "registry")


def test_serving_takes_the_student_only_when_it_kept_the_accuracy(tmp_path):
    source = _version(tmp_path)
    student = str(tmp_path / "v1" / "student")
    good = {"macro_f1": 0.640, "student_macro_f1": 0.633, "student_bf16_macro_f1": 0.632, "onnx_int8_macro_f1": 0.64}

    chosen, runtime, precision = inference.resolve_serving(source, good, "auto", "auto", "cpu", bf16=True)
    assert (chosen.path, runtime, precision) == (student, "transformers", "bf16")
    assert chosen.version == "sentiment/1"  # results still name the registered version
    # no native bf16: the student at fp32 (ONNX Runtime), judged by its fp32 score
    chosen, runtime, precision = inference.resolve_serving(source, good, "auto", "auto", "cpu", bf16=False)
    assert (chosen.path, runtime, precision) == (student, "onnxruntime", "fp32")
    # its dynamic int8 held too: that serves where bf16 is not native (judged against the full model's fp32)
    chosen, runtime, precision = inference.resolve_serving(source, good | {"student_int8_macro_f1": 0.631}, "auto",
                                                           "auto", "cpu", bf16=False)
    assert (chosen.path, runtime, precision) == (student, "transformers", "int8")
    chosen, runtime, precision = inference.resolve_serving(source, good | {"student_int8_macro_f1": 0.62}, "auto",
                                                           "auto", "cpu", bf16=False)
    assert (chosen.path, runtime, precision) == (student, "onnxruntime", "fp32")
    # an explicit ONNX int8 request: the student's ONNX int8 is not measured, so the full model serves it
    chosen, runtime, precision = inference.resolve_serving(source, good, "onnxruntime", "int8", "cpu", bf16=False)
    assert (chosen.path, runtime, precision) == (source.path, "onnxruntime", "int8")
    # the student lost more than 0.01: the full model serves, by the usual rule
    worse = good | {"student_macro_f1": 0.628, "student_bf16_macro_f1": 0.627}
    chosen, runtime, precision = inference.resolve_serving(source, worse, "auto", "auto", "cpu", bf16=False)
    assert (chosen.path, runtime, precision) == (source.path, "onnxruntime", "int8")
    # variant=student serves it anyway; variant=full never does
    assert inference.resolve_serving(source, worse, "auto", "auto", "cpu", "student", bf16=True)[0].path == student
    assert inference.resolve_serving(source, good, "auto", "auto", "cpu", "full", bf16=True)[0].path == source.path
    # an older version without a student, or unmeasured: the full model
    assert inference.resolve_serving(_version(tmp_path / "b", False), good, "auto", "auto", "cpu")[0].path != student
    assert inference.resolve_serving(source, {"macro_f1": 0.64}, "auto", "auto", "cpu", bf16=False)[0] == source
    with pytest.raises(ValueError, match="variant"):
        inference.resolve_serving(source, good, "auto", "auto", "cpu", "tiny")
