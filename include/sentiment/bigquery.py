"""The article's GCS → BigQuery load, used when the warehouse connection is BigQuery.

DuckDB / Postgres warehouses take rows through ``warehouse.replace_rows``. BigQuery is different:
row-by-row DML is slow and quota-bound, so results are staged as Parquet in the (``gs://``) lake and
loaded with one load job into a staging table (WRITE_TRUNCATE), then MERGEd into the target on its
natural key. A rerun reloads the same staging table and the MERGE replaces the same keys: idempotent,
like ``replace_rows``.

The job configurations are built by pure functions (tested offline against the documented REST
shapes); ``load_and_merge`` submits them through the google provider's ``BigQueryHook.insert_job``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

BIGQUERY_CONN_TYPES = ("google_cloud_platform", "gcpbigquery", "bigquery")


def is_bigquery(conn_type: str | None) -> bool:
    return (conn_type or "").lower() in BIGQUERY_CONN_TYPES


def load_job_config(source_uris: Sequence[str], project: str, dataset: str, table: str) -> dict[str, Any]:
    """A ``jobs.insert`` load configuration: Parquet from GCS into a staging table, replaced each time."""
    bad = [u for u in source_uris if not u.startswith("gs://")]
    if bad:
        raise ValueError(f"BigQuery loads read from GCS only; set the lake root to gs://... (got {bad[:2]})")
    return {
        "load": {
            "sourceUris": list(source_uris),
            "sourceFormat": "PARQUET",
            "destinationTable": {"projectId": project, "datasetId": dataset, "tableId": table},
            "writeDisposition": "WRITE_TRUNCATE",
            "createDisposition": "CREATE_IF_NEEDED",
            "parquetOptions": {"enableListInference": True},
        }
    }


def merge_sql(project: str, dataset: str, target: str, staging: str, columns: Sequence[str],
              key_columns: Sequence[str]) -> str:
    """``MERGE`` staging into target on the natural key (update matched rows, insert new ones)."""
    def ref(t: str) -> str:
        return f"`{project}.{dataset}.{t}`"

    on = " AND ".join(f"T.{k} = S.{k}" for k in key_columns)
    updates = ", ".join(f"{c} = S.{c}" for c in columns if c not in key_columns)
    cols = ", ".join(columns)
    values = ", ".join(f"S.{c}" for c in columns)
    return (f"MERGE {ref(target)} T USING {ref(staging)} S ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {updates} "
            f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})")


def create_like_sql(project: str, dataset: str, target: str, staging: str) -> str:
    """First run: create the target with the staging table's schema (no rows)."""
    return (f"CREATE TABLE IF NOT EXISTS `{project}.{dataset}.{target}` AS "
            f"SELECT * FROM `{project}.{dataset}.{staging}` WHERE FALSE")


def query_job_config(sql: str) -> dict[str, Any]:
    return {"query": {"query": sql, "useLegacySql": False}}


def load_and_merge(hook: Any, source_uris: Sequence[str], dataset: str, table: str, columns: Sequence[str],
                   key_columns: Sequence[str], project: str | None = None) -> int:
    """Run the three jobs (load, create-if-needed, merge) with a ``BigQueryHook``; returns the jobs run."""
    project = project or hook.project_id
    staging = f"{table}__staging"
    jobs = [
        load_job_config(source_uris, project, dataset, staging),
        query_job_config(create_like_sql(project, dataset, table, staging)),
        query_job_config(merge_sql(project, dataset, table, staging, columns, key_columns)),
    ]
    for config in jobs:
        job = hook.insert_job(configuration=config, project_id=project)
        job.result()  # wait; raises with BigQuery's error message on failure
        log.info("BigQuery job %s done: %s", job.job_id, next(iter(config)))
    return len(jobs)
