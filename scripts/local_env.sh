# Environment of the Docker-free local stack (sourced by the other scripts; not executable alone).
# Mirrors what `astro dev start` sets in its containers: project-local AIRFLOW_HOME, LocalExecutor,
# local login disabled (all users admin), examples off, parallelism sized for a 2-core laptop.
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PROJECT_DIR
export PATH="$PROJECT_DIR/.venv/bin:$PATH"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PROJECT_DIR/.airflow}"
export AIRFLOW_PORT="${AIRFLOW_PORT:-8080}"
export GENAI_LOG_DIR="${GENAI_LOG_DIR:-$PROJECT_DIR/logs}"
mkdir -p "$AIRFLOW_HOME" "$GENAI_LOG_DIR"

# A .env (git-ignored, see .env_example) may set connections and variables, as with the astro CLI.
if [ -f "$PROJECT_DIR/.env" ]; then
  set -a; . "$PROJECT_DIR/.env"; set +a
fi

export PYTHONPATH="$PROJECT_DIR${PYTHONPATH:+:$PYTHONPATH}"
export AIRFLOW__CORE__DAGS_FOLDER="$PROJECT_DIR/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PROJECT_DIR/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="${AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG:-4}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:${AIRFLOW_PORT}/execution/"
export AIRFLOW__API__PORT="$AIRFLOW_PORT"
export AIRFLOW__API__BASE_URL="http://localhost:${AIRFLOW_PORT}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$GENAI_LOG_DIR"
export AIRFLOW_VAR_GENAI_AIRFLOW_API_URL="${AIRFLOW_VAR_GENAI_AIRFLOW_API_URL:-http://localhost:${AIRFLOW_PORT}}"
export TOKENIZERS_PARALLELISM=false

# Scheduler and API server must sign and verify task tokens with the same secret: keep one per
# AIRFLOW_HOME (generated once, git-ignored) instead of a random one per process.
if [ ! -s "$AIRFLOW_HOME/jwt_secret" ]; then
  python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$AIRFLOW_HOME/jwt_secret"
fi
export AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$AIRFLOW_HOME/jwt_secret")"

PIDFILE="$AIRFLOW_HOME/airflow.pgid"

group_alive() {
  # True while process group $1 has a live (non-zombie) member. Zombies are ignored: a killed
  # process whose parent died waits for PID 1 to reap it, which some containers' init never does.
  ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {found = 1} END {exit !found}'
}

running_pgid() {
  # Prints the process-group id of a running stack started by `make start`, or nothing.
  [ -s "$PIDFILE" ] || return 0
  local pgid; pgid="$(cat "$PIDFILE")"
  if group_alive "$pgid"; then echo "$pgid"; fi
}
