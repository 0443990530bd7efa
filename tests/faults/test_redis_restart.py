"""Redis SIGKILLed while a valuation job is midway and webhook deliveries are queued behind it, then restarted empty
(it keeps nothing on disk): every queued message is gone, and nothing is lost, because PostgreSQL holds the truth.

The job's rows say which chunks are pending and the outbox says which deliveries are; the beat sweepers
(``valuation_jobs_recover_stale`` and ``webhook_deliveries_due``) re-enqueue them. Beat does not run here: the test
sends the two sweeper tasks through the broker every two seconds, exactly as a beat with that schedule would.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from django.db import transaction

from common.audit import system_actor
from credit.models import WebhookDelivery
from credit.tasks import webhook_deliveries_due
from credit.webhooks import webhook_event_record, webhook_subscribe
from tests.credit.helpers import receiver
from tests.factories.bulk import approved_patents
from tests.factories.registry import BankFactory, FirmFactory
from tests.faults.conftest import QUEUE, STALE_AFTER
from tests.faults.jobs import FINISHED, assert_finished_exactly_once, wait_job
from tests.faults.services import wait_until
from valuation.models import ValuationJob, ValuationJobItem
from valuation.services import valuation_job_create
from valuation.tasks import valuation_jobs_recover_stale

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ASSETS = 1000
CHUNK = 50
EVENTS = 20
BEAT_EVERY = 2.0


def test_redis_killed_and_restarted_empty_nothing_is_lost(start_worker, broker, settings, record_figures):
    settings.VALUATION_CHUNK_SIZE = CHUNK
    worker = start_worker()
    approved_patents(firm=FirmFactory(), count=ASSETS)
    bank = BankFactory()
    with receiver() as hook:
        subscriptions = [
            webhook_subscribe(
                bank=bank, actor=system_actor("fault-test"), url=f"{hook.url}?s={n}", events=["credit_line.issued"]
            )
            for n in (1, 2)
        ]
        job = valuation_job_create(everything=True, user=None, actor=system_actor("fault-test"))
        wait_job(job.pk, until=lambda j: j.done > 0, timeout=90, what="the first chunk")
        with transaction.atomic():  # the outbox rows; their tasks are queued on commit, behind the pending chunks
            events = [
                webhook_event_record(bank=bank, type="credit_line.issued", payload={"n": n}, key=f"fault-{n}")
                for n in range(EVENTS)
            ]
        deliveries = set(WebhookDelivery.objects.filter(event__in=events).values_list("pk", flat=True))
        assert len(deliveries) == EVENTS * len(subscriptions)

        broker.kill()
        killed_at = time.monotonic()
        pending_items = ValuationJobItem.objects.filter(job=job, status="pending").count()
        undelivered = WebhookDelivery.objects.filter(pk__in=deliveries, status="pending").count()
        assert pending_items > 0, "the job was midway when Redis died"
        assert undelivered > 0, "deliveries were still queued when Redis died"
        broker.start()
        restarted_at = time.monotonic()
        # Empty: the queued webhook tasks are gone. (The worker may put back the two chunks it was running when it
        # reconnects; it never held a webhook task, those sat behind the chunks.)
        queued = [json.loads(m)["headers"]["task"] for m in broker.client().lrange(QUEUE, 0, -1)]
        assert "credit.tasks.webhook_deliver" not in queued

        def beat_until_done() -> bool:
            job_now = ValuationJob.objects.get(pk=job.pk)
            sent = WebhookDelivery.objects.filter(pk__in=deliveries, status="delivered").count()
            if job_now.status in FINISHED and sent == len(deliveries):
                return True
            valuation_jobs_recover_stale.delay()
            webhook_deliveries_due.delay()
            return False

        # The stale limit of the job sweeper (STALE_AFTER s without progress) bounds the job's wait.
        wait_until(beat_until_done, timeout=120, interval=BEAT_EVERY, what="the job and every delivery")
        done_at = time.monotonic()

        finished = assert_finished_exactly_once(job.pk, ASSETS)
        assert finished.attempts >= 2, "claimed again by the sweeper"
        by_delivery = Counter(r.headers["X-Softasset-Delivery"] for r in hook.requests)
        assert by_delivery == Counter({str(pk): 1 for pk in deliveries}), "each delivery reached the receiver once"
        by_event = Counter(json.loads(r.body)["id"] for r in hook.requests)
        assert by_event == Counter({e.pk: len(subscriptions) for e in events}), "each event once per subscription"
        secrets = {str(s.pk): s.secret for s in subscriptions}
        for request in hook.requests:
            sub = WebhookDelivery.objects.get(pk=request.headers["X-Softasset-Delivery"]).subscription_id
            assert hook.verify(request, secrets[str(sub)])
        assert set(WebhookDelivery.objects.filter(pk__in=deliveries).values_list("attempts", flat=True)) == {1}
    assert worker.proc.poll() is None, "the worker reconnected to the restarted Redis by itself"
    record_figures(
        assets=ASSETS,
        pending_items_at_kill=pending_items,
        deliveries_queued_at_kill=undelivered,
        deliveries_delivered=f"{len(by_delivery)}/{len(deliveries)}",
        stale_after_s=STALE_AFTER,
        beat_every_s=BEAT_EVERY,
        seconds_from_restart_to_all_done=round(done_at - restarted_at, 1),
        seconds_redis_down=round(restarted_at - killed_at, 1),
    )
