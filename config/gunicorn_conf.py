"""gunicorn settings for the web process: `gunicorn -c config/gunicorn_conf.py config.wsgi:application`.

Every value can be changed from the environment (names below), so one image serves a small and a large host.
The reasons and the measurements behind the defaults are in docs/scaling.md ("Web processes").

- gthread workers: threads share one process's memory and keep HTTP keep-alive (banks' clients reuse their
  connections); the sync worker closes every connection after one request.
- WEB_CONCURRENCY processes x GUNICORN_THREADS threads = requests handled at once. Each thread holds at most one
  database connection (persistent, CONN_MAX_AGE) or takes one from its process's psycopg pool (DATABASE_POOL=true,
  set DATABASE_POOL_MAX_SIZE to the thread count). Keep processes x threads x hosts under PostgreSQL's
  max_connections minus what the Celery workers and the administrators need.
- max_requests with jitter recycles a process now and then, so a slow leak never grows without bound, and not
  all processes restart at the same moment.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{_int('PORT', 8000)}")
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count())
threads = _int("GUNICORN_THREADS", 4)
keepalive = _int("GUNICORN_KEEPALIVE", 5)  # seconds an idle keep-alive connection is kept open
timeout = _int("GUNICORN_TIMEOUT", 60)  # a worker silent for this long is killed and replaced
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)  # requests in flight may finish on restart
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
backlog = _int("GUNICORN_BACKLOG", 2048)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# Behind a reverse proxy that sets X-Forwarded-*: list its address (default: trust only the local host).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
