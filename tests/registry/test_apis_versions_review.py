"""Versions with field-level diffs, per-version reviews, the two-reviewer threshold, retirement."""

from __future__ import annotations

import pytest

from common.models import AuditEvent
from registry.models import Asset, AssetReview, AssetVersion
from registry.services import asset_approve, asset_create, asset_submit
from tests.factories.registry import ReviewerFactory, UserFactory, patent_details

pytestmark = pytest.mark.django_db

SMALL = [{"year": 2025, "amount": "1000000.00"}]  # under the two-reviewer threshold


def _approved_asset(user, reviewer, **overrides):
    asset = asset_create(
        firm=user.firm,
        kind="patent",
        title="Lens patent",
        details=patent_details(revenue_history=SMALL, **overrides),
        actor=user.as_actor,
        user=user,
    )
    asset_submit(asset=asset, actor=user.as_actor, user=user)
    return asset_approve(asset=asset, reviewer=reviewer)


def test_editing_an_approved_asset_makes_a_new_version_and_keeps_the_approved_one(client_for, firm_user, reviewer):
    asset = _approved_asset(firm_user, reviewer)
    client = client_for(firm_user)
    details = {**asset.details, "claims": 25}

    r = client.patch(
        f"/api/v1/assets/{asset.pk}/", {"title": "Lens patent (amended)", "details": details}, format="json"
    )

    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["version"], body["approved_version"], body["status"]) == (2, 1, "draft")
    versions = client.get(f"/api/v1/assets/{asset.pk}/versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["changes"] == [
        {"field": "details.claims", "before": 10, "after": 25},
        {"field": "title", "before": "Lens patent", "after": "Lens patent (amended)"},
    ]
    assert versions[0]["changed_by"] == firm_user.username
    assert [v["is_approved_version"] for v in versions] == [False, True]
    assert versions[1]["change"] == "created"
    assert AssetVersion.objects.get(asset=asset, number=1).details["claims"] == 10  # history is never lost


def test_an_edit_that_changes_nothing_makes_no_version(client_for, firm_user, reviewer):
    asset = _approved_asset(firm_user, reviewer)
    r = client_for(firm_user).patch(f"/api/v1/assets/{asset.pk}/", {"title": asset.title}, format="json")
    assert (r.status_code, r.json()["version"], r.json()["status"]) == (200, 1, "approved")
    assert AssetVersion.objects.filter(asset=asset).count() == 1


def test_a_submitted_asset_cannot_be_edited(client_for, firm_user):
    asset = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="x",
        details=patent_details(),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    asset_submit(asset=asset, actor=firm_user.as_actor, user=firm_user)
    r = client_for(firm_user).patch(f"/api/v1/assets/{asset.pk}/", {"title": "y"}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "asset_not_editable")
    assert Asset.objects.get(pk=asset.pk).title == "x"


def test_high_declared_value_needs_two_different_reviewers(client_for, firm_user, reviewer, reviewer2, settings):
    settings.REVIEW_SECOND_REVIEWER_ABOVE = 5_000_000
    asset = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="Big",
        details=patent_details(revenue_history=[{"year": 2025, "amount": "9000000.00"}]),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    client_for(firm_user).post(f"/api/v1/assets/{asset.pk}/submit/")

    first = client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/approve/")
    again = client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/approve/")
    second = client_for(reviewer2).post(f"/api/v1/review/assets/{asset.pk}/approve/")

    assert (first.json()["status"], first.json()["approvals"], first.json()["required_approvals"]) == (
        "submitted",
        1,
        2,
    )
    assert (again.status_code, again.json()["code"]) == (403, "self_review_forbidden")
    assert (second.json()["status"], second.json()["approved_version"]) == ("approved", 1)
    assert AssetReview.objects.filter(asset=asset).count() == 2
    assert AuditEvent.objects.filter(action="asset.approval_recorded", object_id=str(asset.pk)).count() == 1


def test_small_declared_value_needs_one_reviewer(firm_user, reviewer):
    asset = _approved_asset(firm_user, reviewer)
    assert (asset.status, asset.required_approvals) == ("approved", 1)


def test_a_new_version_needs_fresh_reviews_even_from_the_same_reviewer(client_for, firm_user, reviewer):
    asset = _approved_asset(firm_user, reviewer)
    client = client_for(firm_user)
    client.patch(f"/api/v1/assets/{asset.pk}/", {"title": "v2"}, format="json")
    client.post(f"/api/v1/assets/{asset.pk}/submit/")
    r = client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/approve/")
    assert (r.status_code, r.json()["status"], r.json()["approved_version"]) == (200, "approved", 2)


def test_reviews_are_listed_with_reasons(client_for, firm_user, reviewer):
    asset = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="x",
        details=patent_details(revenue_history=SMALL),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    asset_submit(asset=asset, actor=firm_user.as_actor, user=firm_user)
    client_for(reviewer).post(
        f"/api/v1/review/assets/{asset.pk}/reject/", {"reason": "Certificate missing"}, format="json"
    )
    reviews = client_for(firm_user).get(f"/api/v1/assets/{asset.pk}/reviews/").json()["results"]
    assert [(r["version"], r["decision"], r["reason"]) for r in reviews] == [(1, "rejected", "Certificate missing")]


def test_versions_of_another_firms_asset_are_404(client_for, firm_user, reviewer):
    asset = _approved_asset(firm_user, reviewer)
    other = UserFactory()
    assert client_for(other).get(f"/api/v1/assets/{asset.pk}/versions/").status_code == 404
    assert client_for(other).get(f"/api/v1/assets/{asset.pk}/reviews/").status_code == 404
    assert client_for(reviewer).get(f"/api/v1/assets/{asset.pk}/versions/").status_code == 200


def test_retire_is_final(client_for, firm_user, reviewer):
    asset = _approved_asset(firm_user, reviewer)
    client = client_for(firm_user)
    r = client.post(f"/api/v1/assets/{asset.pk}/retire/", {"reason": "sold"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "retired")
    assert client.post(f"/api/v1/assets/{asset.pk}/retire/").json()["code"] == "invalid_transition"
    assert client.patch(f"/api/v1/assets/{asset.pk}/", {"title": "z"}, format="json").status_code == 409


def test_review_queue_filters_by_waiting_time(client_for, firm_user):
    from datetime import timedelta

    from django.utils import timezone

    old = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="old",
        details=patent_details(),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    new = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="new",
        details=patent_details(),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    for a in (old, new):
        asset_submit(asset=a, actor=firm_user.as_actor, user=firm_user)
    Asset.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - timedelta(days=10))
    reviewer = ReviewerFactory()
    r = client_for(reviewer).get("/api/v1/review/assets/?older_than_days=7")
    assert [a["id"] for a in r.json()["results"]] == [old.pk]
    assert len(client_for(reviewer).get("/api/v1/review/assets/").json()["results"]) == 2
