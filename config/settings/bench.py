"""Settings for bench/limit_query.py: the production request path on PostgreSQL with DEBUG off, plus a bare view.

Built on base, not production: production insists on a real secret, a broker and an HTTPS redirect, none of which
changes the cost of a JSON request served over plain http on 127.0.0.1. Throttles stay on but out of reach (as in
config/settings/test.py), so each request still pays for its throttle check. Never for a real deployment."""

import secrets

from django.core.exceptions import ImproperlyConfigured

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, REST_FRAMEWORK

DEBUG = False
# bench/limit_query.py passes one random key to every process it starts (sessions and signing are not measured).
SECRET_KEY = env("SECRET_KEY", default="") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "config.bench_urls"

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("The benchmark settings need PostgreSQL: set DATABASE_URL=postgres://...")

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"limit": "100000/second", "write": "100000/second", "read": "100000/second"},
}
