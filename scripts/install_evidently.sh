#!/usr/bin/env bash
# Install Evidently (the drift-quality bench's peer) into its own venv, .tools/evidently/ (git-ignored).
#
# Why a separate venv: evidently 0.7 pins its own pydantic / plotly / litellm / nltk stack, which
# must not touch the Airflow venv's pins. bench/drift_quality.py calls it in a subprocess
# (bench/peers/evidently_drift.py) and measures its *default* DataDriftPreset on the same scenarios as ours.
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail

EVIDENTLY_VERSION="${EVIDENTLY_VERSION:-0.7.23}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EVIDENTLY_VENV:-$ROOT/.tools/evidently}"
PY="$VENV/bin/python"
CONSTRAINTS="$ROOT/scripts/evidently-constraints.txt"

if [ -x "$PY" ] && [ "$("$PY" -c 'import evidently; print(evidently.__version__)' 2>/dev/null)" = "$EVIDENTLY_VERSION" ]; then
  echo "evidently $EVIDENTLY_VERSION already installed in $VENV (nothing to do)"
  exit 0
fi

echo "installing evidently $EVIDENTLY_VERSION into $VENV"
python3 -m venv "$VENV"
"$PY" -m pip install --quiet --upgrade "pip<27"
# scripts/evidently-constraints.txt is the full resolved set (pip freeze) of a working install.
# It pins pandas 2.3.3: evidently 0.7.23 allows pandas 3 but fails to import under it
# ("cannot import name 'infer_dtype_from_object' from 'pandas.core.dtypes.common'").
"$PY" -m pip install --quiet "evidently==$EVIDENTLY_VERSION" -c "$CONSTRAINTS"
"$PY" -c 'import evidently; print("evidently", evidently.__version__, "ready:", evidently.__file__)'
