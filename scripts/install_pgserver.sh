#!/usr/bin/env bash
# Install pgserver 0.1.4 (PostgreSQL 16 + pgvector binaries in a wheel) into its own venv, .tools/pgserver/
# (git-ignored), from the hash-pinned requirements/pgserver.txt.
#
# Why: the pgvector server path of the knowledge store (include/rag/stores/pgvector.py) needs a real
# PostgreSQL with the `vector` extension, and this Debian packages none for its PostgreSQL 15. The test
# (tests/services/test_knowledge_store_pgvector.py, fixture tests/fixtures/pgvector_server.py) runs
# initdb + pg_ctl from the wheel's pgserver/pginstall/bin on a free 127.0.0.1 port in a temporary data
# directory, and skips naming this script while the venv is absent. Test-only: never in the Astro image.
# Idempotent: nothing to do when the stamp matches the pin file's hash. Called by scripts/install_tools.sh
# (`make tools`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
VENV="$TOOLS_DIR/pgserver"
PINS="$ROOT/requirements/pgserver.txt"
STAMP="$VENV/.pins.sha256"
PYTHON="${PGSERVER_PYTHON:-}"

want="$(sha256sum "$PINS" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/pg_ctl" ]; then
  echo "pgserver already installed in $VENV (nothing to do)"
  exit 0
fi

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "pgserver's pinned wheel is manylinux x86_64 only: skipping; the pgvector store test is skipped."
  exit 0
fi
if [ -z "$PYTHON" ]; then
  # The wheel is cp311: prefer the interpreter behind the project's venv.
  for candidate in "$ROOT/.venv/bin/python3.11" python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "no Python 3.11 found: skipping pgserver (set PGSERVER_PYTHON); the pgvector store test is skipped."
  exit 0
fi

echo "installing pgserver into $VENV (pins: requirements/pgserver.txt, about 11 MB)"
rm -rf "$VENV"
BASE="$("$PYTHON" -c 'import sys; print(sys._base_executable)')"
"$BASE" -m venv --without-pip "$VENV" 2>/dev/null || "$BASE" -m venv "$VENV"
if [ ! -x "$VENV/bin/pip" ]; then rm -rf "$VENV"; "$BASE" -m venv "$VENV"; fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$PINS"
bin="$("$VENV/bin/python" -c 'import importlib.util, os; s = importlib.util.find_spec("pgserver"); print(os.path.join(os.path.dirname(s.origin), "pginstall", "bin"))')"
test -x "$bin/initdb" && test -x "$bin/pg_ctl" && test -x "$bin/postgres"
test -f "$bin/../lib/postgresql/vector.so"
# Stable paths for the fixture: .tools/pgserver/bin/{initdb,pg_ctl,postgres} link into the wheel.
# Relative links, so the tool folder survives being moved or reached through a symlink.
for tool in initdb pg_ctl postgres; do ln -sf "$(realpath --relative-to="$VENV/bin" "$bin/$tool")" "$VENV/bin/$tool"; done
"$VENV/bin/initdb" --version
echo "$want" > "$STAMP"
echo "pgserver $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pgserver"))') ready: $VENV/bin/pg_ctl"
