#!/usr/bin/env bash
# `make test-faults`: the fault tests (tests/faults) only. They start their own PostgreSQL cluster and Redis in a
# temporary directory on free ports (tests/faults/services.py), plus Celery workers and gunicorn on top, and kill and
# restart those; the machine's shared PostgreSQL and Redis are never touched. The tests stop everything they start;
# the trap below also removes whatever a crashed or interrupted run left behind. With REQUIRE_SERVICES=1 (CI), a
# missing redis-server or initdb is a failure instead of a skip. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

FAULTS_WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/softasset-faults.XXXXXX")"
export FAULTS_WORKDIR

alive() { [ -n "$1" ] && grep -qa "$2" "/proc/$1/cmdline" 2>/dev/null; }

cleanup() {
  # Workers and gunicorn: each leads a process group, recorded as pids/<group id>.pgid.
  for file in "$FAULTS_WORKDIR"/pids/*.pgid; do
    [ -e "$file" ] && kill -KILL -- "-$(cat "$file")" 2>/dev/null || true
  done
  local pid
  pid="$(cat "$FAULTS_WORKDIR/redis/redis.pid" 2>/dev/null || true)"
  if alive "$pid" redis-server; then kill -KILL "$pid" || true; fi
  pid="$(head -n1 "$FAULTS_WORKDIR/pg/pgdata/postmaster.pid" 2>/dev/null || true)"
  if alive "$pid" postgres; then
    kill -QUIT "$pid" || true  # PostgreSQL's immediate shutdown
    for _ in $(seq 1 50); do alive "$pid" postgres || break; sleep 0.2; done
  fi
  rm -rf "$FAULTS_WORKDIR"
}
trap cleanup EXIT

echo "Fault tests: private PostgreSQL and Redis under $FAULTS_WORKDIR"
.venv/bin/python -m pytest tests/faults "$@"
