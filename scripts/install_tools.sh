#!/usr/bin/env bash
# Install the project-local tools that are not Python packages into .tools/ (git-ignored).
#
# focus-validator: see scripts/install_focus_validator.sh (its own pinned venv, .tools/focus-validator/).
# pgserver: see scripts/install_pgserver.sh (PostgreSQL 16 + pgvector for a test, .tools/pgserver/).
# Azurite (the Azure Blob Storage emulator) from the npm registry, used by the
# `emulator`-marked integration tests (tests/integration/test_lake_on_clouds.py) to prove the
# lake and the model registry work on abfs://. Idempotent: does nothing when the pinned
# version is already installed. Without npm it says how to get it and exits 0, so `make tools`
# never breaks a machine that only runs the AWS/GCS emulator tests (the Azure test then skips).
set -euo pipefail

AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
PKG_JSON="$TOOLS_DIR/node_modules/azurite/package.json"

# focus-validator (Python, its own venv in .tools/focus-validator/) for the FOCUS conformance test.
TOOLS_DIR="$TOOLS_DIR" "$ROOT/scripts/install_focus_validator.sh"
# pgserver (PostgreSQL 16 + pgvector binaries, its own venv in .tools/pgserver/) for the pgvector store test.
TOOLS_DIR="$TOOLS_DIR" "$ROOT/scripts/install_pgserver.sh"
BIN="$TOOLS_DIR/node_modules/.bin/azurite-blob"

installed_version() {
  # Read the version from the installed package.json without needing jq.
  [ -f "$PKG_JSON" ] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$PKG_JSON" | head -n 1
}

if [ -x "$BIN" ] && [ "$(installed_version)" = "$AZURITE_VERSION" ]; then
  echo "azurite $AZURITE_VERSION already installed in $TOOLS_DIR (nothing to do)"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: skipping Azurite $AZURITE_VERSION. Install Node.js >= 18 (with npm) and rerun" \
       "'make tools' to enable the Azure (abfs://) emulator tests; they are skipped until then."
  exit 0
fi

echo "installing azurite $AZURITE_VERSION into $TOOLS_DIR (npm registry, about 20 s)"
mkdir -p "$TOOLS_DIR"
# --prefix keeps it out of the global npm folder; no package.json/lockfile is written to the repo.
npm install --prefix "$TOOLS_DIR" --no-save --no-audit --no-fund --loglevel=error \
  "azurite@$AZURITE_VERSION"

if [ ! -x "$BIN" ] || [ "$(installed_version)" != "$AZURITE_VERSION" ]; then
  echo "azurite install finished but $BIN (version $AZURITE_VERSION) is missing" >&2
  exit 1
fi
echo "azurite $(installed_version) ready: $BIN"
