#!/usr/bin/env bash
# The second pass of `make test`: the whole suite on PostgreSQL, with the live-worker tests running a real
# Celery worker over Redis. Skipped (and said so) when the services are not reachable, unless
# REQUIRE_SERVICES=1, which makes their absence a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/softasset}"
REDIS="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"

reachable=$(.venv/bin/python - "$PG_URL" "$REDIS" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

pg, rd = sys.argv[1], sys.argv[2]
problems = []
parts = urlsplit(pg)
admin = urlunsplit(parts._replace(path="/postgres"))
try:
    psycopg.connect(admin, connect_timeout=3).close()
except Exception as exc:  # noqa: BLE001
    problems.append(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} ({type(exc).__name__})")
try:
    redis.Redis.from_url(rd, socket_connect_timeout=3).ping()
except Exception as exc:  # noqa: BLE001
    problems.append(f"Redis at {urlsplit(rd).hostname}:{urlsplit(rd).port or 6379} ({type(exc).__name__})")
print("; ".join(problems) or "yes")
PY
)

if [ "$reachable" != "yes" ]; then
  if [ "${REQUIRE_SERVICES:-0}" = "1" ]; then
    echo "REQUIRE_SERVICES=1 but not reachable: $reachable" >&2
    exit 1
  fi
  echo "Service pass SKIPPED: not reachable: $reachable. (Start PostgreSQL and Redis, or set TEST_DATABASE_URL / TEST_REDIS_URL.)"
  exit 0
fi

echo "Service pass: the suite on PostgreSQL with a live Celery worker over Redis"
DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" CELERY_BROKER_URL="$REDIS" REQUIRE_SERVICES="${REQUIRE_SERVICES:-0}" \
  .venv/bin/python -m pytest "$@"
