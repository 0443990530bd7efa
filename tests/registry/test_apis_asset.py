"""The asset endpoints: registration by kind, validation of details, ownership, workflow and review."""

from __future__ import annotations

import pytest

from common.models import AuditEvent
from registry.errors import SelfReviewForbidden
from registry.models import Asset, AssetReview, AssetVersion
from registry.services import asset_approve, asset_create, asset_retire, asset_submit
from tests.factories.registry import (
    UserFactory,
    data_details,
    next_patent_number,
    patent_details,
    software_details,
    trademark_details,
)

pytestmark = pytest.mark.django_db

ASSETS = "/api/v1/assets/"
SMALL = [{"year": 2025, "amount": "1000000.00"}]  # below the two-reviewer threshold


def _post(client, kind, details, title="An asset"):
    return client.post(ASSETS, {"kind": kind, "title": title, "details": details}, format="json")


def _create(user, kind="patent", details=None, title="Lens patent"):
    details = details if details is not None else patent_details(revenue_history=SMALL)
    return asset_create(firm=user.firm, kind=kind, title=title, details=details, actor=user.as_actor, user=user)


def _submitted(user, **kwargs):
    asset = _create(user, **kwargs)
    return asset_submit(asset=asset, actor=user.as_actor, user=user)


def _writes():
    return (Asset.objects.count(), AssetVersion.objects.count(), AuditEvent.objects.count())


def _assert_refused(r, status, code, errors=None):
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == code
    if errors is not None:
        assert sorted(body.get("errors", {})) == sorted(errors), body
    return body


# --- registration, by kind ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "make_details"),
    [
        ("patent", patent_details),
        ("trademark", trademark_details),
        ("software", software_details),
        ("data", data_details),
    ],
)
def test_a_firm_registers_each_kind_of_asset(client_for, firm_user, kind, make_details):
    details = make_details()

    r = _post(client_for(firm_user), kind, details, title=f"My {kind}")

    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["title"], body["status"], body["version"]) == (kind, f"My {kind}", "draft", 1)
    assert (body["firm"], body["approved_version"]) == (firm_user.firm.uscc, None)
    asset = Asset.objects.get(pk=body["id"])
    assert (asset.firm_id, asset.created_by_id) == (firm_user.firm_id, firm_user.pk)
    assert asset.details == body["details"]
    assert list(asset.versions.values_list("number", "change")) == [(1, "created")]
    assert AuditEvent.objects.filter(action="asset.created", object_id=str(asset.pk)).count() == 1


def test_identifiers_are_normalised_on_registration(client_for, firm_user):
    number = next_patent_number()  # "2021100000NN.C"
    r = _post(client_for(firm_user), "patent", patent_details(number=f"CN{number.replace('.', '')}"))
    assert r.status_code == 201, r.content
    assert r.json()["details"]["number"] == number
    assert Asset.objects.get().identifier == f"patent:{number}"

    r = _post(client_for(firm_user), "trademark", trademark_details(nice_classes=[42, 9, 35]))
    assert r.json()["details"]["nice_classes"] == [9, 35, 42]

    r = _post(client_for(firm_user), "software", software_details(registration_number="2019sr0123456"))
    assert r.json()["details"]["registration_number"] == "2019SR0123456"


# --- validation of details ------------------------------------------------------------------------


def _wrong_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("kind", "details", "error_path"),
    [
        pytest.param(
            "patent", patent_details(number=_wrong_check(next_patent_number())), "details.number", id="check-char"
        ),
        pytest.param(
            "patent",
            # a utility model number (kind digit 2) declared as an invention
            patent_details(number=next_patent_number(kind_digit="2"), patent_type="invention"),
            "details.patent_type",
            id="type-vs-kind-digit",
        ),
        pytest.param(
            "patent",
            patent_details(filing_date="2021-03-15", grant_date="2021-03-14"),
            "details.grant_date",
            id="grant-before-filing",
        ),
        pytest.param("data", data_details(security_level="core"), "details.security_level", id="core-data"),
        pytest.param("data", data_details(colour="blue"), "details.colour", id="unknown-field"),
        pytest.param("patent", patent_details(owner="someone"), "details.owner", id="unknown-patent-field"),
        pytest.param(
            "data",
            data_details(cost={"acquisition": "-0.01"}),
            "details.cost.acquisition",
            id="negative-cost",
        ),
        pytest.param(
            "trademark",
            trademark_details(revenue_history=[{"year": 2025, "amount": "-100.00"}]),
            "details.revenue_history.0.amount",
            id="negative-revenue",
        ),
        pytest.param("trademark", trademark_details(nice_classes=[46]), "details.nice_classes.0", id="nice-46"),
        pytest.param(
            "software",
            software_details(completed_on="2020-05-10", first_published_on="2020-05-09"),
            "details.first_published_on",
            id="published-before-completed",
        ),
    ],
)
def test_invalid_details_are_refused_under_their_dotted_path(client_for, firm_user, kind, details, error_path):
    before = _writes()

    r = _post(client_for(firm_user), kind, details)

    _assert_refused(r, 400, "validation_failed", errors=[error_path])
    assert _writes() == before


def test_details_of_the_wrong_kind_are_refused(client_for, firm_user):
    # patent metadata sent as a trademark: the patent field is unknown to a trademark
    r = _post(client_for(firm_user), "trademark", trademark_details(patent_type="invention"))
    _assert_refused(r, 400, "validation_failed", errors=["details.patent_type"])
    assert Asset.objects.count() == 0


def test_details_must_be_an_object(client_for, firm_user):
    r = _post(client_for(firm_user), "patent", ["not", "an", "object"])
    _assert_refused(r, 400, "validation_failed")
    assert Asset.objects.count() == 0


# --- registry-wide identifiers ----------------------------------------------------------------------


def test_the_same_patent_registered_by_another_firm_is_409_and_nothing_is_written(client_for, firm_user):
    number = next_patent_number()
    assert _post(client_for(firm_user), "patent", patent_details(number=number)).status_code == 201
    other_firm_user = UserFactory()
    before = _writes()

    # written differently (prefix, no dot), it is still the same application
    r = _post(client_for(other_firm_user), "patent", patent_details(number=f"ZL{number.replace('.', '')}"))

    body = _assert_refused(r, 409, "identifier_already_registered")
    assert body["identifier"] == number
    assert _writes() == before
    assert not Asset.objects.filter(firm=other_firm_user.firm).exists()


@pytest.mark.parametrize(
    ("kind", "make_details", "field"),
    [("trademark", trademark_details, "number"), ("software", software_details, "registration_number")],
)
def test_other_identifiers_are_registry_wide_too(client_for, firm_user, kind, make_details, field):
    details = make_details()
    assert _post(client_for(firm_user), kind, details).status_code == 201
    before = _writes()

    r = _post(client_for(UserFactory()), kind, make_details(**{field: details[field]}))

    _assert_refused(r, 409, "identifier_already_registered")
    assert _writes() == before


def test_the_same_firm_cannot_register_a_patent_twice_either(client_for, firm_user):
    details = patent_details()
    assert _post(client_for(firm_user), "patent", details).status_code == 201
    _assert_refused(_post(client_for(firm_user), "patent", details), 409, "identifier_already_registered")
    assert Asset.objects.count() == 1


# --- who may see and touch what -------------------------------------------------------------------


def test_another_firm_cannot_see_edit_or_submit_an_asset(client_for, firm_user):
    asset = _create(firm_user)
    intruder = client_for(UserFactory())
    before = _writes()

    _assert_refused(intruder.get(f"{ASSETS}{asset.pk}/"), 404, "not_found")
    _assert_refused(intruder.patch(f"{ASSETS}{asset.pk}/", {"title": "mine"}, format="json"), 404, "not_found")
    _assert_refused(intruder.post(f"{ASSETS}{asset.pk}/submit/"), 404, "not_found")
    assert intruder.get(ASSETS).json()["results"] == []

    asset.refresh_from_db()
    assert (asset.title, asset.status, asset.version) == ("Lens patent", "draft", 1)
    assert _writes() == before


def test_a_bank_api_key_is_not_allowed_on_assets(client_for, bank_key, firm_user):
    asset = _create(firm_user)
    bank = client_for(api_key=bank_key)

    _assert_refused(bank.get(ASSETS), 403, "permission_denied")
    _assert_refused(bank.get(f"{ASSETS}{asset.pk}/"), 403, "permission_denied")
    _assert_refused(_post(bank, "patent", patent_details()), 403, "permission_denied")
    assert Asset.objects.count() == 1


def test_a_reviewer_cannot_register_or_edit_assets(client_for, reviewer, firm_user):
    asset = _create(firm_user)
    client = client_for(reviewer)
    _assert_refused(_post(client, "patent", patent_details()), 403, "permission_denied")
    _assert_refused(client.patch(f"{ASSETS}{asset.pk}/", {"title": "x"}, format="json"), 403, "permission_denied")
    assert Asset.objects.count() == 1
    assert Asset.objects.get().title == "Lens patent"


# --- editing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["status", "firm", "approved_version", "identifier"])
def test_patch_cannot_mass_assign_protected_fields(client_for, firm_user, field):
    asset = _create(firm_user)
    other = UserFactory()
    value = {"status": "approved", "firm": other.firm.uscc, "approved_version": 1, "identifier": "patent:x"}[field]
    before = _writes()

    r = client_for(firm_user).patch(f"{ASSETS}{asset.pk}/", {"title": "Renamed", field: value}, format="json")

    _assert_refused(r, 400, "validation_failed", errors=[field])
    asset.refresh_from_db()
    assert (asset.title, asset.status, asset.firm_id, asset.version, asset.approved_version) == (
        "Lens patent",
        "draft",
        firm_user.firm_id,
        1,
        None,
    )
    assert _writes() == before


def test_patch_of_a_draft_makes_a_new_version(client_for, firm_user):
    asset = _create(firm_user)
    r = client_for(firm_user).patch(f"{ASSETS}{asset.pk}/", {"title": "Renamed"}, format="json")
    assert (r.status_code, r.json()["title"], r.json()["version"], r.json()["status"]) == (200, "Renamed", 2, "draft")
    assert AssetVersion.objects.filter(asset=asset).count() == 2


def test_patch_validates_details_like_create(client_for, firm_user):
    asset = _create(firm_user)
    details = {**asset.details, "grant_date": "2000-01-01"}
    r = client_for(firm_user).patch(f"{ASSETS}{asset.pk}/", {"details": details}, format="json")
    _assert_refused(r, 400, "validation_failed", errors=["details.grant_date"])
    asset.refresh_from_db()
    assert (asset.version, asset.details["grant_date"]) == (1, "2022-09-20")


def test_patch_to_another_firms_patent_number_is_409(client_for, firm_user):
    taken = _create(UserFactory()).details["number"]
    asset = _create(firm_user)
    r = client_for(firm_user).patch(
        f"{ASSETS}{asset.pk}/", {"details": {**asset.details, "number": taken}}, format="json"
    )
    _assert_refused(r, 409, "identifier_already_registered")
    number = asset.details["number"]
    asset.refresh_from_db()
    assert (asset.version, asset.details["number"]) == (1, number)
    assert AssetVersion.objects.filter(asset=asset).count() == 1


@pytest.mark.parametrize("state", ["submitted", "retired"])
def test_patch_of_an_asset_under_review_or_retired_is_409_asset_not_editable(client_for, firm_user, state):
    asset = _submitted(firm_user) if state == "submitted" else _create(firm_user)
    if state == "retired":
        asset_retire(asset=asset, actor=firm_user.as_actor)
    before = _writes()

    r = client_for(firm_user).patch(f"{ASSETS}{asset.pk}/", {"title": "Changed"}, format="json")

    body = _assert_refused(r, 409, "asset_not_editable")
    assert body["current_status"] == state
    asset.refresh_from_db()
    assert (asset.title, asset.status, asset.version) == ("Lens patent", state, 1)
    assert _writes() == before


def test_patch_of_an_approved_asset_keeps_the_approved_version_for_credit(client_for, firm_user, reviewer):
    # Design (registry/transitions.py EDITABLE_STATUSES): an approved asset is editable; the edit is a new
    # draft version that goes back to review while approved_version stays the one credit decisions use.
    asset = _submitted(firm_user)
    asset_approve(asset=asset, reviewer=reviewer)

    r = client_for(firm_user).patch(f"{ASSETS}{asset.pk}/", {"title": "Changed"}, format="json")

    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["version"], r.json()["approved_version"]) == ("draft", 2, 1)


# --- workflow -------------------------------------------------------------------------------------


def test_submit_moves_a_draft_to_submitted(client_for, firm_user):
    asset = _create(firm_user)
    r = client_for(firm_user).post(f"{ASSETS}{asset.pk}/submit/")
    assert (r.status_code, r.json()["status"]) == (200, "submitted")
    asset.refresh_from_db()
    assert (asset.submitted_by_id, asset.submitted_at is not None) == (firm_user.pk, True)


def test_submit_twice_is_409_invalid_transition(client_for, firm_user):
    asset = _create(firm_user)
    client = client_for(firm_user)
    assert client.post(f"{ASSETS}{asset.pk}/submit/").status_code == 200
    submitted_at = Asset.objects.get(pk=asset.pk).submitted_at
    before = _writes()

    r = client.post(f"{ASSETS}{asset.pk}/submit/")

    body = _assert_refused(r, 409, "invalid_transition")
    assert body["current_status"] == "submitted"
    assert Asset.objects.get(pk=asset.pk).submitted_at == submitted_at
    assert _writes() == before


def test_a_reviewer_approves_a_submitted_asset(client_for, firm_user, reviewer):
    asset = _submitted(firm_user)

    r = client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/approve/")

    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["approved_version"], r.json()["approvals"]) == ("approved", 1, 1)
    asset.refresh_from_db()
    assert asset.decided_by_id == reviewer.pk
    assert list(AssetReview.objects.values_list("reviewer_id", "decision")) == [(reviewer.pk, "approved")]


def test_a_firm_user_cannot_approve_its_own_asset(client_for, firm_user):
    asset = _submitted(firm_user)
    _assert_refused(client_for(firm_user).post(f"/api/v1/review/assets/{asset.pk}/approve/"), 403, "permission_denied")
    assert Asset.objects.get(pk=asset.pk).status == "submitted"
    assert AssetReview.objects.count() == 0


def test_approving_a_draft_is_409(client_for, firm_user, reviewer):
    asset = _create(firm_user)
    body = _assert_refused(
        client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/approve/"), 409, "invalid_transition"
    )
    assert body["current_status"] == "draft"
    assert AssetReview.objects.count() == 0


def test_a_reviewer_who_prepared_the_asset_cannot_approve_it_through_the_api(client_for, firm_user, reviewer):
    # given an asset a reviewer keyed in for the firm (e.g. from a paper dossier), which the firm submitted
    asset = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="Keyed in",
        details=patent_details(revenue_history=SMALL),
        actor=reviewer.as_actor,
        user=reviewer,
    )
    asset_submit(asset=asset, actor=firm_user.as_actor, user=firm_user)

    r = client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/approve/")

    _assert_refused(r, 403, "self_review_forbidden")
    assert Asset.objects.get(pk=asset.pk).status == "submitted"
    assert AssetReview.objects.count() == 0


def test_a_reviewer_who_submitted_the_asset_cannot_decide_it(firm_user, reviewer):
    # submitted_by is a reviewer only when a service submits on someone's behalf: the API cannot produce it
    asset = _create(firm_user)
    asset = asset_submit(asset=asset, actor=reviewer.as_actor, user=reviewer)

    with pytest.raises(SelfReviewForbidden):
        asset_approve(asset=asset, reviewer=reviewer)

    assert Asset.objects.get(pk=asset.pk).status == "submitted"
    assert AssetReview.objects.count() == 0


def test_the_same_reviewer_cannot_give_both_approvals(client_for, firm_user, reviewer, reviewer2, settings):
    settings.REVIEW_SECOND_REVIEWER_ABOVE = 0  # any declared value needs two reviewers
    asset = _submitted(firm_user)
    assert asset.required_approvals == 2
    first = client_for(reviewer)
    assert first.post(f"/api/v1/review/assets/{asset.pk}/approve/").json()["approvals"] == 1

    _assert_refused(first.post(f"/api/v1/review/assets/{asset.pk}/approve/"), 403, "self_review_forbidden")
    assert Asset.objects.get(pk=asset.pk).status == "submitted"

    r = client_for(reviewer2).post(f"/api/v1/review/assets/{asset.pk}/approve/")
    assert (r.json()["status"], r.json()["approvals"]) == ("approved", 2)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_reject_needs_a_reason(client_for, firm_user, reviewer, body):
    asset = _submitted(firm_user)
    before = _writes()

    r = client_for(reviewer).post(f"/api/v1/review/assets/{asset.pk}/reject/", body, format="json")

    _assert_refused(r, 400, "validation_failed", errors=["reason"])
    assert Asset.objects.get(pk=asset.pk).status == "submitted"
    assert AssetReview.objects.count() == 0
    assert _writes() == before


def test_a_rejected_asset_shows_the_reason_to_the_firm_and_can_be_resubmitted(client_for, firm_user, reviewer):
    asset = _submitted(firm_user)
    r = client_for(reviewer).post(
        f"/api/v1/review/assets/{asset.pk}/reject/", {"reason": "  Evidence of ownership missing. "}, format="json"
    )
    assert (r.status_code, r.json()["status"]) == (200, "rejected")

    firm = client_for(firm_user)
    body = firm.get(f"{ASSETS}{asset.pk}/").json()
    assert (body["status"], body["rejection_reason"]) == ("rejected", "Evidence of ownership missing.")

    r = firm.post(f"{ASSETS}{asset.pk}/submit/")
    assert (r.status_code, r.json()["status"], r.json()["rejection_reason"]) == (200, "submitted", "")


# --- the list -------------------------------------------------------------------------------------


def test_list_filters_by_kind_and_status(client_for, firm_user):
    patent = _create(firm_user)
    submitted_patent = _submitted(firm_user)
    trademark = _create(firm_user, kind="trademark", details=trademark_details())
    data = _create(firm_user, kind="data", details=data_details())
    _create(UserFactory())  # another firm's patent never shows
    client = client_for(firm_user)

    def ids(query: str) -> list[int]:
        r = client.get(f"{ASSETS}{query}")
        assert r.status_code == 200, r.content
        return [a["id"] for a in r.json()["results"]]

    assert ids("") == [data.pk, trademark.pk, submitted_patent.pk, patent.pk]
    assert ids("?kind=patent") == [submitted_patent.pk, patent.pk]
    assert ids("?kind=trademark") == [trademark.pk]
    assert ids("?status=submitted") == [submitted_patent.pk]
    assert ids("?kind=patent&status=draft") == [patent.pk]
    assert ids("?kind=software") == []


def test_list_refuses_an_unknown_filter_value(client_for, firm_user):
    _assert_refused(client_for(firm_user).get(f"{ASSETS}?kind=vehicle"), 400, "validation_failed", errors=["kind"])
    _assert_refused(client_for(firm_user).get(f"{ASSETS}?status=lost"), 400, "validation_failed", errors=["status"])


def test_list_is_paginated_with_next_links(client_for, firm_user):
    created = [_create(firm_user, title=f"Patent {i}").pk for i in range(5)]
    client = client_for(firm_user)

    seen, url, pages = [], f"{ASSETS}?page_size=2", 0
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 2
        seen += [a["id"] for a in page["results"]]
        url, pages = page["next"], pages + 1

    assert pages == 3
    assert seen == sorted(created, reverse=True)


def test_first_page_has_next_and_no_previous(client_for, firm_user):
    for i in range(3):
        _create(firm_user, title=f"Patent {i}")
    page = client_for(firm_user).get(f"{ASSETS}?page_size=2").json()
    assert page["next"] is not None
    assert page["previous"] is None
    assert "page_size=2" in page["next"]
    assert "cursor=" in page["next"]


def _many_assets(user, n):
    Asset.objects.bulk_create(
        Asset(
            firm=user.firm,
            kind="patent",
            title=f"Patent {i}",
            details=patent_details(),
            created_by=user,
        )
        for i in range(n)
    )


# Token look-up (1), the page of assets with their firm and approval count (1), their documents (1).
ASSET_LIST_QUERIES = 3


@pytest.mark.parametrize("n", [3, 30])
def test_the_asset_list_costs_a_fixed_number_of_queries(client_for, firm_user, reviewer, django_assert_num_queries, n):
    _many_assets(firm_user, n)
    AssetReview.objects.bulk_create(
        AssetReview(asset=a, version=1, reviewer=reviewer, decision="approved") for a in Asset.objects.all()
    )
    client = client_for(firm_user)

    with django_assert_num_queries(ASSET_LIST_QUERIES):
        r = client.get(ASSETS)

    assert r.status_code == 200
    assert len(r.json()["results"]) == n
    assert {a["approvals"] for a in r.json()["results"]} == {1}
