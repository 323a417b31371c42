# Environment of the Docker-free local stack (sourced by the other scripts; not executable alone).
# Mirrors what `astro dev start` sets in its containers: project-local AIRFLOW_HOME, LocalExecutor,
# local login disabled (all users admin), examples off, parallelism sized for a 2-core laptop.
# Unlike a container, this stack listens on the host itself: it binds 127.0.0.1 unless AIRFLOW_HOST
# says otherwise, and "everyone is admin" only holds on loopback (see check_exposure).
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

# --- Where the stack listens, and who may use it -------------------------------------------------
# AIRFLOW_HOST: the api-server's bind address (Airflow's own default is 0.0.0.0). Loopback by default:
# only programs on this machine reach the UI / REST API, so "everyone is admin" is safe there.
AIRFLOW_HOST="${AIRFLOW_HOST:-127.0.0.1}"
AIRFLOW_HOST="${AIRFLOW_HOST#[}"; AIRFLOW_HOST="${AIRFLOW_HOST%]}"
[ "$AIRFLOW_HOST" = "localhost" ] && AIRFLOW_HOST=127.0.0.1
export AIRFLOW_HOST

is_loopback_host() {
  [[ "$1" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ || "$1" == "::1" ]]
}

is_true() {  # Airflow's getboolean spelling of "true"
  case "${1,,}" in t|true|1|y|yes|on) return 0 ;; *) return 1 ;; esac
}

# The address the stack's own clients (health check, first run, task supervisors, tasks) call:
# a wildcard bind answers on loopback; a specific address only on itself.
case "$AIRFLOW_HOST" in
  0.0.0.0|::) _client_host=127.0.0.1 ;;
  *:*) _client_host="[$AIRFLOW_HOST]" ;;
  *) _client_host="$AIRFLOW_HOST" ;;
esac
export GENAI_API_CLIENT_URL="http://${_client_host}:${AIRFLOW_PORT}"
unset _client_host

# All-admin (no login) only on loopback, and only while no users are configured. Anywhere else the
# simple auth manager's users log in (start.sh refuses to start without them).
if is_loopback_host "$AIRFLOW_HOST" && [ -z "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-}" ]; then
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS:-True}"
else
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS:-False}"
fi
if is_true "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"; then
  export GENAI_STACK_AUTH=all-admins
else
  export GENAI_STACK_AUTH=users
fi

export AIRFLOW__API__HOST="$AIRFLOW_HOST"
export AIRFLOW__API__PORT="$AIRFLOW_PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${GENAI_API_CLIENT_URL}/execution/"
if [ -z "${AIRFLOW__API__BASE_URL:-}" ]; then
  if is_loopback_host "$AIRFLOW_HOST"; then
    AIRFLOW__API__BASE_URL="http://localhost:${AIRFLOW_PORT}"
  elif [ "$AIRFLOW_HOST" = "0.0.0.0" ] || [ "$AIRFLOW_HOST" = "::" ]; then
    AIRFLOW__API__BASE_URL="http://$(hostname -f 2>/dev/null || hostname):${AIRFLOW_PORT}"
  else
    AIRFLOW__API__BASE_URL="http://${AIRFLOW_HOST}:${AIRFLOW_PORT}"
  fi
fi
export AIRFLOW__API__BASE_URL
# The scheduler's optional health-check server would bind 0.0.0.0 if someone switched it on.
export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST="${AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST:-127.0.0.1}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$GENAI_LOG_DIR"
export AIRFLOW_VAR_GENAI_AIRFLOW_API_URL="${AIRFLOW_VAR_GENAI_AIRFLOW_API_URL:-$GENAI_API_CLIENT_URL}"
export TOKENIZERS_PARALLELISM=false

# Scheduler and API server must sign and verify task tokens with the same secret: keep one per
# AIRFLOW_HOME (generated once, git-ignored, mode 0600) instead of a random one per process.
# Passed as the *command* that reads it (`_CMD`, honoured because [api_auth] jwt_secret is marked
# sensitive), so the value never sits in the environment that every task and subprocess inherits.
# (No trailing newline: a `_CMD` value is taken verbatim, and older stacks signed with `$(cat file)`.)
if [ ! -s "$AIRFLOW_HOME/jwt_secret" ]; then
  (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32), end="")' > "$AIRFLOW_HOME/jwt_secret")
elif [ -z "$(tail -c 1 "$AIRFLOW_HOME/jwt_secret")" ]; then
  (umask 077; _s="$(cat "$AIRFLOW_HOME/jwt_secret")"; printf '%s' "$_s" > "$AIRFLOW_HOME/jwt_secret.new" &&
   mv "$AIRFLOW_HOME/jwt_secret.new" "$AIRFLOW_HOME/jwt_secret")
fi
chmod 600 "$AIRFLOW_HOME/jwt_secret"
export AIRFLOW__API_AUTH__JWT_SECRET_CMD="cat $(printf '%q' "$AIRFLOW_HOME/jwt_secret")"

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

check_exposure() {
  # Refuse a stack that anyone on the network could administer. Called by start.sh only (stop.sh and
  # run_dag.sh serve nothing).
  is_loopback_host "$AIRFLOW_HOST" && return 0
  local simple="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
  [ "${AIRFLOW__CORE__AUTH_MANAGER:-$simple}" = "$simple" ] || return 0  # a real auth manager decides
  if [ "$GENAI_STACK_AUTH" = "all-admins" ]; then
    cat >&2 <<MSG
Refusing to start: AIRFLOW_HOST=$AIRFLOW_HOST is reachable from other machines, and
AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS would make every
visitor admin (trigger DAGs, edit connections, read Variables, XComs and logs, get an admin token).
Fix: unset AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS and set AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS
(e.g. you:admin), or leave AIRFLOW_HOST unset to listen on 127.0.0.1 only.
MSG
    return 1
  fi
  if [ -z "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-}" ]; then
    cat >&2 <<MSG
Refusing to start: AIRFLOW_HOST=$AIRFLOW_HOST is reachable from other machines, so the UI and REST API
need real users, and none are configured.
Fix: set AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=<name>:admin (comma-separated name:role, roles
viewer/user/op/admin) in .env or the shell; make start then generates each password into
$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated (mode 0600) and prints it once.
Or leave AIRFLOW_HOST unset to listen on 127.0.0.1 only.
MSG
    return 1
  fi
}
