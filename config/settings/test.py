"""Settings for the test suite: fast hashing, in-memory e-mail, tasks in-process unless a test starts a worker."""

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = env.path("TEST_MEDIA_ROOT", default=BASE_DIR / "build" / "test-media")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Throttles stay on but out of reach (per second, so the counters stay short); tests/security/test_throttling.py
# sets low rates. The login lockout stays on too: its attempts live in the test database, rolled back per test.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"limit": "10000/second", "write": "10000/second", "read": "10000/second"},
}

# Ordinary tests run tasks in-process; the live-worker tests switch the Celery app to the real broker. A worker or
# web process started by a test sets CELERY_TASK_ALWAYS_EAGER=false so the tasks it queues go to the broker too.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
LIVE_BROKER_URL = env("CELERY_BROKER_URL", default="") or env("REDIS_URL", default="")
CELERY_BROKER_URL = LIVE_BROKER_URL or "memory://localhost/"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="softasset-test")
