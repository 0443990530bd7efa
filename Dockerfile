# The service image: gunicorn for the web, the same image runs Celery workers and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config ./config
COPY common ./common
COPY registry ./registry
COPY valuation ./valuation
COPY credit ./credit
COPY portal ./portal
COPY templates ./templates
COPY locale ./locale
COPY manage.py ./
# collectstatic runs under the production settings (hashed, compressed files); the key below exists only
# for this build step and is never used by the running service.
RUN pip install -e . \
 && DJANGO_SETTINGS_MODULE=config.settings.production ALLOWED_HOSTS=build REDIS_URL=redis://build:6379/0 \
    SECRET_KEY=collectstatic-only-not-a-runtime-secret-0123456789-abcdefghijklmnop \
    sh -c 'python manage.py collectstatic --noinput && python manage.py compiletranslations' \
 && mkdir -p /app/media && chown -R app:app /app/media

USER app
EXPOSE 8000
ENV DJANGO_SETTINGS_MODULE=config.settings.production
# Workers, threads and timeouts: config/gunicorn_conf.py (WEB_CONCURRENCY, GUNICORN_THREADS...; docs/scaling.md).
CMD ["gunicorn", "-c", "config/gunicorn_conf.py", "config.wsgi:application"]
