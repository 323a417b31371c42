#!/usr/bin/env bash
# `make test`: lint + the Astro parse test + the offline pytest suite (no services needed).
# Extra pytest arguments pass through: `make test ARGS="-k sentiment"`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1

echo "==> ruff"
ruff check dags include plugins tests bench scripts .astro
ruff check --preview --select AIR dags include plugins

echo "==> Astro parse test (.astro/test_dag_integrity_default.py, as 'astro dev parse' runs it)"
parse_home="$(mktemp -d)"
trap 'rm -rf "$parse_home"' EXIT
AIRFLOW_HOME="$parse_home" AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags" AIRFLOW__CORE__LOAD_EXAMPLES=False \
  AIRFLOW__CORE__PLUGINS_FOLDER="$PWD/plugins" \
  python -m pytest .astro/test_dag_integrity_default.py -q -p no:cacheprovider --rootdir .astro

echo "==> pytest (offline suite)"
set +e
python -m pytest tests -m "not services" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests (exit 5): treated as success"; rc=0
fi
exit "$rc"
