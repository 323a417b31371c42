#!/usr/bin/env bash
# `make start`: the Docker-free twin of `astro dev start`. Safe to re-run.
set -euo pipefail
. "$(dirname "$0")/local_env.sh"
cd "$PROJECT_DIR"

if pgid="$(running_pgid)" && [ -n "$pgid" ]; then
  echo "Airflow is already running (process group $pgid): http://localhost:${AIRFLOW_PORT}"
  exit 0
fi
if (exec 3<>/dev/tcp/127.0.0.1/"$AIRFLOW_PORT") 2>/dev/null; then
  echo "Port $AIRFLOW_PORT is taken by another program; stop it or run: make start AIRFLOW_PORT=8081" >&2
  exit 1
fi

echo "==> Migrating the metadata DB in $AIRFLOW_HOME"
airflow db migrate > "$GENAI_LOG_DIR/db-migrate.log" 2>&1 || { tail -n 30 "$GENAI_LOG_DIR/db-migrate.log"; exit 1; }
echo "==> Applying airflow_settings.yaml (connections, pools, variables)"
python scripts/apply_airflow_settings.py airflow_settings.yaml 2>>"$GENAI_LOG_DIR/settings.log" | tail -n 1

components="api-server, scheduler, dag-processor and triggerer"
if [ "$AIRFLOW__CORE__EXECUTOR" = "CeleryExecutor" ]; then
  components="$components + ${GENAI_CELERY_WORKERS:-2} Celery workers"
fi
echo "==> Starting $components (logs in logs/)"
# setsid: the four components share one new process group, so `make stop` can end exactly them
# (SIGTERM to a parent alone leaves LocalExecutor workers behind).
setsid bash -c '
  echo $$ > "$0"
  airflow api-server --port "$AIRFLOW_PORT" > "$GENAI_LOG_DIR/api-server.log" 2>&1 &
  airflow scheduler > "$GENAI_LOG_DIR/scheduler.log" 2>&1 &
  airflow dag-processor > "$GENAI_LOG_DIR/dag-processor.log" 2>&1 &
  airflow triggerer > "$GENAI_LOG_DIR/triggerer.log" 2>&1 &
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

echo -n "==> Waiting for http://localhost:${AIRFLOW_PORT}/api/v2/monitor/health "
up=""
for _ in $(seq 1 "${GENAI_START_TIMEOUT:-300}"); do
  if curl -fsS "http://localhost:${AIRFLOW_PORT}/api/v2/monitor/health" >/dev/null 2>&1; then
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
  echo "Run 'make stop', or wait and open http://localhost:${AIRFLOW_PORT}." >&2
  exit 1
fi

if [ ! -f "$AIRFLOW_HOME/.demo_seeded" ] && [ -z "${GENAI_SKIP_DEMO_SEED:-}" ]; then
  echo "==> First start: triggering seed_demo_data (demo inputs) and train_sentiment_model (first champion)"
  if python scripts/first_run.py; then touch "$AIRFLOW_HOME/.demo_seeded"; fi
fi

cat <<MSG

Airflow is running: http://localhost:${AIRFLOW_PORT}   (local login disabled: everyone is admin)
  REST API:  http://localhost:${AIRFLOW_PORT}/api/v2/dags
  Logs:      logs/  (api-server, scheduler, dag-processor, triggerer; task logs per DAG)
  Data:      data/lake (lake), data/warehouse.duckdb (warehouse)
  Stop with: make stop
MSG
