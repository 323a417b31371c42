"""Ingest-level refusals: too large, symlink, a corrupt new version of a good file (old chunks kept), and
the config / plan refusals that fail at once naming the fix."""

from __future__ import annotations

import datetime
import os

import pytest

from include.platform.errors import ConfigError

DAY = datetime.date(2026, 12, 3)


def test_oversized_and_symlinked_files_are_quarantined_and_a_corrupt_update_keeps_the_old_chunks(lake, tmp_path):
    from include.platform import quarantine, storage
    from include.rag.config import IngestConfig
    from include.rag.ingest import ingest_source
    from include.rag.store import KnowledgeStore

    src = storage.lake_path("raw", "knowledge", "docs")
    storage.write_text(src / "good.md", "# Good\n\nThe retention period is nine weeks.\n")
    storage.write_text(src / "big.txt", "word " * 400)
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the lake")
    os.symlink(outside, src.path + "/link.txt")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "private.md").write_text("# Private\n\nnot for the lake\n")
    os.symlink(tmp_path / "elsewhere", src.path + "/linked_dir")
    cfg = IngestConfig.from_params({"max_file_mb": 0.001})  # 1 KiB

    first = ingest_source(cfg, "docs", DAY)
    assert (first["added"], first["quarantined"], first["embedded"]) == (1, 3, 1)
    reasons = {r["source_file"]: r["reason"] for r in quarantine.read_rejected("ingest_knowledge_base", DAY, "docs")}
    assert reasons["knowledge/docs/big.txt"].startswith("too large")
    assert "symlink" in reasons["knowledge/docs/link.txt"] and "symlink" in reasons["knowledge/docs/linked_dir"]
    assert KnowledgeStore().documents("docs").keys() == {"good.md"}  # nothing read through the linked folder
    chunks_before = KnowledgeStore().counts()

    storage.write_bytes(src / "good.md", b"\xff\xfe broken")  # a bad upload over a good document
    second = ingest_source(cfg, "docs", DAY)
    assert second["kept_previous_version"] == ["good.md"] and second["deleted"] == 0 and second["embedded"] == 0
    assert KnowledgeStore().counts() == chunks_before
    assert "not valid UTF-8" in {r["source_file"]: r["reason"] for r in
                                 quarantine.read_rejected("ingest_knowledge_base", DAY, "docs")}["knowledge/docs/good.md"]


def test_config_and_plan_refusals(lake):
    from include.platform import storage
    from include.rag import steps
    from include.rag.config import IngestConfig

    with pytest.raises(ConfigError, match="chunk_overlap"):
        IngestConfig.from_params({"chunk_size": 50, "chunk_overlap": 50})
    with pytest.raises(ConfigError, match="sources"):
        IngestConfig.from_params({"sources": ["../etc"]})
    with pytest.raises(ConfigError, match="seed_demo_data"):
        steps.plan_sources(IngestConfig.defaults())
    storage.write_text(storage.lake_path("raw", "knowledge", "a", "x.md"), "# x\n\ny\n")
    assert steps.plan_sources(IngestConfig.defaults()) == ["a"]
    with pytest.raises(ConfigError, match="no folder raw/knowledge/b/"):
        steps.plan_sources(IngestConfig.from_params({"sources": ["b"]}))
