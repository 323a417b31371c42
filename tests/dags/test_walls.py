"""The walls between dags/, include/ and plugins/, checked on the source so they cannot erode silently.

* **plugins/ holds only Airflow classes.** Rule: every top-level name a module under ``plugins/``
  binds (``class``, ``def``, assignment) is private (``_name``), the module logger ``log``, or a
  class deriving from ``BaseOperator`` / ``BaseSensorOperator`` / ``BaseTrigger`` /
  ``BaseOperatorLink`` / ``AirflowPlugin``; package ``__init__`` files hold a docstring only. And
  what other code imports from the plugins namespace is one of those classes, so nothing is
  re-exported either. Pure logic (NVML readings, admission maths, bake statistics) lives in include/.
* **One namespace.** plugins/ holds the plugin entry file(s) and one package, ``genai_airflow``;
  no top-level package there can shadow an ``include.<domain>`` name.
* **No sys.path edits** in any Python file: Airflow puts the plugins folder on ``sys.path`` and
  ``PYTHONPATH`` carries the project root (make targets, the Astro image).
* **include/ never imports plugins/.**
* **Contracts live with their domain**: the churn features and the sentiment labels are defined in
  include/retraining and include/sentiment; include/demo imports them, and no domain module gets a
  contract by way of include/demo.
* **Trigger classpaths import in the triggerer**: each trigger's ``serialize()`` path imports in a fresh
  process set up like the triggerer, without pulling heavy libraries into its event loop's process.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
NAMESPACE = "genai_airflow"
SKIP_DIRS = {".venv", ".git", ".airflow", ".tools", "data", "logs", "artifacts", "node_modules", "__pycache__"}

#: Files that still edit sys.path; each must be fixed by its owner and then removed from this list
#: (the test fails when a listed file no longer edits sys.path, so the list can only shrink).
SYS_PATH_PENDING = {
    # The one exemption: the image check imports arbitrary folders named on its command line and puts
    # them on sys.path exactly as Airflow does for dags/ and plugins/ (it emulates that loader).
    "scripts/check_image_imports.py": "emulates Airflow's own sys.path set-up for the folders it is given",
}

_SYS_PATH_IN_TEXT = re.compile(r"\bsys\.path\s*(\.\s*(insert|append|extend|remove|pop|clear)\s*\(|\[[^\]]*\]\s*=|\+?=[^=])"
                               r"|\bsite\.addsitedir\s*\(")


def _python_files(folder: Path) -> list[Path]:
    """``*.py`` under ``folder``, not descending into virtualenvs, data or caches."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        out += [Path(dirpath) / f for f in filenames if f.endswith(".py")]
    return sorted(out)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _plugin_modules() -> dict[str, Path]:
    """Dotted module name (as importable with plugins/ on sys.path) -> file."""
    out = {}
    for path in _python_files(PLUGINS):
        parts = path.relative_to(PLUGINS).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _bound_names(tree: ast.Module) -> list[tuple[str, str, int]]:
    """(kind, name, line) for every name a module binds at top level, imports excepted."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out.append(("class", node.name, node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(("function", node.name, node.lineno))
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        out.append(("assignment", name.id, node.lineno))
    return out


def _extension_bases() -> tuple[type, ...]:
    from airflow.plugins_manager import AirflowPlugin
    from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator
    from airflow.triggers.base import BaseTrigger

    return BaseOperator, BaseSensorOperator, BaseTrigger, BaseOperatorLink, AirflowPlugin


def _is_fastapi_app(value) -> bool:
    from fastapi import FastAPI

    return isinstance(value, FastAPI)


def _import_plugin_module(name: str):
    import importlib

    import airflow  # noqa: F401 - puts the plugins folder on sys.path, as in every Airflow process

    return importlib.import_module(name)


# ----------------------------------------------------------------------------- plugins/: Airflow classes only
def test_plugins_folder_holds_entry_files_and_one_namespaced_package():
    entries = sorted(p.name for p in PLUGINS.iterdir() if p.name not in {"__pycache__", ".airflowignore"})
    packages = [name for name in entries if (PLUGINS / name).is_dir()]
    assert packages == [NAMESPACE], f"plugins/ may hold one package, {NAMESPACE}/; found {packages}"
    include_domains = {p.name for p in (ROOT / "include").iterdir() if (p / "__init__.py").exists()}
    top_level = {Path(name).stem for name in entries}
    assert not top_level & include_domains, "a top-level plugin module shadows an include/<domain> name"


@pytest.mark.parametrize("module", sorted(_plugin_modules()))
def test_plugin_modules_define_only_airflow_extension_classes(module):
    path = _plugin_modules()[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    if path.name == "__init__.py":
        assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in tree.body), (
            f"{_rel(path)}: a package __init__ holds its docstring only (import classes from their modules)")
        return
    public = [(kind, name, line) for kind, name, line in _bound_names(tree)
              if not name.startswith("_") and name != "log"]
    mod = _import_plugin_module(module)
    # A plugin's FastAPI app (``fastapi_apps``: the API server mounts it) is an extension, not a class.
    apps = {name for kind, name, _ in public if kind == "assignment" and _is_fastapi_app(getattr(mod, name, None))}
    public = [(kind, name, line) for kind, name, line in public if name not in apps]
    not_classes = [f"{_rel(path)}:{line} {kind} {name}" for kind, name, line in public if kind != "class"]
    assert not not_classes, f"plain logic belongs in include/ (or make it private): {not_classes}"
    bases = _extension_bases()
    strays = [name for _, name, _ in public if not issubclass(getattr(mod, name), bases)]
    assert not strays, f"{_rel(path)}: classes that are no Airflow extension: {strays}"


def test_code_takes_only_airflow_classes_from_the_plugins_namespace():
    """What dags/, include/, tests/, bench/ and scripts/ import from genai_airflow is an extension class."""
    bases = _extension_bases()
    wrong = []
    for folder in ("dags", "include", "tests", "bench", "scripts", "plugins"):
        for path in _python_files(ROOT / folder):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{NAMESPACE}.")):
                    continue
                mod = _import_plugin_module(node.module)
                for alias in node.names:
                    value = getattr(mod, alias.name, None)
                    if not (isinstance(value, type) and issubclass(value, bases)) and not (
                            path.parent == PLUGINS and _is_fastapi_app(value)):  # the plugin registers its app
                        wrong.append(f"{_rel(path)}:{node.lineno} {node.module}.{alias.name}")
    assert not wrong, f"imported from plugins but not an Airflow class (move it to include/): {wrong}"


# ----------------------------------------------------------------------------- sys.path, include -> plugins
def _edits_sys_path(path: Path) -> list[int]:
    """Lines where ``path`` changes sys.path, in its code or in code it carries as a string."""
    text = path.read_text()
    if "sys.path" not in text and "addsitedir" not in text:
        return []
    lines = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if owner == "sys.path" or (owner == "site" and node.func.attr == "addsitedir"):
                lines.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(ast.unparse(t).split("[")[0] == "sys.path" for t in targets):
                lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _SYS_PATH_IN_TEXT.search(node.value):
            lines.append(node.lineno)
    return sorted(lines)


def test_no_python_file_edits_sys_path():
    edits = {}
    for path in _python_files(ROOT):
        lines = _edits_sys_path(path)
        if lines:
            edits[_rel(path)] = lines
    unexpected = {f: lines for f, lines in edits.items() if f not in SYS_PATH_PENDING}
    assert not unexpected, ("sys.path edited (Airflow puts plugins/ on sys.path; PYTHONPATH carries the project "
                            f"root): {unexpected}")
    fixed = sorted(set(SYS_PATH_PENDING) - set(edits))
    assert not fixed, f"no longer edit sys.path: remove them from SYS_PATH_PENDING: {fixed}"


def test_the_sys_path_check_catches_every_spelling(tmp_path):
    sample = tmp_path / "sample.py"
    code = ("import sys, site\nSP.insert(0, 'x')\nSP.append('y')\nSP += ['z']\nSP[:0] = ['w']\n"
            "SITE('v')\nPROBE = 'import sys; SP.insert(0, \"u\")'\nprint(SP)\nfound = 'x' in SP\n")
    sample.write_text(code.replace("SP", "sys.path").replace("SITE", "site.addsitedir"))  # spelled so that this file itself stays clean
    assert _edits_sys_path(sample) == [2, 3, 4, 5, 6, 7]


def test_include_never_imports_plugins():
    plugin_tops = {Path(name).stem for name in os.listdir(PLUGINS) if not name.startswith((".", "_"))} | {"plugins"}
    found = []
    for path in _python_files(ROOT / "include"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            found += [f"{_rel(path)}:{node.lineno} {n}" for n in names if n.split(".")[0] in plugin_tops]
    assert not found, f"include/ is plain Python and must not import Airflow plugin modules: {found}"


# ----------------------------------------------------------------------------- contracts
def test_feature_and_label_contracts_live_with_their_domain():
    from include import sentiment
    from include.demo import customers, feedback
    from include.retraining import features
    from include.sentiment import labeled_set

    assert customers.TARGET is features.TARGET
    assert feedback.LABELS is sentiment.LABELS and labeled_set.LABELS is sentiment.LABELS
    assert feedback.PHRASES is labeled_set.PHRASES and feedback.labeled_examples is labeled_set.labeled_examples


def _top_level_definitions(path: Path) -> set[str]:
    return {name for _, name, _ in _bound_names(ast.parse(path.read_text(), filename=str(path)))}


def test_domains_take_nothing_from_demo_that_demo_does_not_define():
    """A domain may use a demo *generator* as a fallback, never get a contract by way of include/demo."""
    borrowed = []
    for path in _python_files(ROOT / "include"):
        if _rel(path).startswith("include/demo/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("include.demo."):
                source = ROOT / (node.module.replace(".", "/") + ".py")
                defined = _top_level_definitions(source)
                borrowed += [f"{_rel(path)}:{node.lineno} {node.module}.{a.name}" for a in node.names
                             if a.name not in defined]
    assert not borrowed, f"import these from the domain that owns them: {borrowed}"


# ----------------------------------------------------------------------------- triggers in the triggerer
def _example_triggers() -> list:
    """One instance of every trigger class under plugins/ (a new trigger must be added here)."""
    from genai_airflow.canary.triggers import CanaryBakeTrigger
    from genai_airflow.gpu.triggers import GPUUtilizationTrigger
    from genai_airflow.lake.triggers import LakePrefixTrigger

    return [GPUUtilizationTrigger(threshold=70), CanaryBakeTrigger(weight=10, bake_seconds=1, max_step_seconds=2,
                                                                   min_requests=1),
            LakePrefixTrigger(zone="raw", parts=["features"])]


_TRIGGERER_PROBE = """
import json, sys
import airflow  # what every Airflow process does first: puts plugins_folder on sys.path
from airflow.sdk.module_loading import import_string
before = set(sys.modules)
classes = [import_string(path).__name__ for path in json.loads(sys.argv[1])]
heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(json.loads(sys.argv[2])))
print(json.dumps({"classes": classes, "heavy": heavy}))
"""


def test_every_trigger_classpath_imports_in_a_process_set_up_like_the_triggerer(tmp_path):
    import airflow  # noqa: F401
    from airflow.triggers.base import BaseTrigger

    examples = _example_triggers()
    declared = set()
    for module in _plugin_modules():
        mod = _import_plugin_module(module)
        declared |= {f"{module}.{n}" for n, v in vars(mod).items()
                     if isinstance(v, type) and issubclass(v, BaseTrigger) and v.__module__ == module}
    classpaths = [t.serialize()[0] for t in examples]
    assert set(classpaths) == declared, "give every trigger class an example in _example_triggers()"
    assert all(cp.startswith(f"{NAMESPACE}.") for cp in classpaths)
    # The triggerer's environment: Airflow's plugins_folder and the project root on PYTHONPATH (make start,
    # the Astro image); not the test session's sys.path, and not this checkout as working directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {"PYTHONPATH": str(ROOT), "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    heavy = ["torch", "transformers", "pandas", "numpy", "scipy", "sklearn", "pynvml"]
    out = subprocess.run([sys.executable, "-c", _TRIGGERER_PROBE, json.dumps(classpaths), json.dumps(heavy)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["classes"] == [cp.rsplit(".", 1)[1] for cp in classpaths]
    assert result["heavy"] == [], f"importing a trigger loads {result['heavy']} into the triggerer"


def _raw_params_reads(path: Path) -> list[int]:
    """Lines where a module indexes ``params[...]`` or calls ``params.get(...)`` (the run's Params dict)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        target = None
        if isinstance(node, ast.Subscript):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            target = node.func.value
        if isinstance(target, ast.Name) and target.id == "params":
            lines.append(node.lineno)
    return lines


def test_include_never_reads_the_raw_params_dict():
    """Tasks turn Params into a typed config (include/platform/config.py); include/ takes that config."""
    found: dict[str, list[str]] = {}
    for path in _python_files(ROOT / "include"):
        if path.name == "config.py":
            continue
        for line in _raw_params_reads(path):
            domain = "/".join(_rel(path).split("/")[:2])
            found.setdefault(domain, []).append(f"{_rel(path)}:{line}")
    assert not found, f"include/ reads the raw Params dict: {found}"
