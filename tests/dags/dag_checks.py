"""Checks every DAG file must pass, as plain functions over a DAG folder.

Kept apart from the tests so the same checks can be pointed at a temporary folder holding a
deliberately broken or heavy DAG (tests/dags/test_checks_catch_bad_dags.py proves they fail and
name the file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Libraries that cost seconds to import; a DAG file may use them only inside tasks.
HEAVY_MODULES = ("torch", "transformers", "pandas", "sklearn", "great_expectations", "skopt",
                 "matplotlib", "scipy", "numpy", "pyarrow", "tokenizers", "sentence_transformers")

#: Seconds one DAG file may take to parse once Airflow itself is imported (the scheduler's
#: default import timeout is 30 s; a heavy-import file takes 5-25 s, a clean one ~0.05 s).
PARSE_BUDGET_S = float(os.environ.get("GENAI_DAG_PARSE_BUDGET_S", "2.0"))

_PROBE = r"""
import json, os, sys, time, runpy
sys.path.insert(0, {root!r})
import airflow.sdk  # baseline: Airflow's own import cost is not the DAG file's
from airflow.sdk import dag, task, Param, Asset  # noqa
import include.platform.assets, include.platform.runtime  # noqa
for path in {paths!r}:
    # One fork per file: each file starts from the same warm baseline, so a heavy import in one
    # file cannot hide (or be blamed on) another, and Airflow is imported only once per folder.
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        before = set(sys.modules)
        start = time.perf_counter()
        error = None
        try:
            runpy.run_path(path, run_name="__dag_parse_probe__")
        except BaseException as exc:  # report, do not crash the probe
            error = f"{{type(exc).__name__}}: {{exc}}"
        elapsed = time.perf_counter() - start
        heavy = sorted({{m.split(".")[0] for m in set(sys.modules) - before}} & set({heavy!r}))
        os.write(write_fd, json.dumps({{"seconds": elapsed, "heavy": heavy, "error": error}}).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    print("PROBE" + json.dumps({{"path": path, **json.loads(b"".join(chunks) or b'{{"seconds": null, "heavy": [], "error": "probe child died"}}')}}))
"""


def dag_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("**/*.py") if not p.name.startswith("_"))


def parse_costs(paths: list[Path]) -> dict[Path, dict]:
    """Parse each DAG file from a warm interpreter; per file: seconds, heavy modules pulled, error."""
    code = _PROBE.format(root=str(ROOT), paths=[str(p) for p in paths], heavy=HEAVY_MODULES)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=os.environ.copy())
    results = {Path(p): {"seconds": None, "heavy": [], "error": f"probe crashed: {proc.stderr[-2000:]}"}
               for p in paths}
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE"):
            data = json.loads(line[5:])
            results[Path(data.pop("path"))] = data
    return results


def parse_cost_problems(folder: Path, budget_s: float = PARSE_BUDGET_S) -> list[str]:
    problems = []
    for path, result in parse_costs(dag_files(folder)).items():
        name = path.relative_to(folder)
        if result["heavy"]:
            problems.append(f"{name}: imports {', '.join(result['heavy'])} at parse time; "
                            "move the import inside the task function")
        if result["seconds"] is not None and result["seconds"] > budget_s:
            problems.append(f"{name}: parse took {result['seconds']:.2f}s (budget {budget_s:.1f}s); "
                            "move I/O and heavy imports into tasks")
        if result["error"]:
            problems.append(f"{name}: fails to import: {result['error']}")
    return problems


def load_dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


def integrity_problems(dagbag) -> list[str]:
    """Import errors, duplicate ids and the documentation/retry rules, one message per problem."""
    problems = [f"{Path(f).name}: import error: {err.strip().splitlines()[-1]}"
                for f, err in dagbag.import_errors.items()]
    if not dagbag.dags and not dagbag.import_errors:
        problems.append("no DAGs found")
    for dag_id, dag in sorted(dagbag.dags.items()):
        where = f"{Path(dag.fileloc).name} ({dag_id})"
        if not dag.tags:
            problems.append(f"{where}: no tags")
        if not (dag.doc_md or "").strip():
            problems.append(f"{where}: no doc_md")
        if not (dag.description or "").strip():
            problems.append(f"{where}: no description")
        owners = {t.owner for t in dag.tasks}
        if not owners or owners & {"airflow", "", None}:
            problems.append(f"{where}: tasks need an owner other than the default 'airflow' (default_args['owner'])")
        no_alert = sorted(t.task_id for t in dag.tasks if not t.on_failure_callback)
        if no_alert:
            problems.append(f"{where}: no failure notifier (default_args['on_failure_callback']) on {no_alert}")
        low_retries = sorted(t.task_id for t in dag.tasks if (t.retries or 0) < 2)
        if low_retries:
            problems.append(f"{where}: retries < 2 on {low_retries}")
        for key, param in dag.params.items():
            if not (getattr(param, "description", None) or "").strip():
                problems.append(f"{where}: Param {key!r} has no description")
    return problems
