"""scripts/check_image_imports.py: the import sweep `make check-image` runs in the image venv.

Runs the real script in a subprocess (it edits sys.path and imports modules) against small
plugin-style folders, so each finding is checked on code whose imports we know.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_image_imports.py"


def _run(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


def _write(folder: Path, name: str, code: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(code)


def test_a_lazy_import_of_a_missing_package_fails_and_names_where(tmp_path):
    folder = tmp_path / "plugins"
    _write(folder, "tasks.py", "import json\n\n\ndef run():\n    import genai_no_such_pkg_x1.sub\n    return json\n")

    result = _run(folder)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "MISSING genai_no_such_pkg_x1.sub: ModuleNotFoundError: No module named 'genai_no_such_pkg_x1'" \
        in result.stderr
    assert f"used at {folder / 'tasks.py'}:5" in result.stderr
    assert "2 external modules imported by the code, 1 project modules: 1 failure(s)" in result.stdout


def test_a_name_the_module_does_not_have_fails(tmp_path):
    folder = tmp_path / "plugins"
    _write(folder, "mod.py", "from json import genai_not_a_json_name\n")

    result = _run(folder)

    assert result.returncode == 1
    # The module itself imports, so the finding is the name; the project module fails on it too.
    assert "MISSING json.genai_not_a_json_name" in result.stderr
    assert "MISSING mod: ImportError: cannot import name 'genai_not_a_json_name' from 'json'" in result.stderr


def test_guarded_imports_are_reported_not_failed(tmp_path):
    folder = tmp_path / "plugins"
    _write(folder, "opt.py", "from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\n"
                             "try:\n    import genai_optional_x2\nexcept ImportError:\n    genai_optional_x2 = None\n"
                             "if TYPE_CHECKING:\n    import genai_types_only_x3\n")

    result = _run(folder)

    assert result.returncode == 0, result.stderr
    assert "0 failure(s)" in result.stdout
    assert "optional imports absent" in result.stdout
    assert "genai_optional_x2" in result.stdout and "genai_types_only_x3" in result.stdout


def test_packages_and_submodules_resolve(tmp_path):
    folder = tmp_path / "plugins"
    _write(folder / "pkg", "__init__.py", "")
    _write(folder / "pkg", "helpers.py", "from email import mime\nfrom os import path\nimport xml.etree.ElementTree\n")

    result = _run(folder)

    assert result.returncode == 0, result.stderr
    assert "3 external modules imported by the code, 2 project modules: 0 failure(s)" in result.stdout
