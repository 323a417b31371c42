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
  pgrep -g "$pgid" >/dev/null 2>&1 || { echo " stopped"; rm -f "$PIDFILE"; exit 0; }
  echo -n "."; sleep 1
done
echo " forcing"
kill -KILL -- "-$pgid" 2>/dev/null || true
sleep 1
rm -f "$PIDFILE"
