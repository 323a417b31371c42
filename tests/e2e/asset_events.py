"""The asset events a ``dag.test()`` run emitted, read from the metadata DB (what the scheduler reads)."""

from __future__ import annotations


def run_events(run_id: str, asset_name: str) -> list[dict]:
    """``extra`` of each event the run emitted for ``asset_name``, oldest first."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as s:
        return [e.extra for e in s.query(AssetEvent).order_by(AssetEvent.id).all()
                if e.source_run_id == run_id and e.name == asset_name]
