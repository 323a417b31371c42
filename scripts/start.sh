#!/usr/bin/env bash
# `make start`: the Docker-free twin of `astro dev start`. Safe to re-run.
# Listens on 127.0.0.1 (everyone on this machine is admin, as in astro's container). AIRFLOW_HOST=0.0.0.0
# (or any non-loopback address) needs AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: users log in.
set -euo pipefail
. "$(dirname "$0")/local_env.sh"
cd "$PROJECT_DIR"

check_exposure || exit 1
if pgid="$(running_pgid)" && [ -n "$pgid" ]; then
  echo "Airflow is already running (process group $pgid): ${AIRFLOW__API__BASE_URL}"
  exit 0
fi
probe_host="${GENAI_API_CLIENT_URL#http://}"; probe_host="${probe_host%:*}"; probe_host="${probe_host#[}"; probe_host="${probe_host%]}"
if (exec 3<>/dev/tcp/"$probe_host"/"$AIRFLOW_PORT") 2>/dev/null; then
  echo "Port $AIRFLOW_PORT is taken by another program; stop it or run: make start AIRFLOW_PORT=8081" >&2
  exit 1
fi

echo "==> Migrating the metadata DB in $AIRFLOW_HOME"
airflow db migrate > "$GENAI_LOG_DIR/db-migrate.log" 2>&1 || { tail -n 30 "$GENAI_LOG_DIR/db-migrate.log"; exit 1; }
# airflow.cfg holds the fernet key and [api] secret_key, airflow.db (SQLite) every Variable, XCom and
# encrypted connection: owner-only, whatever created them.
for f in airflow.cfg airflow.db; do
  if [ -f "$AIRFLOW_HOME/$f" ]; then chmod 600 "$AIRFLOW_HOME/$f"; fi
done
if [ "$GENAI_STACK_AUTH" = "users" ]; then
  echo "==> Login required (listening on $AIRFLOW_HOST): users ${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
  python scripts/stack_auth.py passwords
fi
echo "==> Applying airflow_settings.yaml (connections, pools, variables; connection airflow_api in login mode)"
python scripts/apply_airflow_settings.py airflow_settings.yaml 2>>"$GENAI_LOG_DIR/settings.log" | tail -n 1

components="api-server, scheduler, dag-processor and triggerer"
if [ "$AIRFLOW__CORE__EXECUTOR" = "CeleryExecutor" ]; then
  components="$components + ${GENAI_CELERY_WORKERS:-2} Celery workers"
fi
echo "==> Starting $components on $AIRFLOW_HOST:$AIRFLOW_PORT (logs in logs/)"
# setsid: the four components share one new process group, so `make stop` can end exactly them
# (SIGTERM to a parent alone leaves LocalExecutor workers behind).
# --skip-serve-logs: Airflow's log servers (scheduler :8793, triggerer :8794) always bind every
# interface, with no host option. Every component here writes into the same logs/ folder, which
# the api-server reads directly, so nothing needs them.
setsid bash -c '
  echo $$ > "$0"
  airflow api-server --host "$AIRFLOW_HOST" --port "$AIRFLOW_PORT" > "$GENAI_LOG_DIR/api-server.log" 2>&1 &
  airflow scheduler --skip-serve-logs > "$GENAI_LOG_DIR/scheduler.log" 2>&1 &
  airflow dag-processor > "$GENAI_LOG_DIR/dag-processor.log" 2>&1 &
  airflow triggerer --skip-serve-logs > "$GENAI_LOG_DIR/triggerer.log" 2>&1 &
  if [ "$AIRFLOW__CORE__EXECUTOR" = "CeleryExecutor" ]; then
    # Distributed mode (see README "Beyond one laptop"): N Celery workers on this machine, each with
    # its own name (recorded as the task hostname); logs stay in the shared logs/ folder.
    for i in $(seq 1 "${GENAI_CELERY_WORKERS:-2}"); do
      GENAI_WORKER_NAME="worker$i" airflow celery worker -H "worker$i@%h" --skip-serve-logs \
        --concurrency "${GENAI_CELERY_CONCURRENCY:-2}" \
        > "$GENAI_LOG_DIR/celery-worker-$i.log" 2>&1 &
    done
  fi
  wait
' "$PIDFILE" < /dev/null > /dev/null 2>&1 &

echo -n "==> Waiting for ${GENAI_API_CLIENT_URL}/api/v2/monitor/health "
up=""
for _ in $(seq 1 "${GENAI_START_TIMEOUT:-300}"); do
  if curl -fsS "${GENAI_API_CLIENT_URL}/api/v2/monitor/health" >/dev/null 2>&1; then
    up=1; echo " up"; break
  fi
  if [ -z "$(running_pgid)" ]; then
    echo; echo "Airflow exited during start-up; last lines of $GENAI_LOG_DIR/api-server.log:" >&2
    tail -n 30 "$GENAI_LOG_DIR/api-server.log" >&2; exit 1
  fi
  echo -n "."; sleep 1
done
if [ -z "$up" ]; then
  echo; echo "The API server did not answer within ${GENAI_START_TIMEOUT:-300}s (still running; see $GENAI_LOG_DIR/api-server.log)." >&2
  echo "Run 'make stop', or wait and open ${AIRFLOW__API__BASE_URL}." >&2
  exit 1
fi

if [ ! -f "$AIRFLOW_HOME/.demo_seeded" ] && [ -z "${GENAI_SKIP_DEMO_SEED:-}" ]; then
  echo "==> First start: triggering seed_demo_data (demo inputs) and train_sentiment_model (first champion)"
  # Exit 0: triggered. Exit 3: skipped because the lake is not the default local one (checked again
  # on the next start). Anything else: failed (also retried on the next start).
  rc=0; python scripts/first_run.py || rc=$?
  if [ "$rc" -eq 0 ]; then touch "$AIRFLOW_HOME/.demo_seeded"; fi
fi

if [ "$GENAI_STACK_AUTH" = "users" ]; then
  access="login required: users ${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}, passwords in $(basename "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-simple_auth_manager_passwords.json.generated}")"
else
  access="listening on $AIRFLOW_HOST only; local login disabled: everyone on this machine is admin"
fi
cat <<MSG

Airflow is running: ${AIRFLOW__API__BASE_URL}   ($access)
  REST API:  ${AIRFLOW__API__BASE_URL}/api/v2/dags
  Logs:      logs/  (api-server, scheduler, dag-processor, triggerer; task logs per DAG)
  Data:      data/lake (lake), data/warehouse.duckdb (warehouse)
  Stop with: make stop
MSG
