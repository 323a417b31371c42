"""ingest_knowledge_base's per-source ingest with the lake on s3:// (moto server, real boto3 through the
amazon provider): listing, reading, quarantine copies and deletions all go through the configured lake.
The vector store stays the embedded DuckDB file (its server path is not written yet)."""

from __future__ import annotations

import datetime

import pytest

from tests.fixtures.emulators import s3_lake_on

pytestmark = pytest.mark.emulator

BUCKET = "genai-kb-test"
DAY = datetime.date(2026, 12, 3)


def test_ingest_source_from_an_s3_lake(lake, aws_conn, monkeypatch):
    from include.platform import quarantine, storage
    from include.rag import demo
    from include.rag.config import IngestConfig
    from include.rag.ingest import ingest_source, list_sources
    from include.rag.store import KnowledgeStore

    hook, prefix = s3_lake_on(aws_conn, BUCKET, monkeypatch)

    assert storage.lake_root().fs.__class__.__name__ == "S3FileSystem"
    demo.seed_knowledge_base(sources=("handbook",))
    hook.load_bytes(b"%PDF-1.4 scanned", f"{prefix}/raw/knowledge/handbook/scan.pdf", BUCKET, replace=True)
    assert list_sources() == ["handbook"]

    cfg = IngestConfig.defaults()
    first = ingest_source(cfg, "handbook", DAY)
    assert (first["files"], first["added"], first["quarantined"]) == (4, 3, 1) and first["embedded"] > 0
    assert KnowledgeStore().counts()["documents"] == 3
    copy_key = f"{prefix}/quarantine/ingest_knowledge_base/{DAY.isoformat()}/files/handbook/scan.pdf"
    assert hook.get_key(copy_key, BUCKET).get()["Body"].read() == b"%PDF-1.4 scanned"
    assert quarantine.read_rejected("ingest_knowledge_base", DAY, "handbook")[0]["source_file"] == \
        "knowledge/handbook/scan.pdf"

    again = ingest_source(cfg, "handbook", DAY)
    assert (again["unchanged"], again["embedded"]) == (3, 0)

    hook.delete_objects(BUCKET, [f"{prefix}/raw/knowledge/handbook/style_guide.txt"])
    gone = ingest_source(cfg, "handbook", DAY)
    assert gone["deleted"] == 1 and KnowledgeStore().counts()["documents"] == 2
