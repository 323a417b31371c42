#!/usr/bin/env bash
# `make venv`: create/update .venv from the committed lock (constraints.txt), offline-friendly.
# uv installs in ~15 s from its cache (pip takes minutes); pip is the fallback. torch stays at the
# 2.13.0 CPU build: its wheel is found through pip's configured find-links (uv does not read pip's
# config, so we pass that folder explicitly), otherwise a multi-GB CUDA build would be downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
UV_VERSION=0.13.9
STAMP=.venv/.installed
# Bump STAMP_VERSION when this script changes how the venv is built, so existing venvs are redone.
STAMP_VERSION=2
want="$( (echo "$STAMP_VERSION"; cat requirements.txt requirements/*.in constraints.txt) | sha256sum | cut -c1-16)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x .venv/bin/airflow ]; then
  echo "venv up to date (.venv)"; exit 0
fi
"$PY" -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), sys.version' || {
  echo "Python 3.11 or 3.12 is required (found $("$PY" --version))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv

find_links=()
for dir in ${PIP_FIND_LINKS:-} $("$PY" -m pip config get global.find-links 2>/dev/null || true); do
  [ -d "$dir" ] && find_links+=(--find-links "$dir")
done

.venv/bin/python -m pip install -q "uv==$UV_VERSION"
echo "==> Installing the locked environment (uv, constraints.txt)"
# --compile-bytecode: machines here export PYTHONDONTWRITEBYTECODE=1, so without .pyc files every
# process would recompile Airflow, torch and pandas from source on each import (seconds every time).
if ! .venv/bin/uv pip install --compile-bytecode --python .venv/bin/python -r requirements/local.in -c constraints.txt \
      "${find_links[@]}"; then
  echo "uv failed; falling back to pip (slower)" >&2
  .venv/bin/python -m pip install -r requirements/local.in -c constraints.txt
fi
# uv skips files it did not install; compile anything left (idempotent, quick when done).
.venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages > /dev/null 2>&1 || true
.venv/bin/python -c 'import torch, airflow; assert torch.__version__.startswith("2.13.0"), torch.__version__'
echo "$want" > "$STAMP"
echo "venv ready: $(.venv/bin/airflow version 2>/dev/null | tail -n 1) / torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
