"""Domain hooks: a lower app announces an event, a higher app's task reacts, without the lower app importing the
higher one (the dependency direction stays registry <- valuation <- credit).

``settings.DOMAIN_HOOKS`` maps an event name to dotted paths of Celery tasks; ``hooks_fire`` enqueues each of
them after the current transaction commits, with the event's keyword arguments.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def hooks_fire(event: str, **kwargs: Any) -> None:
    for path in settings.DOMAIN_HOOKS.get(event, ()):
        task = import_string(path)
        # robust: a broker outage must not turn a committed write into an error answer; it is logged.
        transaction.on_commit(lambda task=task: task.delay(**kwargs), robust=True)
