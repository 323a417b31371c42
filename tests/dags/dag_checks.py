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

#: Libraries that cost a noticeable share of a second (or seconds) to import; a DAG file may use
#: them only inside tasks. pydantic_ai arrives through common-ai's operators (``@task.llm``).
HEAVY_MODULES = ("torch", "transformers", "pandas", "sklearn", "great_expectations", "skopt",
                 "matplotlib", "scipy", "numpy", "pyarrow", "tokenizers", "sentence_transformers",
                 "pydantic_ai")

#: Seconds one DAG file may take to parse once Airflow itself is imported. A clean file takes
#: 0.03-0.06 s; one heavy import (pydantic-ai, pandas) 0.5 s or more; torch/transformers seconds.
PARSE_BUDGET_S = float(os.environ.get("GENAI_DAG_PARSE_BUDGET_S", "0.2"))

#: Parses per file; the check uses the fastest (see :func:`parse_costs` for why the minimum).
PARSE_REPEATS = int(os.environ.get("GENAI_DAG_PARSE_REPEATS", "5"))

#: An import this slow is worth naming when a file is over budget.
_NOTABLE_IMPORT_S = 0.05

_PROBE = r"""
import json, os, sys, tempfile, time, runpy
import airflow.sdk  # baseline: Airflow's own import cost is not the DAG file's
from airflow.sdk import dag, task, Param, Asset  # noqa
import include.platform.assets, include.platform.runtime  # noqa

def measure(path):
    trace = None
    if "importtime" in sys._xoptions:  # diagnosis run: keep only this file's -X importtime lines
        trace = tempfile.TemporaryFile()
        sys.stderr.flush()
        os.dup2(trace.fileno(), 2)
    before = set(sys.modules)
    start = time.perf_counter()
    error = None
    try:
        runpy.run_path(path, run_name="__dag_parse_probe__")
    except BaseException as exc:  # report, do not crash the probe
        error = f"{{type(exc).__name__}}: {{exc}}"
    elapsed = time.perf_counter() - start
    heavy = sorted({{m.split(".")[0] for m in set(sys.modules) - before}} & set({heavy!r}))
    result = {{"seconds": elapsed, "heavy": heavy, "error": error}}
    if trace is not None:
        sys.stderr.flush()
        trace.seek(0)
        result["importtime"] = trace.read().decode(errors="replace")
    return result

def parse_once(path):
    # One fork per parse: every parse starts from the same warm baseline, so a heavy import in one
    # file cannot hide (or be blamed on) another, and Airflow is imported only once per probe.
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            with os.fdopen(write_fd, "wb") as out:  # buffered: writes all of a long importtime trace
                out.write(json.dumps(measure(path)).encode())
        finally:
            os._exit(0)  # never fall back into the parent's loop, whatever happened
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{{"seconds": null, "heavy": [], "error": "probe child died"}}')

failed = set()
for _ in range({repeats}):
    # Rounds over all files, not all repeats of one file back to back: a burst of load on the
    # machine then slows one sample of several files instead of every sample of one.
    for path in {paths!r}:
        if path not in failed:
            result = parse_once(path)
            if result["error"]:
                failed.add(path)
            print("PROBE" + json.dumps({{"path": path, **result}}), flush=True)
"""


def dag_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("**/*.py") if not p.name.startswith("_"))


def _run_probe(paths: list[Path], repeats: int, importtime: bool = False) -> dict[Path, list[dict]]:
    code = _PROBE.format(root=str(ROOT), paths=[str(p) for p in paths], heavy=HEAVY_MODULES, repeats=repeats,
                         folders=sorted({str(p.parent) for p in paths}))
    flags = ["-X", "importtime"] if importtime else []
    # The project root and each DAG folder on PYTHONPATH, as Airflow puts the DAG folder on sys.path.
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *sorted({str(p.parent) for p in paths})])
    proc = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, timeout=600,
                          env=env)
    samples: dict[Path, list[dict]] = {Path(p): [] for p in paths}
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE"):
            data = json.loads(line[5:])
            samples[Path(data.pop("path"))].append(data)
    for runs in samples.values():
        if not runs:
            runs.append({"seconds": None, "heavy": [], "error": f"probe crashed: {proc.stderr[-2000:]}"})
    return samples


def slowest_imports(importtime_text: str) -> dict:
    """What ``-X importtime`` says a parse spent its time importing.

    ``heaviest``: the newly imported top-level package with the largest cumulative time (the one to
    move into a task), ``via``: the import in the DAG file that pulled it in (when not itself),
    ``total_s``: all imports together, ``slowest``: the three slowest imports the file made itself.
    """
    entries = []  # (cumulative s, depth, name) in the order -X importtime prints: children first
    for line in importtime_text.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|", 2)
        entries.append((int(cumulative) / 1e6, (len(name) - len(name.lstrip())) // 2, name.strip()))
    if not entries:
        return {"heaviest": None, "heaviest_s": 0.0, "via": None, "total_s": 0.0, "slowest": []}
    top = min(depth for _, depth, _ in entries)
    own = sorted(((cum, name) for cum, depth, name in entries if depth == top), reverse=True)
    summary = {"heaviest": None, "heaviest_s": 0.0, "via": None, "total_s": sum(cum for cum, _ in own),
               "slowest": [(name, cum) for cum, name in own[:3]]}
    roots = [(cum, i) for i, (cum, _, name) in enumerate(entries) if "." not in name]
    if roots:
        cum, index = max(roots)
        name = entries[index][2]
        via = next(n for _, depth, n in entries[index:] if depth == top)
        summary |= {"heaviest": name, "heaviest_s": cum, "via": None if via == name else via}
    return summary


def parse_costs(paths: list[Path], repeats: int = PARSE_REPEATS, budget_s: float = PARSE_BUDGET_S) -> dict[Path, dict]:
    """Parse each DAG file ``repeats`` times from a warm interpreter; per file: the fastest parse.

    The minimum, not the mean or median: on a shared 2-core machine noise only ever *adds* time
    (another process on the core, page faults, GC), so the fastest parse is the best estimate of
    what the file itself costs, and a steady load that slows most samples cannot fail a clean file.
    A real heavy import cannot hide behind it: pydantic-ai or pandas is slow in every sample.
    Files over ``budget_s`` are parsed once more under ``-X importtime`` to name the import to blame.

    Per file: ``seconds`` (min), ``samples``, ``heavy`` (modules from :data:`HEAVY_MODULES`),
    ``error``, and for files over budget ``imports`` (see :func:`slowest_imports`).
    """
    results: dict[Path, dict] = {}
    for path, runs in _run_probe(paths, repeats).items():
        seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
        error = next((r["error"] for r in runs if r["error"]), None)
        results[path] = {"seconds": min(seconds) if seconds else None, "samples": seconds,
                         "heavy": sorted({m for r in runs for m in r["heavy"]}), "error": error}
    slow = [p for p, r in results.items() if not r["error"] and r["seconds"] is not None and r["seconds"] > budget_s]
    if slow:
        for path, runs in _run_probe(slow, repeats=1, importtime=True).items():
            results[path]["imports"] = slowest_imports(runs[0].get("importtime", ""))
    return results


def file_problems(name: str, result: dict, budget_s: float = PARSE_BUDGET_S) -> list[str]:
    """The parse-cost problems of one file, each naming the file (and the import to blame)."""
    problems = []
    if result["heavy"]:
        problems.append(f"{name}: imports {', '.join(result['heavy'])} at parse time; "
                        "move the import inside the task function")
    if result["seconds"] is not None and result["seconds"] > budget_s:
        imports = result.get("imports") or {}
        if imports.get("heaviest") and imports["heaviest_s"] >= _NOTABLE_IMPORT_S:
            via = f" via {imports['via']}" if imports.get("via") else ""
            blame = (f"heaviest import: {imports['heaviest']} {imports['heaviest_s']:.2f}s{via}; "
                     "move it into the task that needs it")
        elif imports.get("total_s", 0.0) >= result["seconds"] / 2:
            slowest = ", ".join(f"{n} {c:.2f}s" for n, c in imports["slowest"])
            blame = (f"imports take {imports['total_s']:.2f}s of it, none heavy alone (slowest: {slowest}); "
                     "import less at module level")
        else:
            blame = (f"imports take only {imports.get('total_s', 0.0):.2f}s of it; "
                     "move I/O and work at module level into tasks")
        problems.append(f"{name}: parse took {result['seconds']:.2f}s (fastest of {len(result['samples'])}; "
                        f"budget {budget_s:.2f}s); {blame}")
    if result["error"]:
        problems.append(f"{name}: fails to import: {result['error']}")
    return problems


def parse_cost_problems(folder: Path, budget_s: float = PARSE_BUDGET_S, repeats: int = PARSE_REPEATS) -> list[str]:
    problems = []
    for path, result in parse_costs(dag_files(folder), repeats=repeats, budget_s=budget_s).items():
        problems += file_problems(str(path.relative_to(folder)), result, budget_s)
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


def _leaves(condition) -> list:
    """Every Asset, AssetRef or AssetAlias inside a schedule's asset expression (``a | (b & c)``)."""
    if condition is None:
        return []
    if hasattr(condition, "objects"):  # AssetAny / AssetAll
        return [leaf for obj in condition.objects for leaf in _leaves(obj)]
    return [condition]


def _label(leaf) -> str:
    """How a scheduled asset is named in a message and matched to producers: ``kind:identifier``."""
    from airflow.sdk import Asset, AssetAlias

    if isinstance(leaf, Asset):
        return f"asset:{leaf.name}"
    if isinstance(leaf, AssetAlias):
        return f"alias:{leaf.name}"
    if getattr(leaf, "name", None):  # AssetNameRef
        return f"asset:{leaf.name}"
    return f"uri:{leaf.uri}"  # AssetUriRef


def scheduled_assets(dag) -> list:
    """The assets a DAG's schedule waits on, whether ``schedule=[a]``, ``a | b`` or ``AssetOrTimeSchedule``."""
    return _leaves(getattr(dag.timetable, "asset_condition", None))


def asset_producers(dagbag) -> dict[str, list[str]]:
    """``kind:identifier`` → who produces it: ``dag_id.task_id`` for task outlets, ``watcher:<name>`` for
    AssetWatchers (an external arrival the triggerer turns into an event)."""
    from airflow.sdk import Asset

    producers: dict[str, list[str]] = {}
    for dag_id, dag in sorted(dagbag.dags.items()):
        for task in dag.tasks:
            for outlet in task.outlets or []:
                labels = [_label(outlet)]
                if isinstance(outlet, Asset):
                    labels.append(f"uri:{outlet.uri}")
                for label in labels:
                    producers.setdefault(label, []).append(f"{dag_id}.{task.task_id}")
        for leaf in scheduled_assets(dag):
            for watcher in getattr(leaf, "watchers", None) or []:
                for label in (_label(leaf), f"uri:{leaf.uri}"):
                    producers.setdefault(label, []).append(f"watcher:{watcher.name}")
    return producers


def asset_graph_problems(dagbag) -> list[str]:
    """One message per asset a DAG is scheduled on that no task outlet and no AssetWatcher produces.

    Such a DAG never runs on its schedule (or, with AssetOrTimeSchedule, only on the clock): the
    graph in the UI promises a dependency that nothing honours.
    """
    producers = asset_producers(dagbag)
    problems = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        for leaf in scheduled_assets(dag):
            label = _label(leaf)
            if label not in producers:
                kind, ident = label.split(":", 1)
                problems.append(f"{Path(dag.fileloc).name} ({dag_id}): scheduled on {kind} {ident!r} that no "
                                "task outlet and no AssetWatcher produces; add it to the producing task's "
                                "outlets, give the asset a watcher, or drop it from the schedule")
    return problems


def _watcher_signature(asset) -> tuple:
    return tuple(sorted((w.name, repr(w.trigger.serialize())) for w in getattr(asset, "watchers", None) or []))


def asset_watcher_problems(dagbag) -> list[str]:
    """One message per asset whose references (schedules, outlets, inlets) carry different watchers.

    The dag-processor syncs an asset's watchers from every DAG file that mentions it, so a producer
    naming the bare asset deletes the trigger a consumer's watcher created, and the watcher flaps.
    """
    from airflow.sdk import Asset

    signatures: dict[str, dict[tuple, set[str]]] = {}
    for dag_id, dag in sorted(dagbag.dags.items()):
        refs = list(scheduled_assets(dag))
        for task in dag.tasks:
            refs += list(task.outlets or []) + list(task.inlets or [])
        for ref in refs:
            if isinstance(ref, Asset):
                signatures.setdefault(ref.name, {}).setdefault(_watcher_signature(ref), set()).add(dag_id)
    problems = []
    for name, by_signature in sorted(signatures.items()):
        if len(by_signature) > 1:
            with_w = sorted(d for sig, dags in by_signature.items() if sig for d in dags)
            without = sorted(d for sig, dags in by_signature.items() if not sig for d in dags)
            problems.append(f"asset {name!r}: watchers differ between references (with watchers: {with_w}; "
                            f"without: {without}); define the asset once with its watchers and use that "
                            "object in every DAG file (include/platform/assets.py lake_watched)")
    return problems


#: Statements a task body may hold (imports, docstring and ``pass`` not counted; nested blocks are).
#: A thin task resolves its context, builds the typed config, calls one step function and returns:
#: ``dags/cloud_cost_report.py`` needs 1-2. Logic beyond that belongs in ``include/``.
TASK_BODY_BUDGET = int(os.environ.get("GENAI_TASK_BODY_BUDGET", "5"))


def _is_task_decorator(decorator) -> bool:
    import ast

    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id == "task"


def _statements(body) -> int:
    import ast

    count = 0
    for i, stmt in enumerate(body):
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str):
            continue  # the docstring
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.stmt) and not isinstance(sub, (ast.Import, ast.ImportFrom, ast.Pass)):
                count += 1
    return count


def task_body_problems(folder: Path, budget: int = TASK_BODY_BUDGET) -> list[str]:
    """Every ``@task``/``@task.<kind>`` function in the folder's DAG files within the statement budget."""
    import ast

    problems = []
    for path in dag_files(folder):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and any(_is_task_decorator(d) for d in node.decorator_list):
                n = _statements(node.body)
                if n > budget:
                    problems.append(f"{path.name}:{node.lineno} task {node.name!r} has {n} statements (budget "
                                    f"{budget}): move the logic into a step function in include/ and call it")
    return problems


def param_form_problems(dagbag) -> list[str]:
    """Every Param sits in a form section (``section=``), so a 20-field trigger form is grouped."""
    problems = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        where = f"{Path(dag.fileloc).name} ({dag_id})"
        unsectioned = sorted(key for key, param in dag.params.items() if not param.schema.get("section"))
        if unsectioned:
            problems.append(f"{where}: Params without section= {unsectioned} (declare them with "
                            "include.platform.config.knob(section=...))")
    return problems
