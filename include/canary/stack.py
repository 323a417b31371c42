"""The local serving stack: two model servers, the router and the load generator, as OS processes.

Why separate processes and not threads in the task: a setup task must leave the stack running after
it returns (the rollout task, and its deferred trigger, use it), and a teardown task in another
process must be able to stop it. Everything about the stack is written to ``<run_dir>/stack.json``
as each process starts, so a teardown can stop what a half-failed setup left behind.

Stopping is layered: ``POST /admin/shutdown`` (clean), then SIGTERM, then SIGKILL to the process
group (each process leads its own session, so anything it spawned goes too); each pid is matched
with its recorded start time first, so a recycled pid is never signalled. Every process also carries
a TTL and stops itself if no teardown ever comes.

**One host.** Pids, process groups and loopback ports mean something only on the machine that
started them. The state records that machine (``host``); a setup retried on the same host first
stops what an earlier attempt left (a worker killed mid-setup leaves its stack running), and a
teardown handed a stack from another host fails loudly (:class:`PermanentError`) instead of
"stopping" nothing and reporting success.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from include.canary.httpbase import base_url, is_loopback
from include.platform.errors import PermanentError
from include.platform.settings import PROJECT_DIR

log = logging.getLogger(__name__)

STATE_FILE = "stack.json"


class StackError(RuntimeError):
    """A stack process failed to start; the message names it and quotes its log."""


def this_host() -> str:
    """The machine (or container: its own pid namespace) that can signal the stack's processes."""
    return socket.gethostname()


def _read_state(run_dir: Path) -> dict[str, Any]:
    path = run_dir / STATE_FILE
    if path.exists():
        return json.loads(path.read_text())
    return {"run_dir": str(run_dir), "host": this_host(), "processes": {}}


def _write_state(run_dir: Path, state: dict[str, Any]) -> None:
    tmp = run_dir / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(run_dir / STATE_FILE)


def port_in_use(port: int | None, host: str = "127.0.0.1") -> bool:
    if not port:
        return False
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


def _reap(pid: int) -> None:
    # Under dag.test() the stack processes are children of the test process: collect their exit
    # status so they do not linger as zombies. In a real worker they were re-parented to init.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def process_alive(pid: int, create_time: float | None) -> bool:
    """True if ``pid`` is still the process we started (same start time) and not a zombie."""
    _reap(pid)
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 1.0:
            return False  # pid recycled by another process
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def launch_process(name: str, module: str, args: list[str], run_dir: Path,
                   env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict[str, Any]]:
    """Start ``python -m module args`` detached (own session) and record it; does not wait."""
    ready = run_dir / f"{name}.ready"
    ready.unlink(missing_ok=True)
    log_path = run_dir / f"{name}.log"
    full_env = os.environ.copy() | (env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), full_env.get("PYTHONPATH")]))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        full_env.setdefault(var, "1")  # tiny matrices: extra BLAS threads only spin against Airflow
    with log_path.open("ab") as log_fh:
        proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and our own module
            [sys.executable, "-m", module, *args, "--ready-file", str(ready)],
            cwd=PROJECT_DIR, env=full_env, stdout=log_fh, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    info = {"name": name, "pid": proc.pid, "pgid": os.getpgid(proc.pid),
            "create_time": psutil.Process(proc.pid).create_time(), "bind_host": None,
            "port": None, "url": None, "log": str(log_path), "ready_file": str(ready)}
    state = _read_state(run_dir)
    state["processes"][name] = info
    _write_state(run_dir, state)  # recorded before waiting: a teardown can stop it even if it hangs
    return proc, info


def wait_ready(proc: subprocess.Popen, info: dict[str, Any], run_dir: Path, timeout: float = 60.0) -> dict[str, Any]:
    """Wait for the process's ready file; record its port and URL."""
    ready = Path(info["ready_file"])
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            tail = Path(info["log"]).read_text(errors="replace")[-2000:]
            raise StackError(f"{info['name']} exited with code {proc.returncode} before it was ready; "
                             f"log tail:\n{tail}")
        if time.monotonic() > deadline:
            raise StackError(f"{info['name']} not ready after {timeout}s; see {info['log']}")
        time.sleep(0.05)
    announced = json.loads(ready.read_text())
    port, host = announced["port"], announced.get("host") or "127.0.0.1"
    info |= {"port": port, "bind_host": host if port else None, "url": base_url(host, port) if port else None}
    state = _read_state(run_dir)
    state["processes"][info["name"]] = info
    _write_state(run_dir, state)
    log.info("started %s (pid %s) %s", info["name"], info["pid"], info["url"] or "")
    return info


def start_process(name: str, module: str, args: list[str], run_dir: Path, *, ready_timeout: float = 60.0,
                  env: dict[str, str] | None = None) -> dict[str, Any]:
    """Launch one process and wait until it is ready."""
    proc, info = launch_process(name, module, args, run_dir, env)
    return wait_ready(proc, info, run_dir, ready_timeout)


def _http_shutdown(url: str) -> bool:
    try:
        req = urllib.request.Request(f"{url}/admin/shutdown", data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=3) as resp:  # noqa: S310 - loopback URL we started
            return resp.status == 200
    except OSError:
        return False


def _wait_gone(pid: int, create_time: float | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid, create_time):
            return True
        time.sleep(0.05)
    return not process_alive(pid, create_time)


def _signal(pid: int, pgid: int | None, sig: int) -> None:
    """Signal the process group the process leads (its children too), else the process alone."""
    try:
        if pgid is not None and pgid == pid:
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(info: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Stop one recorded process; returns how it ended and whether its port is free."""
    pid, ctime, pgid = int(info["pid"]), info.get("create_time"), info.get("pgid")
    how = "already_gone"
    if process_alive(pid, ctime):
        how = "shutdown"
        if not (info.get("url") and _http_shutdown(info["url"]) and _wait_gone(pid, ctime, timeout)):
            how = "sigterm"
            _signal(pid, pgid, signal.SIGTERM)
            if not _wait_gone(pid, ctime, timeout):
                how = "sigkill"
                _signal(pid, pgid, signal.SIGKILL)
                _wait_gone(pid, ctime, timeout)
    alive = process_alive(pid, ctime)
    bind = info.get("bind_host")
    busy = port_in_use(info.get("port"), "127.0.0.1" if not bind or bind in ("0.0.0.0", "::") else bind)  # noqa: S104
    log.info("stopped %s (pid %s) by %s; alive=%s port_in_use=%s", info["name"], pid, how, alive, busy)
    return {"name": info["name"], "pid": pid, "port": info.get("port"), "stopped_by": how,
            "alive": alive, "port_in_use": busy}


#: Stop order: stop the load first (no errors from a half-stopped stack), then the router, then models.
STOP_ORDER = ("loadgen", "router", "challenger", "champion")


def _stop_all(procs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    order = [n for n in STOP_ORDER if n in procs] + [n for n in procs if n not in STOP_ORDER]
    return [stop_process(procs[name]) for name in order]


def stop_stack(run_dir: str | Path) -> list[dict[str, Any]]:
    """Stop every process recorded in ``run_dir``; safe to call twice or on a half-started stack.

    A state file written on another host (a data folder shared between machines) is not ours to
    act on: its pids would name unrelated local processes. That raises :class:`PermanentError`.
    """
    state = _read_state(Path(run_dir))
    check_same_host(state)
    return _stop_all(state["processes"])


def check_same_host(stack: dict[str, Any]) -> None:
    """Raise :class:`PermanentError` unless the stack was started on this host (the one-host rule)."""
    host = stack.get("host")
    if not host or host == this_host():
        return
    procs = stack.get("processes") or {}
    where = ", ".join(f"{n} pid {p.get('pid')} port {p.get('port')}" for n, p in procs.items()) or "no processes"
    raise PermanentError(
        f"the embedded canary stack runs on host {host!r} ({where}) but this task runs on {this_host()!r}: "
        "the stack's processes and loopback ports can only be stopped from the host that started them "
        "(one-host rule)",
        "run canary_deploy's setup, rollout and teardown on one host (a Celery queue served by a single "
        "worker, or the local executor), or use a cloud backend (Param backend_conn_id); until then the "
        f"stack on {host!r} stops itself at its TTL ({stack.get('expires_at', 'see its state file')})")


def stop_recorded(stack: dict[str, Any]) -> list[dict[str, Any]]:
    """Teardown from the setup's XCom: stop the pids it recorded (and any the state file adds).

    The XCom is the record that travels with the run; the state file on this host may hold more
    (a process launched after the XCom was built), never less.
    """
    check_same_host(stack)
    procs = {name: dict(info) for name, info in (stack.get("processes") or {}).items()}
    run_dir = stack.get("run_dir")
    if run_dir and (Path(run_dir) / STATE_FILE).exists():
        state = _read_state(Path(run_dir))
        if not state.get("host") or state["host"] == this_host():
            for name, info in state["processes"].items():
                if name not in procs or procs[name].get("pid") == info.get("pid"):
                    procs[name] = {**info, **procs.get(name, {})}
                else:  # a later attempt's process under the same name: stop both
                    procs[f"{name}@{info['pid']}"] = info | {"name": f"{name}@{info['pid']}"}
    return _stop_all(procs)


def _stop_previous_attempt(run_dir: Path) -> list[dict[str, Any]]:
    """A retried setup: stop whatever an earlier attempt of this run recorded here."""
    if not (run_dir / STATE_FILE).exists():
        return []
    state = _read_state(run_dir)
    if state.get("host") and state["host"] != this_host():
        log.warning("state file of an earlier attempt names host %r (this is %r): its processes cannot be "
                    "stopped from here and stop at their TTL (%s)", state["host"], this_host(),
                    state.get("expires_at"))
        return [{"name": n, "pid": p.get("pid"), "host": state["host"], "stopped_by": "unreachable"}
                for n, p in state["processes"].items()]
    stopped = _stop_all(state["processes"])
    if any(s["stopped_by"] != "already_gone" for s in stopped):
        log.warning("stopped the stack an earlier attempt left running: %s", stopped)
    return stopped


def start_stack(run_dir: str | Path, *, champion_dir: str, challenger_dir: str, champion_ref: str,
                challenger_ref: str, requests_file: str, rate: float, concurrency: int, ttl: float,
                champion_kind: str = "", challenger_kind: str = "",
                challenger_error_rate: float = 0.0, challenger_added_latency_ms: float = 0.0,
                seed: int = 0, bind_host: str = "127.0.0.1",
                http_args: list[str] | None = None, server_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start champion, challenger, router (challenger weight 0) and load generator; return their URLs.

    A stack an earlier attempt of the same run left behind (same ``run_dir``) is stopped first, so a
    retried setup leaves exactly one stack. On any failure everything already started is stopped
    before the error is raised: a failed setup task has no teardown to rely on.

    ``*_kind`` is each model's serving kind (:mod:`include.canary.serving`; empty = the server detects it).
    ``bind_host`` is where the servers listen (loopback by default: nothing outside this machine can
    reach them); ``http_args`` passes limits (``--max-body-bytes``, ``--read-timeout``...) to each server;
    ``server_options`` (JSON) reaches both models' loaders alike (``textgen``: decoding, gate, reference model).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = _stop_previous_attempt(run_dir)
    (run_dir / STATE_FILE).unlink(missing_ok=True)
    _write_state(run_dir, {"run_dir": str(run_dir), "host": this_host(), "bind_host": bind_host,
                           "started_at": datetime.now(UTC).isoformat(),
                           "expires_at": datetime.fromtimestamp(time.time() + ttl, UTC).isoformat(),
                           "processes": {}})
    common = ["--ttl", str(ttl), "--seed", str(seed)]
    options = ["--options", json.dumps(server_options)] if server_options else []
    http = ["--host", bind_host, *(http_args or [])]
    try:
        # The two model servers load in parallel (each pays a numpy import and a model load).
        launched = [
            launch_process("champion", "include.canary.servers",
                           ["--model-dir", champion_dir, "--kind", champion_kind, "--role", "champion", "--model-ref", champion_ref,
                            "--error-rate", "0", "--added-latency-ms", "0", *options, *common, *http], run_dir),
            launch_process("challenger", "include.canary.servers",
                           ["--model-dir", challenger_dir, "--kind", challenger_kind, "--role", "challenger", "--model-ref", challenger_ref,
                            "--error-rate", str(challenger_error_rate),
                            "--added-latency-ms", str(challenger_added_latency_ms), *options, *common, *http],
                           run_dir),
        ]
        champion, challenger = (wait_ready(proc, info, run_dir) for proc, info in launched)
        router = start_process("router", "include.canary.router",
                               ["--champion", _loopback_if_local(champion), "--challenger",
                                _loopback_if_local(challenger), "--weight", "0", *common, *http], run_dir)
        start_process("loadgen", "include.canary.loadgen",
                      ["--url", router["url"], "--requests-file", requests_file, "--rate", str(rate),
                       "--concurrency", str(concurrency), "--ttl", str(ttl),
                       "--stats-file", str(run_dir / "loadgen-stats.json")], run_dir)
    except BaseException:
        stop_stack(run_dir)
        raise
    state = _read_state(run_dir)
    return {"run_dir": str(run_dir), "host": state["host"], "expires_at": state["expires_at"],
            "router_url": router["url"], "champion_url": champion["url"], "challenger_url": challenger["url"],
            "processes": {n: {k: p.get(k) for k in ("name", "pid", "pgid", "create_time", "bind_host", "port", "url")}
                          for n, p in state["processes"].items()},
            "previous_attempt": previous}


def _loopback_if_local(info: dict[str, Any]) -> str:
    """The router reaches the model servers on the same host: loopback when they listen there too."""
    bind = info.get("bind_host")
    if bind and (is_loopback(bind) or bind in ("0.0.0.0", "::")):  # noqa: S104
        return f"http://127.0.0.1:{info['port']}"
    return info["url"]
