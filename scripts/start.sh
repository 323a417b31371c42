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
airflow db migrate > "$PROJECT_DIR/logs/db-migrate.log" 2>&1 || { tail -n 30 "$PROJECT_DIR/logs/db-migrate.log"; exit 1; }
echo "==> Applying airflow_settings.yaml (connections, pools, variables)"
python scripts/apply_airflow_settings.py airflow_settings.yaml 2>>"$PROJECT_DIR/logs/settings.log" | tail -n 1

echo "==> Starting api-server, scheduler, dag-processor and triggerer (logs in logs/)"
# setsid: the four components share one new process group, so `make stop` can end exactly them
# (SIGTERM to a parent alone leaves LocalExecutor workers behind).
setsid bash -c '
  echo $$ > "$0"
  airflow api-server --port "$AIRFLOW_PORT" > "$PROJECT_DIR/logs/api-server.log" 2>&1 &
  airflow scheduler > "$PROJECT_DIR/logs/scheduler.log" 2>&1 &
  airflow dag-processor > "$PROJECT_DIR/logs/dag-processor.log" 2>&1 &
  airflow triggerer > "$PROJECT_DIR/logs/triggerer.log" 2>&1 &
  wait
' "$PIDFILE" < /dev/null > /dev/null 2>&1 &

echo -n "==> Waiting for http://localhost:${AIRFLOW_PORT}/api/v2/monitor/health "
for _ in $(seq 1 180); do
  if curl -fsS "http://localhost:${AIRFLOW_PORT}/api/v2/monitor/health" >/dev/null 2>&1; then
    echo " up"
    break
  fi
  if [ -z "$(running_pgid)" ]; then
    echo; echo "Airflow exited during start-up; last lines of logs/api-server.log:" >&2
    tail -n 30 "$PROJECT_DIR/logs/api-server.log" >&2; exit 1
  fi
  echo -n "."; sleep 1
done

if [ ! -f "$AIRFLOW_HOME/.demo_seeded" ]; then
  echo "==> First start: triggering seed_demo_data so every pipeline has data to process"
  if python scripts/first_run.py; then touch "$AIRFLOW_HOME/.demo_seeded"; fi
fi

cat <<MSG

Airflow is running: http://localhost:${AIRFLOW_PORT}   (local login disabled: everyone is admin)
  REST API:  http://localhost:${AIRFLOW_PORT}/api/v2/dags
  Logs:      logs/  (api-server, scheduler, dag-processor, triggerer; task logs per DAG)
  Data:      data/lake (lake), data/warehouse.duckdb (warehouse)
  Stop with: make stop
MSG
