"""Production settings: only tightens security and requires real secrets and services."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import CELERY_TASK_ALWAYS_EAGER, env

if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG or set DEBUG=false).")
DEBUG = False

SECRET_KEY = env("SECRET_KEY", default="")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )
if CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured("Production needs a Celery broker: set REDIS_URL or CELERY_BROKER_URL.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# Behind TLS by default. A local docker compose trial over plain http sets DJANGO_BEHIND_HTTPS=false.
_HTTPS = env.bool("DJANGO_BEHIND_HTTPS", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _HTTPS
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = _HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie (the back office posts it from its forms; API clients use tokens, not sessions).
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
WEBHOOK_ALLOW_HTTP = False  # signed bank notifications travel over TLS only

STORAGES = {
    "default": STORAGES["default"],
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
