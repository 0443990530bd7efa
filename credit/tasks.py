"""Celery tasks: thin interfaces that take ids and call the same-named service. All are idempotent.

Wiring (config/settings/base.py): DOMAIN_HOOKS["valuation_approved"] runs ``margin_watch_for_valuation`` and
``valuation_approved_notify``; DOMAIN_HOOKS["consent_revoked"] runs ``consent_revoked_notify``; beat runs
``margin_watch_all`` daily and ``webhook_deliveries_due`` every minute."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(name="credit.tasks.margin_watch_for_valuation", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def margin_watch_for_valuation(valuation_id: int) -> None:
    from credit import services

    services.margin_watch_for_valuation(valuation_id=valuation_id)


@shared_task(name="credit.tasks.margin_watch_all", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def margin_watch_all() -> None:
    from credit import services

    services.margin_watch()


@shared_task(name="credit.tasks.valuation_approved_notify", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def valuation_approved_notify(valuation_id: int) -> None:
    from credit import services

    services.valuation_approved_notify(valuation_id=valuation_id)


@shared_task(name="credit.tasks.consent_revoked_notify", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def consent_revoked_notify(consent_id: int) -> None:
    from credit import services

    services.consent_revoked_notify(consent_id=consent_id)


@shared_task(name="credit.tasks.webhook_deliver", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt; a failed attempt is rescheduled in the database, not by Celery (the sweeper sends it)."""
    from credit import webhooks

    webhooks.webhook_delivery_send(delivery_id=delivery_id)


@shared_task(name="credit.tasks.webhook_deliveries_due")
def webhook_deliveries_due() -> None:
    from credit import webhooks

    webhooks.webhook_deliveries_due()
