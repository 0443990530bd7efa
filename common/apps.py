import logging

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("softasset")


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = _("Audit and requests")  # the back-office heading of the audit trail and idempotency records

    def ready(self) -> None:
        # One line at start-up says where data lives and how background jobs run.
        db = settings.DATABASES["default"]
        where = db["NAME"] if settings.DATABASE_BACKEND_LABEL == "sqlite3" else f"{db.get('HOST')}/{db['NAME']}"
        logger.info("Database: %s (%s)", settings.DATABASE_BACKEND_LABEL, where)
        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.info(
                "Background jobs: run in-process (no CELERY_BROKER_URL or REDIS_URL set); "
                "set REDIS_URL to use Celery workers."
            )
        else:
            logger.info("Background jobs: Celery broker %s", _redact(settings.CELERY_BROKER_URL))


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
