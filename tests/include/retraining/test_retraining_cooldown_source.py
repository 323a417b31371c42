"""Where the cool-down's "last retrain" comes from: the registry, ignoring the rerun itself."""

from __future__ import annotations

from datetime import date

from include.platform import registry
from include.retraining import pipeline


def _register(tmp_path, **metadata):
    folder = tmp_path / str(len(list(tmp_path.iterdir())))
    folder.mkdir()
    (folder / "model.json").write_text("{}")
    return registry.register_model(pipeline.MODEL_NAME, folder, metadata=metadata)


def test_last_retrain_counts_attempts_of_other_runs_only(lake, tmp_path):
    work = tmp_path / "versions"
    work.mkdir()
    assert pipeline.last_retrain_date(date(2026, 11, 22)) is None
    _register(work, trained_by="bootstrap")                                  # not a retrain
    _register(work, trained_by=pipeline.DAG_ID, run_id="a", run_date="2026-11-10")
    rejected = _register(work, trained_by=pipeline.DAG_ID, run_id="b", run_date="2026-11-20")
    registry.set_status(pipeline.MODEL_NAME, rejected.version, "rejected")  # attempts count too
    _register(work, trained_by=pipeline.DAG_ID, run_id="c", run_date="2026-11-25")  # after the day: ignored

    assert pipeline.last_retrain_date(date(2026, 11, 22)) == date(2026, 11, 20)
    # Rerunning run "b" must not put itself in cool-down.
    assert pipeline.last_retrain_date(date(2026, 11, 22), exclude_run_id="b") == date(2026, 11, 10)
