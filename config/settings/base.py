"""Settings shared by every environment. Everything is read from the environment through config.env."""

from datetime import timedelta
from decimal import Decimal

from celery.schedules import crontab

from config.env import BASE_DIR, env

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-do-not-deploy")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "common.apps.CommonConfig",
    "registry.apps.RegistryConfig",
    "valuation.apps.ValuationConfig",
    "credit.apps.CreditConfig",
    "django_htmx",
    "portal.apps.PortalConfig",
    "portal.firm.apps.FirmPortalConfig",
    "portal.bank.apps.BankPortalConfig",
    "portal.backoffice.apps.BackOfficeConfig",
    "axes",  # login lockout (see AXES_* below)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.RequestIdMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a back-office lockout into axes' 429 page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# No DATABASE_URL: a SQLite file next to manage.py. DATABASE_URL=postgres://...: PostgreSQL via psycopg 3.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A connection is checked before it is used (a persistent one at its first use in a request, a pooled one when
    # taken from the pool), so the first requests after a database restart get a fresh connection, not an error.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The planner's cost of a random page read. PostgreSQL's default (4) assumes spinning disks and then prefers
    # walking a primary key past other owners' rows to reading an owner's (owner, id) index, which makes page 1 of
    # a long-standing firm's list slow (docs/scaling.md, "Lists"). 1.1 suits SSD and cloud disks. Set it empty to
    # leave the server's value (e.g. behind PgBouncer, which refuses start-up options unless told to ignore them).
    random_page_cost = env.str("DATABASE_RANDOM_PAGE_COST", default="1.1").strip()
    if random_page_cost:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c random_page_cost={float(random_page_cost)}"
    if env.bool("DATABASE_POOL", default=False):
        # psycopg 3 connection pool; incompatible with persistent connections, so CONN_MAX_AGE stays 0.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
else:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
DATABASE_BACKEND_LABEL = DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "registry.User"
# AxesBackend first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesBackend", "django.contrib.auth.backends.ModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ---------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # project-wide strings (templates/); each app keeps its own in <app>/locale/
# Translations are compiled from the .po files by `manage.py compiletranslations` (pure Python, run by make install).

# --- Web pages (portal/) --------------------------------------------------------------------------
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Evidence files and import uploads go through Django's storage API: the file system by default (MEDIA_ROOT,
# never served directly), or any S3-compatible store with STORAGE_BACKEND=s3 (pip install '.[s3]').
if env("STORAGE_BACKEND", default="filesystem") == "s3":
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL", default=None),
            "region_name": env("S3_REGION", default=None),
            "access_key": env("S3_ACCESS_KEY_ID", default=None),
            "secret_key": env("S3_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploads spool to a temporary file
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Cache ---------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery --------------------------------------------------------------------------------------
# No broker configured: tasks run in-process (the embedded default, announced at start-up).
# A broker that is configured but unreachable is an error, never a silent fall-back.
_BROKER = env("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not _BROKER
CELERY_BROKER_URL = _BROKER or "memory://localhost/"  # never used while tasks run in-process
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True  # legal only because every task is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the database, not in a result backend
CELERY_RESULT_BACKEND = None
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# A task taken by a worker that vanished (killed, machine lost) goes back to the queue once it has been unacknowledged
# for visibility_timeout seconds; workers look for such tasks every CELERY_UNACKED_RESTORE_INTERVAL seconds (kombu's
# default is 10 s x a throttle of 10; the throttle of 1 makes the interval the only knob). The timeout must stay
# longer than the longest task (CELERY_TASK_TIME_LIMIT), or a running task would be handed out a second time.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=60),
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="softasset")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "valuation-nightly-revaluation": {
        "task": "valuation.tasks.valuation_revalue_all",
        "schedule": crontab(hour=env.int("NIGHTLY_REVALUATION_HOUR", default=2), minute=0),
    },
    "innovation-scores-yearly": {
        "task": "valuation.tasks.innovation_scores_compute_yearly",
        "schedule": crontab(month_of_year=4, day_of_month=1, hour=3, minute=0),
    },
    "valuation-jobs-recover-stale": {
        "task": "valuation.tasks.valuation_jobs_recover_stale",
        "schedule": 300.0,
    },
    "import-jobs-recover-stale": {
        "task": "registry.tasks.import_jobs_recover_stale",
        "schedule": 300.0,
    },
    # After the nightly revaluation: every open credit line's coverage, set-based.
    "credit-margin-watch-daily": {
        "task": "credit.tasks.margin_watch_all",
        "schedule": crontab(hour=env.int("MARGIN_WATCH_HOUR", default=5), minute=0),
    },
    # The outbox sweeper: pending webhook deliveries whose time has come (also covers a broker outage).
    "credit-webhook-deliveries-due": {
        "task": "credit.tasks.webhook_deliveries_due",
        "schedule": 60.0,
    },
}

# --- REST framework and OpenAPI ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "registry.authentication.BankApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "common.api.parsers.JSONParser",  # strict: no NaN/Infinity, NUL or lone surrogates; 413 above the limit
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.exception_handler.handle",
    "DEFAULT_SCHEMA_CLASS": "common.api.schema.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Rate limits per caller (bank API key, user, or client address): common/api/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": ["common.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "limit": env("THROTTLE_RATE_LIMIT", default="120/min") or None,  # credit-limit queries, per key
        "write": env("THROTTLE_RATE_WRITE", default="60/min") or None,  # POST/PUT/PATCH/DELETE, per caller
        "read": env("THROTTLE_RATE_READ", default="1200/min") or None,  # every other read, per caller
    },
}
# Reverse proxies in front of the service that append to X-Forwarded-For (0: trust REMOTE_ADDR only). Anonymous
# throttles and the login lockout key on the address the outermost proxy saw.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Login lockout (django-axes) -----------------------------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused for
# AXES_COOLOFF_MINUTES (counted from the last failure), on POST /api/v1/auth/token/ (429 login_locked_out) and
# the back office login (axes' 429 page). `manage.py axes_reset` (or axes_reset_username) unlocks.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock ends on time, whatever is tried meanwhile
AXES_CLIENT_IP_CALLABLE = "common.api.throttling.client_ip"
AXES_HTTP_RESPONSE_CODE = 429

SPECTACULAR_SETTINGS = {
    "TITLE": "Hubei soft-asset registry and credit conversion API",
    "DESCRIPTION": (
        "Register soft assets (data, patents, trademarks, software), value them, and convert approved "
        "valuations into explained credit limits and credit lines secured by exclusive pledges. "
        "People authenticate with `Authorization: Token <token>`; bank systems with "
        "`Authorization: Api-Key <key>`. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "PledgeStatusEnum": "credit.models.Pledge.Status",
        "CreditLineMovementKindEnum": "credit.models.CreditLineMovement.Kind",
    },
}

# --- E-mail (the firm's people hear of review decisions in their own language; see registry/notifications.py) ---
# Unset EMAIL_HOST: e-mails are written to the log (console backend); set it to send through that SMTP server.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Hubei soft-asset registry <noreply@softasset.local>")
EMAIL_HOST = env("EMAIL_HOST", default="")
_EMAIL_DEFAULT_BACKEND = "smtp" if EMAIL_HOST else "console"
EMAIL_BACKEND = env("EMAIL_BACKEND", default=f"django.core.mail.backends.{_EMAIL_DEFAULT_BACKEND}.EmailBackend")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Domain settings -----------------------------------------------------------------------------
# Events a lower app announces and the tasks of higher apps that react (see common/hooks.py).
DOMAIN_HOOKS = {
    "asset_approved_version_changed": ["valuation.tasks.valuation_revalue_asset"],
    "firm_indicators_changed": ["valuation.tasks.innovation_scores_compute"],
    "valuation_approved": [
        "credit.tasks.margin_watch_for_valuation",
        "credit.tasks.valuation_approved_notify",
        "valuation.tasks.valuation_approved_email",
    ],
    "consent_revoked": ["credit.tasks.consent_revoked_notify"],
}
VALUATION_CHUNK_SIZE = env.int("VALUATION_CHUNK_SIZE", default=500)
# Valuations above this value (CNY) need two different reviewers.
VALUATION_SECOND_REVIEWER_ABOVE = Decimal(env("VALUATION_SECOND_REVIEWER_ABOVE", default="10000000"))
NIGHTLY_REVALUATION_HOUR = env.int("NIGHTLY_REVALUATION_HOUR", default=2)
IDEMPOTENCY_KEY_TTL_HOURS = 24
# A twin of a request still in flight waits this long for its response, then gets 409 idempotency_in_progress.
IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS = env.float("IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS", default=2.0)
# A claim on a key not completed within this time is taken to belong to a crashed process and may be taken over.
IDEMPOTENCY_LEASE_SECONDS = env.int("IDEMPOTENCY_LEASE_SECONDS", default=120)
# Assets whose declared cost or yearly revenue is above this need two different reviewers (CNY).
REVIEW_SECOND_REVIEWER_ABOVE = Decimal(env("REVIEW_SECOND_REVIEWER_ABOVE", default="5000000"))
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
IMPORT_JOB_STALE_AFTER_SECONDS = env.int("IMPORT_JOB_STALE_AFTER_SECONDS", default=600)
CREDIT_LIMIT_VALID_MINUTES = env.int("CREDIT_LIMIT_VALID_MINUTES", default=60)
VALUATION_JOB_STALE_AFTER_SECONDS = env.int("VALUATION_JOB_STALE_AFTER_SECONDS", default=600)
# Webhooks: plain http only outside production (production.py turns it off); 5 s timeout; retries back off
# as WEBHOOK_BACKOFF_SECONDS x 2^n until WEBHOOK_MAX_ATTEMPTS, then the delivery is failed (and replayable).
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=True)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=5)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_SECONDS = env.int("WEBHOOK_BACKOFF_SECONDS", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
