"""The registry under real concurrency: several OS processes (spawned, like separate workers) on one lake.

Each worker process gets the test's lake through ``AIRFLOW_VAR_GENAI_DATA_DIR`` (the ``lake`` fixture's
data dir), starts its job at the same wall-clock instant as the others, and reports what it saw.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

import pytest

from include.platform import registry

SPAWN = mp.get_context("spawn")  # fresh interpreters: no state shared with the test process


def _artifact(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(content)
    (folder / "config.json").write_text(json.dumps({"writer": content[:40].decode(errors="replace")}))
    return folder


def _serve(inbox, outbox) -> None:
    """A worker process: import once (unpickling this function imported the registry), then run jobs.

    Each job names the lake (data dir) and a wall-clock start time shared by every worker of the
    job, so their registry calls really overlap; the result or the traceback goes back verbatim.
    """
    outbox.put(("ready", os.getpid(), None))
    while (job := inbox.get()) is not None:
        index, target, args, data_dir, start_at = job
        os.environ["AIRFLOW_VAR_GENAI_DATA_DIR"] = data_dir
        try:
            time.sleep(max(0.0, start_at - time.time()))
            outbox.put(("ok", index, target(*args)))
        except BaseException:  # noqa: BLE001 - reported to the test process verbatim
            outbox.put(("error", index, traceback.format_exc()))


class Workers:
    """Spawned processes kept for the module: interpreter start-up is paid once, not per test."""

    def __init__(self, count: int) -> None:
        self.outbox = SPAWN.Queue()
        self.inboxes = [SPAWN.Queue() for _ in range(count)]
        self.procs = [SPAWN.Process(target=_serve, args=(inbox, self.outbox), daemon=True) for inbox in self.inboxes]
        for proc in self.procs:
            proc.start()
        ready = [self.outbox.get(timeout=300) for _ in self.procs]
        assert {r[0] for r in ready} == {"ready"} and len({r[1] for r in ready}) == count  # distinct processes

    def run(self, data_dir: Path, jobs: list[tuple]) -> list:
        """Run ``jobs`` (``(function, *args)``), one per process, starting together; their results in order."""
        start_at = time.time() + 0.5
        for index, (target, *args) in enumerate(jobs):
            self.inboxes[index].put((index, target, tuple(args), str(data_dir), start_at))
        results = sorted((self.outbox.get(timeout=300) for _ in jobs), key=lambda r: r[1])
        errors = [r[2] for r in results if r[0] == "error"]
        assert not errors, "\n".join(errors)
        return [r[2] for r in results]

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for proc in self.procs:
            proc.join(timeout=30)


@pytest.fixture(scope="module")
def workers():
    pool = Workers(3)
    yield pool
    pool.close()


# -- work done inside the worker processes (module level: spawn pickles them by name) ------------------
def register_many(tag: str, count: int, scratch: str) -> list[str]:
    versions = []
    for i in range(count):
        folder = _artifact(Path(scratch) / f"{tag}-{i}", f"{tag}-{i}-{uuid.uuid4().hex}".encode())
        mv = registry.register_model("racer", folder, metadata={"writer": tag, "i": i},
                                     alias="champion" if i % 2 else "challenger")
        versions.append(mv.version)
        registry.promote("racer", mv.version)
    return versions


def move_alias(alias: str, versions: list[str], rounds: int) -> str:
    for i in range(rounds):
        registry.set_alias("flip", alias, versions[i % len(versions)])
    return versions[(rounds - 1) % len(versions)]


def download_ref(ref: str, cache_dir: str) -> dict[str, str]:
    mv, local = registry.download(ref, cache_dir=cache_dir)
    return {rel: registry.sha256_file(local / rel) for rel in mv.files}


# -- tests ---------------------------------------------------------------------------------------------
def test_concurrent_registrations_get_distinct_versions_and_a_consistent_alias_file(workers, lake, tmp_path):
    writers, each = 3, 4
    results = workers.run(lake, [(register_many, f"w{n}", each, str(tmp_path / "scratch")) for n in range(writers)])

    claimed = [v for versions in results for v in versions]
    assert sorted(map(int, claimed)) == list(range(1, writers * each + 1)), claimed  # distinct, no gaps
    stored = registry.list_versions("racer")
    assert [v.version for v in stored] == [str(n) for n in range(1, writers * each + 1)]
    # every version holds exactly the bytes its writer uploaded (no two writers shared a folder)
    for mv in stored:
        _, local = registry.download(mv.ref, cache_dir=tmp_path / "cache")
        assert registry.sha256_file(local / "model.safetensors") == mv.files["model.safetensors"]
        tag, i = mv.metadata["writer"], mv.metadata["i"]
        assert (local / "model.safetensors").read_bytes().startswith(f"{tag}-{i}-".encode())
        assert mv.version in results[int(tag[1:])]

    models = lake / "lake" / "models" / "racer"
    mapping = json.loads((models / "aliases.json").read_text())  # parseable, one consistent map
    assert mapping == registry.aliases("racer")
    assert set(mapping) <= set(registry.ALIASES) and mapping["champion"] in claimed
    assert mapping.get("previous") != mapping["champion"]
    assert not (models / "locks" / "registry.lock").exists()
    leftovers = [p.name for p in (lake / "lake").rglob("*") if p.name.startswith(".")]
    assert leftovers == [], f"temp files left behind: {leftovers}"


def test_concurrent_alias_moves_lose_no_update(workers, lake, tmp_path):
    """Two processes rewrite aliases.json 40 times each, different keys: both final values survive."""
    v = [registry.register_model("flip", _artifact(tmp_path / f"a{n}", f"{n}".encode())).version for n in range(3)]
    finals = workers.run(lake, [(move_alias, "champion", v[:2], 40), (move_alias, "challenger", v[1:], 41)])
    assert sorted(finals) == [v[1], v[1]]  # each writer's last move
    assert registry.aliases("flip") == {"champion": v[1], "challenger": v[1]}


def test_concurrent_first_downloads_of_one_version_all_succeed(workers, lake, tmp_path):
    art = _artifact(tmp_path / "big", os.urandom(24 * 1024 * 1024))  # large enough for the copies to overlap
    mv = registry.register_model("big", art, alias="champion")
    cache = tmp_path / "cache"
    results = workers.run(lake, [(download_ref, "big@champion", str(cache)) for _ in range(3)])
    assert results == [mv.files] * 3
    folder = cache / "big" / mv.version
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]  # no .part left
    assert registry.sha256_file(folder / "model.safetensors") == mv.files["model.safetensors"]


# -- the lease: taken over when its holder is gone, respected while it lives ----------------------------
def _lease(lake: Path, name: str, **holder) -> Path:
    lock = lake / "lake" / "models" / name / "locks" / "registry.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"token": uuid.uuid4().hex, "acquired_at": time.time()} | holder))
    return lock


def test_lease_of_a_dead_process_on_this_host_is_taken_over(lake, tmp_path):
    registry.register_model("held", _artifact(tmp_path / "a", b"1"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    lock = _lease(lake, "held", host=registry._host_identity(), pid=int(dead.stdout))
    stale_token = json.loads(lock.read_text())["token"]
    started = time.monotonic()
    registry.set_alias("held", "champion", 1)
    assert time.monotonic() - started < 5
    assert registry.aliases("held") == {"champion": "1"} and not lock.exists()
    assert (lock.parent / "broken" / stale_token).exists()  # the one takeover of that lease


def test_expired_lease_of_another_host_is_taken_over(lake, tmp_path):
    registry.register_model("held", _artifact(tmp_path / "a", b"1"))
    _lease(lake, "held", host="other-host:1", pid=1, acquired_at=time.time() - registry.LOCK_TTL_S - 5)
    registry.promote("held", 1)
    assert registry.aliases("held") == {"champion": "1"}


@pytest.mark.parametrize("holder", [
    {"host": "other-host:1", "pid": 1},  # another host, within its TTL
    {"pid": os.getpid()},  # a live process on this host (this one), however old
    {"token": "not-a-token"},  # unreadable: never broken automatically
])
def test_live_lease_is_respected(lake, tmp_path, monkeypatch, holder):
    registry.register_model("held", _artifact(tmp_path / "a", b"1"))
    if holder.get("pid") == os.getpid():
        holder = holder | {"host": registry._host_identity(), "acquired_at": 0}
    lock = _lease(lake, "held", **holder)
    monkeypatch.setattr(registry, "LOCK_WAIT_S", 0.5)
    with pytest.raises(registry.RegistryError, match="registry lease .* held for over"):
        registry.set_alias("held", "champion", 1)
    assert registry.aliases("held") == {} and lock.exists()


# -- object stores: the same claims through the backend's conditional create ----------------------------
@pytest.mark.emulator
def test_claims_use_conditional_create_on_s3(lake, aws_conn, monkeypatch, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=aws_conn)
    if not hook.check_for_bucket("genai-registry-race"):
        hook.create_bucket("genai-registry-race")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", f"s3://genai-registry-race/lake-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", aws_conn)
    from include.platform import storage

    probe = storage.lake_path("models", "probe", "claims", "1.json")
    assert registry._create_exclusive(probe, b"first") is True
    assert registry._create_exclusive(probe, b"second") is False  # If-None-Match: * honoured
    assert storage.read_bytes(probe) == b"first"
    registry._check_conditional_create(probe)
    assert registry._CONDITIONAL_CREATE_HONOURED[str(storage.zone("models"))] is True

    arts = [_artifact(tmp_path / f"s{n}", f"s3-{n}".encode()) for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        versions = list(pool.map(lambda a: registry.register_model("racer", a).version, arts))
    assert sorted(map(int, versions)) == list(range(1, 7))
    registry.promote("racer", versions[0])
    assert registry.aliases("racer") == {"champion": versions[0]}
