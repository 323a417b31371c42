"""Every import the project's code can reach must resolve in the image's environment.

Run by ``scripts/check_image_deps.sh`` with the throwaway image venv's Python (see
docs/image-check.md). Task code imports its heavy libraries inside functions, so neither the parse
test nor a couple of DAG runs reach every import; this reads each ``import`` statement of the given
folders (function bodies included) and imports the module it names, then imports every project
module. Imports inside ``if TYPE_CHECKING:`` or a ``try`` that catches ImportError are optional by
design: they are listed, never failed. Exit status 1 names each missing module and where it is used.

Usage: python scripts/check_image_imports.py <folder>...   (e.g. dags include plugins)
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass
class Found:
    """Import targets of the scanned code: module -> names imported from it -> where (file:line)."""

    required: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    optional: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _catches_import_error(node: ast.Try) -> bool:
    """A ``try`` whose handlers catch ImportError makes the imports in its body optional."""
    for handler in node.handlers:
        if handler.type is None:
            return True
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(k, ast.Name) and k.id in _IMPORT_ERRORS for k in kinds):
            return True
    return False


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Visitor(ast.NodeVisitor):
    """Collects absolute imports, noting whether each sits in an optional (guarded) block."""

    def __init__(self, where: str, found: Found) -> None:
        self.where, self.found, self.guarded = where, found, 0

    def visit_Try(self, node: ast.Try) -> None:
        optional = _catches_import_error(node)
        self.guarded += optional
        for child in node.body:
            self.visit(child)
        self.guarded -= optional
        for child in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(child)

    def visit_If(self, node: ast.If) -> None:
        optional = _is_type_checking(node)
        self.guarded += optional
        for child in node.body:
            self.visit(child)
        self.guarded -= optional
        for child in node.orelse:
            self.visit(child)

    def _add(self, module: str, names: list[str], line: int) -> None:
        where = f"{self.where}:{line}"
        if self.guarded:
            self.found.optional[module].append(where)
            return
        for name in names or [""]:
            self.found.required[module][name].append(where)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, [], node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:  # relative imports stay inside the project
            self._add(node.module, [a.name for a in node.names if a.name != "*"], node.lineno)


def scan(folders: list[Path]) -> Found:
    found = Found()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            where = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
            _Visitor(where, found).visit(ast.parse(path.read_text(), filename=where))
    return found


def _resolve(module: str, names: dict[str, list[str]]) -> list[tuple[str, str, list[str]]]:
    """Import ``module`` and each name taken from it; return (target, error, where) per failure."""
    every = sorted({w for ws in names.values() for w in ws})
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any failure to import is the finding
        return [(module, f"{type(exc).__name__}: {exc}", every)]
    failures = []
    for name, where in names.items():
        if not name or hasattr(mod, name):
            continue
        try:
            importlib.import_module(f"{module}.{name}")  # `from pkg import submodule`
        except Exception as exc:  # noqa: BLE001
            failures.append((f"{module}.{name}", f"{type(exc).__name__}: {exc}", where))
    return failures


def project_modules(folders: list[Path]) -> list[str]:
    """Dotted names of the project's own modules (plugins/ is on sys.path, as Airflow puts it)."""
    names = []
    for folder in folders:
        base = ROOT if (folder / "__init__.py").exists() else folder
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def main(argv: list[str]) -> int:
    folders = [(ROOT / a).resolve() for a in argv] or [ROOT / "dags", ROOT / "include", ROOT / "plugins"]
    for folder in folders:  # plugins/ and dags/ are on sys.path at run time; include/ sits under ROOT
        if not (folder / "__init__.py").exists():
            sys.path.insert(0, str(folder))
    sys.path.insert(0, str(ROOT))
    own = {m.split(".")[0] for m in project_modules(folders)} | {"include", "tests", "scripts"}

    found = scan(folders)
    failures = []
    external = sorted(m for m in found.required if m.split(".")[0] not in own)
    for module in external:
        failures += _resolve(module, found.required[module])
    # DAG files are imported by the parse test (with its mocks); import the rest here.
    importable = project_modules([f for f in folders if f.name != "dags"])
    for module in importable:
        failures += _resolve(module, {"": [module]})

    optional_missing = []
    for module, where in sorted(found.optional.items()):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - optional by design: reported only
            optional_missing.append(f"{module} ({where[0]})")

    print(f"{len(external)} external modules imported by the code, {len(importable)} project modules: "
          f"{len(failures)} failure(s)")
    if optional_missing:
        print("optional imports absent (guarded by try/except ImportError or TYPE_CHECKING): "
              + ", ".join(optional_missing))
    for target, error, where in failures:
        print(f"MISSING {target}: {error}\n    used at {', '.join(where[:5])}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
