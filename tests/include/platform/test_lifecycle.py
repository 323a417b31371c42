"""The one model lifecycle: verdicts → aliases, statuses, details, one alert, the asset-event extra.

Everything runs against a real lake (the ``lake`` fixture) and a real SMTP server (``smtp_sink``):
the registry files and the e-mails received are what is asserted.
"""

from __future__ import annotations

from datetime import datetime

import pendulum
import pytest

from include.platform import lifecycle, registry
from include.platform.lifecycle import LifecycleError, Status, Verdict

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")
SHAPE = {"kind", "decision", "decided_by", "reasons", "metrics", "evidence", "from", "at"}


class _Dag:
    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id


def _context(dag_id: str = "adaptive_retraining") -> dict:
    """The keys of a task context that alerts read (DAG and day: what an alert is de-duplicated on)."""
    return {"dag": _Dag(dag_id), "logical_date": DAY}


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / "config.json").write_text('{"layers": 2}')
    return folder


def _register(model_dir, name: str = "churn", challenger: bool = False, **metrics) -> registry.ModelVersion:
    return lifecycle.register(name, model_dir, registered_by="tests.register", metrics=metrics or {"auc": 0.7},
                              challenger=challenger)


def _promote(name: str, version: str, kind: str = "model") -> lifecycle.Applied:
    return lifecycle.apply_verdict(name, version, Verdict("promote", "tests.gate", reasons=("better",),
                                                          metrics={"auc": 0.8}), kind=kind)


def test_register_records_status_and_the_detail_shape(lake, model_dir):
    plain = _register(model_dir)
    assert plain.status == Status.REGISTERED == "registered"
    assert set(plain.status_details) == SHAPE and plain.status_details["decision"] == "register"
    assert plain.metadata["registered_by"] == "tests.register" and plain.metadata["kind"] == "model"
    challenger = _register(model_dir, challenger=True)
    assert challenger.status == "challenger" and registry.aliases("churn") == {"challenger": challenger.version}
    # What is on disk is what was returned.
    assert registry.get_version("churn", challenger.version).status == "challenger"


def test_promote_moves_champion_to_previous_and_retires_it(lake, model_dir, smtp_sink):
    first = _register(model_dir)
    applied = _promote("churn", first.version)
    assert applied.status == "champion" and applied.aliases == {"champion": first.version}

    second = _register(model_dir, challenger=True)
    applied = lifecycle.apply_verdict("churn", second.version, Verdict(
        "promote", "adaptive_retraining.quality_gate", reasons=["log_loss improves by +0.02"],
        metrics={"log_loss": 0.41, "ci_low": 0.01, "not_a_number": "x", "nan": float("nan")},
        evidence={"comparison": {"n_bootstrap": 300}, "when": DAY}))
    assert registry.aliases("churn") == {"champion": second.version, "previous": first.version}
    assert applied.aliases == registry.aliases("churn")

    now = registry.get_version("churn", second.version)
    assert now.status == "champion"
    shape = now.status_details
    assert SHAPE <= set(shape) and shape["decided_by"] == "adaptive_retraining.quality_gate"
    assert shape["decision"] == "promote" and shape["from"] == "challenger"
    assert shape["reasons"] == ["log_loss improves by +0.02"]
    assert shape["metrics"] == {"log_loss": 0.41, "ci_low": 0.01}  # numbers only: JSON-safe events
    assert shape["evidence"] == {"comparison": {"n_bootstrap": 300}, "when": str(DAY)}
    assert datetime.fromisoformat(shape["at"]).tzinfo is not None
    assert shape["replaced"] == first.version

    old = registry.get_version("churn", first.version)
    assert old.status == "retired" and old.status_details["replaced_by"] == second.version
    assert old.status_details["reasons"] == [f"replaced as champion by churn/{second.version}"]

    assert applied.extra == {"model": "churn", "version": second.version, "kind": "model", "status": "champion",
                             "decision": "promote", "metrics": {"log_loss": 0.41, "ci_low": 0.01}}
    assert applied.alert is None and smtp_sink.messages == []  # a promotion is an asset event, not an alert

    # A retried task applies the same verdict again: nothing moves, the retired one stays retired.
    again = _promote("churn", second.version)
    assert again.aliases == {"champion": second.version, "previous": first.version}
    assert registry.get_version("churn", first.version).status == "retired"


def test_reject_records_reasons_clears_the_challenger_and_alerts_once(lake, model_dir, smtp_sink):
    champion = _register(model_dir)
    _promote("churn", champion.version)
    weak = _register(model_dir, challenger=True)
    verdict = Verdict("reject", "adaptive_retraining.quality_gate",
                      reasons=("roc_auc improvement -0.0400 is below the required 0.0050",
                               "the 95% interval [-0.06, -0.02] does not exclude 0"),
                      metrics={"roc_auc": 0.61, "champion_roc_auc": 0.65})
    applied = lifecycle.apply_verdict("churn", weak.version, verdict, context=_context(),
                                      note="Follow-up search round 2 requested.")
    assert applied.status == "rejected"
    assert registry.aliases("churn") == {"champion": champion.version}  # nothing serves a rejected version
    stored = registry.get_version("churn", weak.version)
    assert stored.status == "rejected" and stored.status_details["reasons"] == list(verdict.reasons)
    assert stored.status_details["champion"] == champion.version and stored.status_details["from"] == "challenger"

    assert applied.alert["delivered"] == ["log", "email"]
    (message,) = smtp_sink.messages
    assert f"churn v{weak.version} rejected: roc_auc improvement -0.0400" in message["Subject"]
    body = "".join(p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/html")
    assert "does not exclude 0" in body and f"Champion: v{champion.version}." in body
    assert "Follow-up search round 2 requested." in body and "adaptive_retraining.quality_gate" in body
    assert applied.alert["key"]["kind"] == f"model_rejected:churn/{weak.version}"

    # The task retried (or the DAG rerun the same day): same status, no second e-mail.
    again = lifecycle.apply_verdict("churn", weak.version, verdict, context=_context())
    assert again.status == "rejected" and len(smtp_sink.messages) == 1
    assert "already sent" in again.alert["skipped"]["email"]

    # A verdict is final: the rejected version can be neither promoted nor handed to a canary.
    for decision in ("promote", "hand_to_canary"):
        with pytest.raises(LifecycleError, match="a verdict is final") as refused:
            lifecycle.apply_verdict("churn", weak.version, Verdict(decision, "tests.gate"))
        assert "register a new version" in str(refused.value)
    assert registry.aliases("churn") == {"champion": champion.version}


def test_the_champion_cannot_be_rejected_only_rolled_back(lake, model_dir):
    champion = _register(model_dir)
    _promote("churn", champion.version)
    with pytest.raises(LifecycleError, match="is the champion: it cannot be rejected") as refused:
        lifecycle.apply_verdict("churn", champion.version, Verdict("reject", "tests.gate", reasons=("worse",)))
    assert "roll it back" in str(refused.value)
    with pytest.raises(LifecycleError, match="no previous version to roll back to"):
        lifecycle.apply_verdict("churn", champion.version, Verdict("rollback", "tests.ops", reasons=("bad",)))
    assert registry.get_version("churn", champion.version).status == "champion"


def test_hand_to_canary_leaves_the_champion_and_a_canary_rollback_withdraws_the_challenger(
        lake, model_dir, smtp_sink):
    champion = _register(model_dir)
    _promote("churn", champion.version)
    candidate = _register(model_dir)
    handed = lifecycle.apply_verdict("churn", candidate.version, Verdict(
        "hand_to_canary", "adaptive_retraining.quality_gate", reasons=("offline gate passed",)))
    assert handed.status == "challenger" and smtp_sink.messages == []
    assert registry.aliases("churn") == {"champion": champion.version, "challenger": candidate.version}
    assert handed.extra["status"] == "challenger" and handed.extra["decision"] == "hand_to_canary"

    rolled = lifecycle.apply_verdict("churn", candidate.version, Verdict(
        "rollback", "canary_deploy.rollout", reasons=("error_rate: 0.2 vs 0.05",), metrics={"error_rate": 0.2},
        evidence={"failed_step": 1}), context=_context("canary_deploy"))
    assert rolled.status == "rolled_back"
    assert registry.aliases("churn") == {"champion": champion.version}
    stored = registry.get_version("churn", candidate.version)
    assert stored.status == "rolled_back" and stored.status_details["evidence"] == {"failed_step": 1}
    (message,) = smtp_sink.messages
    assert f"churn v{candidate.version} rolled back: error_rate: 0.2 vs 0.05" in message["Subject"]
    assert rolled.alert["key"] == {"dag_id": "canary_deploy", "day": "2026-11-22",
                                   "kind": f"model_rolled_back:churn/{candidate.version}"}


def test_rolling_back_a_champion_restores_the_previous_one(lake, model_dir, smtp_sink):
    first, second = _register(model_dir), _register(model_dir)
    _promote("churn", first.version)
    _promote("churn", second.version)
    applied = lifecycle.apply_verdict("churn", second.version, Verdict(
        "rollback", "ops.manual", reasons=("churn scores drifted after the promotion",)))
    assert registry.aliases("churn") == {"champion": first.version}
    assert applied.status == "rolled_back" and applied.details["restored"] == first.version
    assert registry.get_version("churn", second.version).status == "rolled_back"
    restored = registry.get_version("churn", first.version)
    assert restored.status == "champion" and restored.status_details["from"] == "retired"
    assert len(smtp_sink.messages) == 1


def test_dataset_publish_and_reject_use_the_same_vocabulary(lake, model_dir, smtp_sink):
    published = _register(model_dir, name="gen")
    applied = lifecycle.apply_verdict("gen", published.version, Verdict(
        "promote", "synthetic_data_generation.gate", reasons=("every check passed",),
        metrics={"overall_quality": 0.91}), kind="dataset")
    assert applied.extra == {"model": "gen", "version": published.version, "kind": "dataset",
                             "status": "champion", "decision": "promote", "metrics": {"overall_quality": 0.91}}
    assert registry.get_version("gen", published.version).status_details["kind"] == "dataset"

    bad = _register(model_dir, name="gen")
    rejected = lifecycle.apply_verdict("gen", bad.version, Verdict(
        "reject", "synthetic_data_generation.gate", reasons=("overall_quality 0.61 is below the threshold 0.80",)),
        kind="dataset", context=_context("synthetic_data_generation"))
    assert rejected.status == "rejected" and registry.aliases("gen") == {"champion": published.version}
    (message,) = smtp_sink.messages
    assert f"dataset gen v{bad.version} rejected: overall_quality 0.61" in message["Subject"]
    assert rejected.alert["key"]["kind"] == f"dataset_rejected:gen/{bad.version}"


def test_undecided_keeps_status_and_aliases_and_records_the_attempt(lake, model_dir, smtp_sink):
    champion = _register(model_dir)
    _promote("churn", champion.version)
    candidate = _register(model_dir, challenger=True)
    applied = lifecycle.apply_verdict("churn", candidate.version, Verdict(
        "undecided", "canary_deploy.rollout", reasons=("the rollout task failed before a decision",)))
    assert applied.status == "challenger" and applied.alert is None and smtp_sink.messages == []
    assert registry.aliases("churn") == {"champion": champion.version, "challenger": candidate.version}
    stored = registry.get_version("churn", candidate.version)
    assert stored.status_details["decision"] == "undecided"
    assert stored.status_details["reasons"] == ["the rollout task failed before a decision"]


def test_verdicts_are_checked_when_made():
    with pytest.raises(ValueError, match="unknown decision 'promoted'"):
        Verdict("promoted", "tests.gate")
    with pytest.raises(ValueError, match="must say why"):
        Verdict("reject", "tests.gate")
    with pytest.raises(ValueError, match="names who decided"):
        Verdict("promote", "")
    verdict = Verdict("reject", "tests.gate", reasons="one reason", metrics={"a": 1, "flag": True, "inf": float("inf")},
                      evidence={"nested": [{"x": float("nan")}], 3: {1, 2}})
    assert verdict.reasons == ("one reason",) and verdict.metrics == {"a": 1.0}
    assert verdict.evidence == {"nested": [{"x": None}], "3": [1, 2]}
    with pytest.raises(ValueError, match="unknown kind"):
        lifecycle.register("churn", "/nonexistent", registered_by="t", kind="table")  # type: ignore[arg-type]
