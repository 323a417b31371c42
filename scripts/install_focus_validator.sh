#!/usr/bin/env bash
# Install focus-validator 1.0.0 (the FinOps Foundation's FOCUS conformance checker) into its own venv,
# .tools/focus-validator/ (git-ignored), from the pins in requirements/focus-validator.txt.
#
# Why its own venv: 1.0.0 (the only release pip offers on Python 3.11) pins pandera 0.17 and numpy 1.x
# and breaks with multimethod 2.x, none of which can share Airflow's venv. Everything is installed
# with --no-deps from the pin file, so the set is exactly the one tested. Idempotent: nothing to do
# when the venv already holds the pinned set (a stamp records the pin file's hash). Called by
# scripts/install_tools.sh (`make tools`); tests/include/costs/test_focus_conformance.py skips,
# naming this script, while the venv is absent.
#
# The validator opens its currency list at the relative path focus_validator/utils/currency_codes.csv:
# run it from the folder that holds its package (include/costs/conformance.py does; so does the
# `focus-validate` wrapper this script writes next to the venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
VENV="$TOOLS_DIR/focus-validator"
PINS="$ROOT/requirements/focus-validator.txt"
STAMP="$VENV/.pins.sha256"
PYTHON="${FOCUS_VALIDATOR_PYTHON:-}"

want="$(sha256sum "$PINS" | cut -d' ' -f1)"
if [ -x "$VENV/bin/focus-validator" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "focus-validator already installed in $VENV (nothing to do)"
  exit 0
fi

if [ -z "$PYTHON" ]; then
  # 1.0.0 supports Python 3.8-3.11; prefer the interpreter behind the project's venv (3.11).
  for candidate in "$ROOT/.venv/bin/python3.11" python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "no Python 3.11 found: skipping focus-validator (set FOCUS_VALIDATOR_PYTHON); the FOCUS" \
       "conformance test is skipped until it is installed."
  exit 0
fi

echo "installing focus-validator into $VENV (pins: requirements/focus-validator.txt)"
rm -rf "$VENV"
# The venv's base interpreter, not a venv's own python: a venv built from a venv breaks when that venv moves.
BASE="$("$PYTHON" -c 'import sys; print(sys._base_executable)')"
"$BASE" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$PINS"
"$VENV/bin/python" -m pip check >/dev/null  # the pinned set is complete and consistent
site="$("$VENV/bin/python" -c 'import focus_validator, os; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))')"
test -f "$site/focus_validator/utils/currency_codes.csv"
cat > "$VENV/focus-validate" <<WRAP
#!/usr/bin/env bash
# focus-validator run from its package folder, so its relative currency-list path resolves.
# Usage: focus-validate FILE.csv [extra focus-validator args]; FILE is resolved before the cd.
set -euo pipefail
file="\$(realpath "\$1")"; shift
cd "$site" && exec "$VENV/bin/focus-validator" --data-file "\$file" --validate-version 1.0 "\$@"
WRAP
chmod +x "$VENV/focus-validate"
echo "$want" > "$STAMP"
echo "focus-validator $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("focus-validator"))') ready: $VENV/focus-validate FILE.csv"
