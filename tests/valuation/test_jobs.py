"""Valuation jobs: scopes, chunks, per-asset failures, redelivery, stale recovery, review rules, verification."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from common.audit import system_actor
from registry.models import Asset, AssetVersion
from tests.factories.bulk import approved_patents
from tests.factories.registry import FirmFactory, ReviewerFactory, UserFactory
from valuation import services
from valuation.models import ParameterSet, Valuation, ValuationJob, ValuationJobItem

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")


def _job(**kwargs):
    return services.valuation_job_create(user=None, actor=ACTOR, **kwargs)


def test_a_province_job_is_split_into_chunks_and_finished_by_the_last(settings, django_capture_on_commit_callbacks):
    settings.VALUATION_CHUNK_SIZE = 4
    approved_patents(firm=FirmFactory(), count=10)
    with django_capture_on_commit_callbacks(execute=True):
        job = _job(everything=True)
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.chunks_total, job.chunks_done) == ("succeeded", 10, 10, 3, 3)
    assert sorted(ValuationJobItem.objects.filter(job=job).values_list("chunk", flat=True).distinct()) == [0, 1, 2]
    assert Valuation.objects.filter(job=job, status="pending_review").count() == 10


def test_a_firm_job_takes_only_that_firms_approved_assets(django_capture_on_commit_callbacks):
    firm, other = FirmFactory(), FirmFactory()
    approved_patents(firm=firm, count=3)
    approved_patents(firm=other, count=2, start_serial=100)
    retired = Asset.objects.filter(firm=firm).order_by("pk").first()
    Asset.objects.filter(pk=retired.pk).update(status="retired")
    with django_capture_on_commit_callbacks(execute=True):
        job = _job(firm=firm)
    job.refresh_from_db()
    assert (job.scope, job.total, job.status) == ("firm", 2, "succeeded")


def test_a_failing_asset_is_recorded_and_the_rest_are_valued(django_capture_on_commit_callbacks):
    firm = FirmFactory()
    good, bad = approved_patents(firm=firm, count=2)
    AssetVersion.objects.filter(asset=bad).update(
        details={**bad.details, "revenue_history": [], "legal_status": "valid"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = _job(everything=True)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed_count) == ("succeeded", 2, 1)
    failed = ValuationJobItem.objects.get(job=job, asset=bad)
    assert (failed.status, failed.error_code) == ("failed", "insufficient_data")
    assert Valuation.objects.filter(job=job).values_list("asset", flat=True).get() == good.pk


def test_a_redelivered_chunk_writes_nothing_twice(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    approved_patents(firm=FirmFactory(), count=5)
    job = _job(everything=True)  # not started: no commit hooks run in this test
    services.valuation_job_claim(job_id=job.pk)
    assert services.valuation_chunk_run(job_id=job.pk, chunk=0) == 5
    assert services.valuation_chunk_run(job_id=job.pk, chunk=0) == 0
    job.refresh_from_db()
    assert (job.status, job.done, Valuation.objects.filter(job=job).count()) == ("succeeded", 5, 5)


def test_a_job_whose_worker_died_is_resumed(settings, django_capture_on_commit_callbacks):
    approved_patents(firm=FirmFactory(), count=3)
    job = _job(everything=True)  # committed hooks are not executed: the job stays queued
    services.valuation_job_claim(job_id=job.pk)  # a worker claimed it, then died
    ValuationJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=2))
    assert services.valuation_jobs_recover_stale() == [job.pk]  # eager: the restart runs at once
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == ("succeeded", 2, 3)


def test_the_parameter_set_is_frozen_by_its_first_use(django_capture_on_commit_callbacks):
    approved_patents(firm=FirmFactory(), count=1)
    with django_capture_on_commit_callbacks(execute=True):
        job = _job(everything=True)
    active = ParameterSet.objects.get(is_active=True)
    assert active.first_used_at is not None
    assert job.parameter_set_id == active.pk
    new = services.parameter_set_create_version(source=active, version="2026.9", data=None, actor=ACTOR)
    services.parameter_set_activate(parameter_set=new, actor=ACTOR)
    assert list(ParameterSet.objects.filter(is_active=True).values_list("version", flat=True)) == ["2026.9"]


@translation.override("en")  # the refusals are matched in English; Chinese is the default language
def test_a_high_valuation_needs_two_reviewers_and_supersedes_the_old(settings, django_capture_on_commit_callbacks):
    settings.VALUATION_SECOND_REVIEWER_ABOVE = Decimal("1")
    requester = UserFactory()
    [asset] = approved_patents(firm=requester.firm, count=1)
    first, second = ReviewerFactory(), ReviewerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.valuation_job_create(assets=[asset], user=requester, actor=requester.as_actor)
    old = Valuation.objects.get(asset=asset)
    assert old.required_approvals == 2
    with pytest.raises(Exception, match="requested"):
        services.valuation_approve(valuation=old, reviewer=requester)
    assert services.valuation_approve(valuation=old, reviewer=first).status == "pending_review"
    with pytest.raises(Exception, match="already approved"):
        services.valuation_approve(valuation=old, reviewer=first)
    assert services.valuation_approve(valuation=old, reviewer=second).status == "approved"

    with django_capture_on_commit_callbacks(execute=True):
        services.valuation_job_create(assets=[asset], user=requester, actor=requester.as_actor)
    new = Valuation.objects.filter(asset=asset).exclude(pk=old.pk).get()
    services.valuation_approve(valuation=new, reviewer=first)
    services.valuation_approve(valuation=new, reviewer=second)
    old.refresh_from_db()
    assert (old.status, Valuation.objects.get(pk=new.pk).status) == ("superseded", "approved")


def test_unchanged_inputs_give_the_same_figures(django_capture_on_commit_callbacks):
    [asset] = approved_patents(firm=FirmFactory(), count=1)
    with django_capture_on_commit_callbacks(execute=True):
        _job(assets=[asset])
        _job(assets=[asset])
    a, b = Valuation.objects.filter(asset=asset).order_by("pk")
    assert (a.seed, a.value, a.low, a.high, a.fingerprint) == (b.seed, b.value, b.low, b.high, b.fingerprint)


def test_verify_valuation_recomputes_to_the_cent_and_names_a_difference(django_capture_on_commit_callbacks):
    [asset] = approved_patents(firm=FirmFactory(), count=1)
    with django_capture_on_commit_callbacks(execute=True):
        _job(assets=[asset])
    valuation = Valuation.objects.get(asset=asset)
    out = StringIO()
    call_command("verify_valuation", str(valuation.pk), stdout=out)
    assert "verified" in out.getvalue()

    Valuation.objects.filter(pk=valuation.pk).update(value=valuation.value + Decimal("0.01"))
    out = StringIO()
    with pytest.raises(CommandError, match="does not recompute"):
        call_command("verify_valuation", str(valuation.pk), stdout=out)
    assert '"value"' in out.getvalue()


def test_a_re_approved_version_triggers_a_revaluation(client_for, django_capture_on_commit_callbacks, settings):
    settings.REVIEW_SECOND_REVIEWER_ABOVE = Decimal("1000000000")
    user = UserFactory()
    [asset] = approved_patents(firm=user.firm, count=1)
    Asset.objects.filter(pk=asset.pk).update(created_by=None, submitted_by=None)
    client = client_for(user)
    client.patch(f"/api/v1/assets/{asset.pk}/", {"title": "renamed"}, format="json")
    client.post(f"/api/v1/assets/{asset.pk}/submit/")
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(ReviewerFactory()).post(f"/api/v1/review/assets/{asset.pk}/approve/")
    assert r.json()["approved_version"] == 2
    job = ValuationJob.objects.get()
    assert (job.trigger, job.status, Valuation.objects.get().asset_version) == (
        "approved_version_changed",
        "succeeded",
        2,
    )
