#!/usr/bin/env bash
# `make check-image`: the Docker path without Docker. Installs what the Astro image installs
# (apache-airflow 3.3.2 + requirements.txt + packages.txt; nothing from requirements/dev.in) into a
# clean venv, then imports everything our code imports (task bodies included), runs the Astro parse
# test and three real DAG runs. A package our code needs but requirements.txt forgets passes in .venv
# (which also holds the dev tools and their dependencies) and fails here. See docs/image-check.md.
#
# Env: IMAGE_CHECK_DIR=<dir> (work folder: venv, logs, lake; default ~/.cache/genai-airflow-pipelines/image-check),
#      IMAGE_CHECK_DAGS="seed train score" (DAG runs; default all three, "" = none).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
AIRFLOW_PIN="apache-airflow==3.3.2"   # what astrocrpublic.azurecr.io/runtime:3.3-2 ships (Dockerfile)
UV="$ROOT/.venv/bin/uv"
[ -x "$UV" ] || { echo "uv not found at $UV: run 'make venv' first" >&2; exit 1; }
SECONDS=0
step() { printf '==> [%3ss] %s\n' "$SECONDS" "$*"; }

# Outside the checkout, wiped at the start and kept at the end: its logs explain a failure, and
# deleting ~90k files costs over a minute on a shared disk (a fresh CI machine has nothing to wipe).
work="${IMAGE_CHECK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/genai-airflow-pipelines/image-check}"
venv="$work/venv"
step "wiping the previous check's files in $work"
rm -rf "$venv" "$work/home" "$work/data" "$work/parse-tools" "$work"/*.log
mkdir -p "$work"

step "packages.txt (apt packages the image's ONBUILD step installs)"
mapfile -t apt_pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' packages.txt | grep -v '^$' || true)
missing_apt=()
for pkg in "${apt_pkgs[@]}"; do
  dpkg -s "$pkg" > /dev/null 2>&1 || missing_apt+=("$pkg")
done
if [ "${#missing_apt[@]}" -gt 0 ]; then
  echo "installing: ${missing_apt[*]}"
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq "${missing_apt[@]}"
fi
echo "${#apt_pkgs[@]} apt package(s) listed, ${#missing_apt[@]} installed now"

step "clean venv ($venv): $AIRFLOW_PIN + requirements.txt, pinned by constraints.txt"
# `uv venv` seeds nothing (no pip, no setuptools), so nothing can hide a missing pkg_resources.
"$UV" venv -q --python "$PY" "$venv"
find_links=()
for dir in ${PIP_FIND_LINKS:-} $("$PY" -m pip config get global.find-links 2>/dev/null || true); do
  [ -d "$dir" ] && find_links+=(--find-links "$dir")
done
# Constraints only pin versions; they never add a package (the dev tools they also pin stay out).
"$UV" pip install -q --python "$venv/bin/python" "$AIRFLOW_PIN" -r requirements.txt -c constraints.txt \
  "${find_links[@]}"
"$UV" pip check -q --python "$venv/bin/python"
installed="$("$UV" pip list -q --python "$venv/bin/python" --format freeze | wc -l)"
echo "$installed distributions installed"

# Nothing from the dev set may ride along unless requirements.txt itself pulls it in.
dev_tops=(pytest pytest-timeout ruff moto gcp-storage-emulator aiosmtpd detect-secrets playwright)
leaked="$("$UV" pip list -q --python "$venv/bin/python" --format freeze | cut -d= -f1 | tr 'A-Z_' 'a-z-' \
          | grep -xF -f <(printf '%s\n' "${dev_tops[@]}") || true)"
if [ -n "$leaked" ]; then
  echo "dev-only tools in the image set (pulled in by requirements.txt?): $leaked" >&2; exit 1
fi

# The runtime environment of the checks: a private AIRFLOW_HOME, SQLite, a temp lake; no hub.
export AIRFLOW_HOME="$work/home" PYTHONPATH="$ROOT"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags" AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$work/home/airflow.db"
export AIRFLOW_VAR_GENAI_DATA_DIR="$work/data"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
unset AIRFLOW_VAR_GENAI_LAKE_ROOT AIRFLOW_VAR_GENAI_LAKE_CONN_ID
# A throwaway venv: let Python cache bytecode as it imports (cheaper than compiling all of it).
unset PYTHONDONTWRITEBYTECODE
mkdir -p "$AIRFLOW_HOME" "$work/data"
vpy="$venv/bin/python"
"$vpy" -c 'import torch, airflow; assert torch.__version__.startswith("2.13.0"), torch.__version__
assert airflow.__version__ == "3.3.2", airflow.__version__'

step "every import in dags/, include/, plugins/ resolves (task code imports lazily: parsing alone misses it)"
if ! "$vpy" scripts/check_image_imports.py dags include plugins > "$work/imports.log" 2>&1; then
  grep -A1 -E "^MISSING|Traceback" "$work/imports.log" >&2 || tail -n 40 "$work/imports.log" >&2; exit 1
fi
grep -E "^[0-9]+ external modules|^optional imports" "$work/imports.log"

step "Astro parse test (.astro/test_dag_integrity_default.py, as 'astro dev parse' runs it)"
# pytest is the one tool the parse test needs; it goes to a side folder, never into the image venv.
"$UV" pip install -q --python "$vpy" --target "$work/parse-tools" pytest -c constraints.txt
(cd "$ROOT" && PYTHONPATH="$ROOT:$work/parse-tools" "$vpy" -m pytest .astro/test_dag_integrity_default.py \
  -q -p no:cacheprovider --rootdir .astro -W ignore::pytest.PytestConfigWarning)

"$venv/bin/airflow" db migrate > "$work/db-migrate.log" 2>&1 || { cat "$work/db-migrate.log" >&2; exit 1; }

run_dag() {  # run_dag <dag_id> <logical date> <conf json>: `airflow dags test`, then insist on success
  local dag_id="$1" day="$2" conf="$3" log="$work/$1.log" state
  step "airflow dags test $dag_id $day --conf '$conf'"
  if ! "$venv/bin/airflow" dags test "$dag_id" "$day" --conf "$conf" > "$log" 2>&1; then
    tail -n 60 "$log" >&2; echo "airflow dags test $dag_id exited non-zero (log above)" >&2; exit 1
  fi
  # `dags test` exits 0 whatever the run's state; its last "DagRun Finished" line says how it ended.
  state="$(sed -n "s/.*DagRun Finished: dag_id=$dag_id,.* state=\([a-z_]*\),.*/\1/p" "$log" | tail -n 1)"
  if [ "$state" != success ]; then
    grep -E "ModuleNotFoundError|ImportError|Traceback|ERROR" "$log" | head -n 40 >&2 || tail -n 60 "$log" >&2
    echo "$dag_id ended '$state', not 'success' (log: $log)" >&2; exit 1
  fi
  echo "$dag_id: success"
}

DAY=2026-11-20
for which in ${IMAGE_CHECK_DAGS-seed train score}; do
  case "$which" in
    seed)  run_dag seed_demo_data "$DAY" '{"customer_rows": 1000, "feedback_per_day": 60, "days": 1}' ;;
    # torch + transformers + the shipped MiniLM + the shipped corpus and VADER: a tiny fine-tune whose gate always
    # promotes (it still scores the 1,500-review cross-domain test set and the lexicon).
    train) run_dag train_sentiment_model "$DAY" \
             '{"train_rows": 100, "examples": 120, "epochs": 1, "batch_size": 32, "max_length": 32,
               "trainable_layers": 1, "threads": 2, "min_macro_f1": 0.0, "beat_lexicon": false,
               "student_rows": 100, "student_epochs": 1}' ;;
    # Scores the seeded feedback with that champion: validation, warehouse (DuckDB), report chart.
    score) run_dag customer_sentiment_analysis "$DAY" '{"backend": "transformers", "model": "sentiment@champion",
             "chunk_size": 1000, "max_tokens": 32, "threads": 2}' ;;
    *) echo "unknown IMAGE_CHECK_DAGS entry: $which (seed, train, score)" >&2; exit 2 ;;
  esac
done

step "image check passed: $installed distributions ($AIRFLOW_PIN + requirements.txt), no dev tools; files in $work"
