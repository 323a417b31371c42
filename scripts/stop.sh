#!/usr/bin/env bash
# `make stop`: stop exactly the process group `make start` started (api-server, scheduler,
# dag-processor, triggerer and every task process they spawned).
set -euo pipefail
. "$(dirname "$0")/local_env.sh"

pgid="$(running_pgid)"
if [ -z "$pgid" ]; then
  echo "Airflow is not running (no live process group in $PIDFILE)."
  rm -f "$PIDFILE"
  exit 0
fi
echo -n "Stopping Airflow (process group $pgid) "
kill -TERM -- "-$pgid" 2>/dev/null || true
for _ in $(seq 1 30); do
  group_alive "$pgid" || { echo " stopped"; rm -f "$PIDFILE"; exit 0; }
  echo -n "."; sleep 1
done
echo " forcing"
kill -KILL -- "-$pgid" 2>/dev/null || true
for _ in $(seq 1 20); do
  group_alive "$pgid" || break
  sleep 0.5
done
if group_alive "$pgid"; then
  echo "Some processes of group $pgid are still alive:" >&2
  ps -eo pid,pgid,stat,cmd | awk -v g="$pgid" '$2 == g' >&2
  exit 1
fi
rm -f "$PIDFILE"
