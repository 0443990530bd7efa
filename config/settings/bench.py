"""Settings for bench/limit_query.py: the production request path on PostgreSQL with DEBUG off, plus a bare view.

Built on base, not production: production insists on a real secret, a broker and an HTTPS redirect, none of which
changes the cost of a JSON request served over plain http on 127.0.0.1. Throttles stay on but out of reach (as in
config/settings/test.py), so each request still pays for its throttle check. Never for a real deployment."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, REST_FRAMEWORK

DEBUG = False
SECRET_KEY = "bench-only-secret-key-not-used-anywhere-else-0123456789-abcdefghij"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "config.bench_urls"

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("The benchmark settings need PostgreSQL: set DATABASE_URL=postgres://...")

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"limit": "100000/second", "write": "100000/second", "read": "100000/second"},
}
