"""Shared platform layer: settings, lake storage, warehouse, model registry, notifications, assets.

Every DAG in this project reaches the outside world through these modules, so switching a pipeline
from the embedded default (local files, DuckDB) to a cloud is a configuration change, never a code
change. Modules import lazily what is heavy: importing this package costs no more than Airflow itself.
"""
