"""The asset review queue in the admin: default filter, approve/reject as actions and buttons through the same
services as the API (four-eyes included), reasons required, reviewers only, bounded queries, version diffs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.models import AuditEvent
from registry.models import Asset, AssetReview
from registry.services import asset_create, asset_submit, asset_update
from tests.factories.registry import AssetFactory, UserFactory, patent_details

pytestmark = pytest.mark.django_db

QUEUE = "/admin/registry/asset/"


def _trail(asset: Asset) -> list[tuple[str, str, str]]:
    rows = AuditEvent.objects.filter(object_type="asset", object_id=str(asset.pk)).order_by("id")
    return [(e.action, e.actor_label, e.result) for e in rows]


def _reviews(asset: Asset) -> list[tuple[int, int, str, str]]:
    return list(AssetReview.objects.filter(asset=asset).values_list("version", "reviewer_id", "decision", "reason"))


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_queue_lists_only_submitted_assets_oldest_first_by_default(signed_in, reviewer_a, submit_asset):
    first = submit_asset(title="First in")
    second = submit_asset(title="Second in")
    Asset.objects.filter(pk=first.pk).update(submitted_at=timezone.now() - timezone.timedelta(days=3))
    AssetFactory(status=Asset.Status.DRAFT)
    AssetFactory(status=Asset.Status.APPROVED)
    client = signed_in(reviewer_a)

    r = client.get(QUEUE)

    assert r.status_code == 200
    assert [a.pk for a in r.context["cl"].result_list] == [first.pk, second.pk]
    assert 'data-testid="queue-awaiting"' in r.text
    assert r.context["queue_counts"]["awaiting"] == 2
    everything = client.get(QUEUE, {"status": "all"})
    assert len(everything.context["cl"].result_list) == 4
    approved = client.get(QUEUE, {"status": "approved"})
    assert [a.status for a in approved.context["cl"].result_list] == ["approved"]


def test_the_queue_filters_and_searches(signed_in, reviewer_a, submit_asset):
    lens = submit_asset(title="Aspheric lens")
    submit_asset(title="Laser diode")
    client = signed_in(reviewer_a)

    assert [a.pk for a in client.get(QUEUE, {"q": "aspheric"}).context["cl"].result_list] == [lens.pk]
    assert len(client.get(QUEUE, {"q": lens.firm.uscc}).context["cl"].result_list) == 2
    assert len(client.get(QUEUE, {"kind__exact": "trademark"}).context["cl"].result_list) == 0
    by_industry = client.get(QUEUE, {"firm__industry__code__exact": lens.firm.industry_id})
    assert len(by_industry.context["cl"].result_list) == 2


def test_approve_as_an_action_writes_what_the_api_writes(signed_in, client_for, reviewer_a, submit_asset):
    via_admin = submit_asset(title="Approved in the admin")
    via_api = submit_asset(title="Approved through the API")

    r = signed_in(reviewer_a).post(QUEUE, {"action": "approve_selected", "_selected_action": [via_admin.pk]})
    api = client_for(reviewer_a).post(f"/api/v1/review/assets/{via_api.pk}/approve/")

    assert r.status_code == 302
    assert api.status_code == 200
    via_admin.refresh_from_db()
    assert (via_admin.status, via_admin.approved_version, via_admin.decided_by_id) == ("approved", 1, reviewer_a.pk)
    assert _reviews(via_admin) == [(1, reviewer_a.pk, "approved", "")] == _reviews(via_api)
    assert _trail(via_admin)[-1] == ("asset.approved", f"user:{reviewer_a.username}", "success")
    assert _trail(via_admin)[2:] == _trail(via_api)[2:]  # after created + submitted: the same events


def test_approve_with_the_button_returns_to_the_queue_with_a_message(signed_in, reviewer_a, submit_asset):
    asset = submit_asset()
    client = signed_in(reviewer_a)
    page = client.get(f"{QUEUE}{asset.pk}/change/")
    assert 'data-testid="approve-asset"' in page.text
    assert 'data-testid="reject-asset"' in page.text

    r = client.post(f"{QUEUE}{asset.pk}/approve/", follow=True)

    assert r.redirect_chain[-1][0] == QUEUE
    assert any("approved" in m for m in _messages(r))
    asset.refresh_from_db()
    assert asset.status == "approved"
    assert client.get(f"{QUEUE}{asset.pk}/approve/").status_code == 405  # a GET never decides


def test_four_eyes_the_same_reviewer_cannot_give_the_second_approval(signed_in, reviewer_a, reviewer_b, submit_asset):
    asset = submit_asset(large=True)
    assert asset.required_approvals == 2
    client = signed_in(reviewer_a)

    first = client.post(f"{QUEUE}{asset.pk}/approve/", follow=True)
    assert any("1 of 2" in m for m in _messages(first))
    trail, reviews = _trail(asset), _reviews(asset)

    again = client.post(f"{QUEUE}{asset.pk}/approve/", follow=True)
    assert again.redirect_chain[-1][0] == f"{QUEUE}{asset.pk}/change/"
    assert any("already decided this version" in m for m in _messages(again))
    action = client.post(QUEUE, {"action": "approve_selected", "_selected_action": [asset.pk]}, follow=True)
    assert any("refused" in m for m in _messages(action))
    asset.refresh_from_db()
    assert asset.status == "submitted"
    assert (_trail(asset), _reviews(asset)) == (trail, reviews)  # nothing changed

    signed_in(reviewer_b).post(f"{QUEUE}{asset.pk}/approve/")
    asset.refresh_from_db()
    assert asset.status == "approved"


def test_the_reviewer_who_prepared_an_asset_cannot_decide_it(signed_in, reviewer_a):
    asset = AssetFactory(
        status=Asset.Status.SUBMITTED, created_by=reviewer_a, submitted_at=timezone.now(), approved_version=None
    )
    r = signed_in(reviewer_a).post(f"{QUEUE}{asset.pk}/approve/", follow=True)
    assert any("another reviewer must decide it" in m for m in _messages(r))
    assert Asset.objects.get(pk=asset.pk).status == "submitted"
    assert not AssetReview.objects.filter(asset=asset).exists()


def test_reject_needs_a_reason_on_the_button_page(signed_in, reviewer_a, submit_asset):
    asset = submit_asset()
    client = signed_in(reviewer_a)
    form = client.get(f"{QUEUE}{asset.pk}/reject/")
    assert form.status_code == 200
    assert 'data-testid="reject-reason"' in form.text

    blank = client.post(f"{QUEUE}{asset.pk}/reject/", {"reason": "   "})

    assert blank.status_code == 200
    assert blank.context["form"].errors["reason"]
    assert Asset.objects.get(pk=asset.pk).status == "submitted"

    done = client.post(f"{QUEUE}{asset.pk}/reject/", {"reason": "The claims do not match the certificate."})
    assert done.status_code == 302
    assert done.url == QUEUE
    asset.refresh_from_db()
    assert (asset.status, asset.rejection_reason) == ("rejected", "The claims do not match the certificate.")
    assert _trail(asset)[-1] == ("asset.rejected", f"user:{reviewer_a.username}", "success")


def test_reject_as_an_action_asks_for_the_reason_then_rejects_each(signed_in, reviewer_a, submit_asset):
    a, b = submit_asset(title="A"), submit_asset(title="B")
    client = signed_in(reviewer_a)
    selected = {"action": "reject_selected", "_selected_action": [a.pk, b.pk]}

    ask = client.post(QUEUE, selected)
    assert ask.status_code == 200
    assert 'name="reason"' in ask.text
    blank = client.post(QUEUE, {**selected, "apply": "1", "reason": ""})
    assert blank.status_code == 200
    assert blank.context["form"].errors
    assert set(Asset.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {"submitted"}

    done = client.post(QUEUE, {**selected, "apply": "1", "reason": "Evidence missing."}, follow=True)
    assert set(Asset.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {"rejected"}
    assert any("2 done, 0 refused" in m for m in _messages(done))


def test_a_bulk_action_reports_each_success_and_failure(signed_in, reviewer_a, submit_asset):
    ok = submit_asset(title="Fine")
    own = AssetFactory(
        status=Asset.Status.SUBMITTED, created_by=reviewer_a, submitted_at=timezone.now(), approved_version=None
    )
    r = signed_in(reviewer_a).post(
        QUEUE, {"action": "approve_selected", "_selected_action": [ok.pk, own.pk]}, follow=True
    )
    texts = _messages(r)
    assert any(f"#{ok.pk}" in m and "approved" in m for m in texts)
    assert any(f"#{own.pk}" in m and "refused" in m for m in texts)
    assert any("1 done, 1 refused" in m for m in texts)
    assert Asset.objects.get(pk=ok.pk).status == "approved"
    assert Asset.objects.get(pk=own.pk).status == "submitted"


def test_staff_who_are_not_reviewers_cannot_decide(signed_in, submit_asset):
    asset = submit_asset()
    staff = UserFactory(username="firm-staff", is_staff=True, is_superuser=True)  # a firm user, even a superuser
    client = signed_in(staff)

    page = client.get(f"{QUEUE}{asset.pk}/change/")
    assert page.status_code == 200
    assert 'data-testid="approve-asset"' not in page.text
    assert "approve_selected" not in client.get(QUEUE).text
    assert client.post(f"{QUEUE}{asset.pk}/approve/").status_code == 403
    assert client.post(f"{QUEUE}{asset.pk}/reject/", {"reason": "no"}).status_code == 403
    client.post(QUEUE, {"action": "approve_selected", "_selected_action": [asset.pk]})
    assert Asset.objects.get(pk=asset.pk).status == "submitted"
    assert not AssetReview.objects.filter(asset=asset).exists()


def test_the_queue_runs_a_bounded_number_of_queries(signed_in, reviewer_a, submit_asset, firm_admin):
    client = signed_in(reviewer_a)
    for i in range(3):
        submit_asset(title=f"few {i}")
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200
    for i in range(12):
        other = UserFactory()  # a different firm each: the firm column must not cost a query per row
        submit_asset(title=f"many {i}", user=other)
    with CaptureQueriesContext(connection) as many:
        r = client.get(QUEUE)
    assert len(r.context["cl"].result_list) == 15
    assert len(many) == len(few)
    assert len(many) <= 20


def test_the_change_page_shows_versions_with_field_level_diffs(signed_in, reviewer_a, firm_admin):
    asset = asset_create(
        firm=firm_admin.firm,
        kind="patent",
        title="Lens patent",
        details=patent_details(revenue_history=[{"year": 2025, "amount": "1000000.00"}]),
        actor=firm_admin.as_actor,
        user=firm_admin,
    )
    asset = asset_update(
        asset=asset,
        actor=firm_admin.as_actor,
        user=firm_admin,
        title="Lens patent (amended)",
        details={**asset.details, "claims": 25},
    )
    asset_submit(asset=asset, actor=firm_admin.as_actor, user=firm_admin)

    page = signed_in(reviewer_a).get(f"{QUEUE}{asset.pk}/change/")

    assert page.status_code == 200
    html = page.text
    assert 'data-testid="asset-version-2"' in html
    assert 'data-testid="asset-version-1"' in html
    assert '<span class="diff-removed">Lens patent</span>' in html
    assert '<span class="diff-added">Lens patent (amended)</span>' in html
    assert '<span class="diff-removed">10</span>' in html
    assert '<span class="diff-added">25</span>' in html
    assert "backoffice/admin.css" in html
