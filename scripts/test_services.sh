#!/usr/bin/env bash
# `make test-services`: tests that need this machine's PostgreSQL / Redis / RabbitMQ.
# Skips cleanly (exit 0, with the reason) when the services do not answer.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "SKIPPED service-backed suite: PostgreSQL does not answer on 127.0.0.1:5432"
  exit 0
fi
python -m pytest tests/services -m services "$@"
rc=$?
[ "$rc" -eq 5 ] && { echo "no service-backed tests collected"; rc=0; }
exit "$rc"
