"""Mass assignment: fields the server owns cannot be set through the API.

For every write a firm user, a bank or a reviewer can send, the request carries one legitimate change plus
one field that must not be settable (status, firm, bank, approved version, content hash, valuation figures,
limits, balances, roles, staff flags, ids, timestamps...). Each forbidden field is sent on its own (a
serializer that refused only some of them would hide the others in a combined request), then all of them
together. The answer may be a success that ignores the field or a 400 that refuses it; either way the
protected columns of the database row are what they were (or, for a create, what the server decides)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone

from credit.models import CreditLine, CreditLineMovement, CreditProduct, Pledge, WebhookSubscription
from registry.models import Asset, Consent, Document, Firm, FirmIndicator, ImportJob, User
from tests.credit.helpers import patent_with_valuation
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import AssetFactory, BankFactory, FirmFactory, UserFactory, api_key_for, patent_details
from valuation.models import Valuation, ValuationJob

OK = {200, 201, 202, 204, 400}
LONG_AGO = "2001-01-01T00:00:00+08:00"


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    obj.refresh_from_db()
    return {name: getattr(obj, name) for name in fields}


def each_and_all(extras: dict[str, Any]) -> list[dict[str, Any]]:
    """Every forbidden field alone, then all of them at once."""
    return [{name: value} for name, value in extras.items()] + [dict(extras)]


def assert_row_kept(
    obj: models.Model, protected: list[str], send: Callable[[dict[str, Any]], Any], extras: dict
) -> None:
    for extra in each_and_all(extras):
        before = snapshot(obj, protected)
        response = send(extra)
        assert response.status_code in OK, (extra, response.status_code, response.content[:300])
        assert snapshot(obj, protected) == before, f"{sorted(extra)} changed a protected column"


@pytest.fixture
def world(db, client_for):  # type: ignore[no-untyped-def]
    firm_a, firm_b = FirmFactory(), FirmFactory()
    a_admin = UserFactory(firm=firm_a, username="a-admin")
    bank, other_bank = BankFactory(code="LIVE"), BankFactory(code="OTHER")
    Consent.objects.create(
        firm=firm_a, bank=bank, scopes=["credit_limit", "credit_line"], expires_at=timezone.now() + timedelta(days=30)
    )
    CreditProductFactory(bank=bank, code="IP")
    reviewer = UserFactory(firm=None, role=User.Role.REVIEWER, username="rev", is_staff=True)
    return {
        "firm_a": firm_a,
        "firm_b": firm_b,
        "a_admin": a_admin,
        "bank": bank,
        "other_bank": other_bank,
        "firm": client_for(a_admin),
        "bank_client": client_for(api_key=api_key_for(bank)),
        "reviewer": client_for(reviewer),
    }


# --- firm users ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_asset_patch_changes_only_title_and_details(world):
    asset = AssetFactory(firm=world["firm_a"], status=Asset.Status.DRAFT, approved_version=None)
    extras = {
        "status": "approved",
        "firm": world["firm_b"].uscc,
        "firm_id": world["firm_b"].pk,
        "approved_version": 7,
        "version": 9,
        "required_approvals": 0,
        "content_hash": "f" * 64,
        "identifier": "patent:forged",
        "kind": "data",
        "valuation": 1,
        "value": "99999999.00",
        "rejection_reason": "forged",
        "created_by": world["a_admin"].pk,
        "id": asset.pk + 1000,
        "created_at": LONG_AGO,
    }
    protected = [
        "firm_id",
        "status",
        "approved_version",
        "required_approvals",
        "kind",
        "rejection_reason",
        "created_by_id",
        "created_at",
        "submitted_at",
        "decided_at",
    ]
    counter = iter(range(1000))

    def send(extra: dict[str, Any]) -> Any:
        return world["firm"].patch(
            f"/api/v1/assets/{asset.pk}/", {"title": f"renamed {next(counter)}", **extra}, format="json"
        )

    assert_row_kept(asset, protected, send, extras)
    # And the forged hash / version / identifier never replace the computed ones.
    asset.refresh_from_db()
    assert asset.content_hash != "f" * 64
    assert asset.identifier != "patent:forged"
    assert asset.version < 9
    assert Asset.objects.filter(pk=asset.pk + 1000).exists() is False


@pytest.mark.django_db
def test_asset_create_takes_firm_status_and_versions_from_the_server(world):
    extras = {
        "status": "approved",
        "approved_version": 1,
        "version": 5,
        "required_approvals": 0,
        "firm": world["firm_b"].uscc,
        "firm_id": world["firm_b"].pk,
        "content_hash": "f" * 64,
        "id": 424242,
        "created_at": LONG_AGO,
    }
    for extra in each_and_all(extras):
        body = {"kind": "patent", "title": "new", "details": patent_details(), **extra}
        response = world["firm"].post("/api/v1/assets/", body, format="json")
        assert response.status_code in OK, response.content
        if response.status_code == 201:
            asset = Asset.objects.get(pk=response.json()["id"])
            assert (asset.firm_id, asset.status, asset.approved_version, asset.version) == (
                world["firm_a"].pk,
                Asset.Status.DRAFT,
                None,
                1,
            )
            assert asset.content_hash != "f" * 64
            assert asset.created_at.year == timezone.now().year
    assert not Asset.objects.filter(firm=world["firm_b"]).exists()
    assert not Asset.objects.filter(pk=424242).exists()


@pytest.mark.django_db
def test_firm_profile_patch_cannot_touch_identity_or_activity(world):
    firm = world["firm_a"]
    extras = {
        "uscc": world["firm_b"].uscc,
        "region_code": "110000",
        "is_active": False,
        "id": world["firm_b"].pk,
        "created_at": LONG_AGO,
        "innovation": {"tier": "A"},
        "tier": "A",
    }
    protected = ["uscc", "region_code", "is_active", "created_at"]
    assert_row_kept(
        firm,
        protected,
        lambda extra: world["firm"].patch("/api/v1/firms/me/", {"name": "新名", **extra}, format="json"),
        extras,
    )
    assert Firm.objects.get(pk=world["firm_b"].pk).name == world["firm_b"].name != "新名"


@pytest.mark.django_db
def test_indicator_put_stays_on_the_callers_firm_and_year(world):
    body = {"revenue": "100.00", "rd_expense": "10.00", "staff_count": 10, "rd_staff_count": 2}
    extras = {
        "firm": world["firm_b"].pk,
        "firm_id": world["firm_b"].pk,
        "year": 1999,
        "id": 9999,
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
    }
    for extra in each_and_all(extras):
        response = world["firm"].put("/api/v1/firms/me/indicators/2024/", {**body, **extra}, format="json")
        assert response.status_code in OK, response.content
    assert list(FirmIndicator.objects.values_list("firm_id", "year")) == [(world["firm_a"].pk, 2024)]
    assert FirmIndicator.objects.get().created_at.year == timezone.now().year


@pytest.mark.django_db
def test_member_create_cannot_make_staff_reviewers_or_join_another_firm(world):
    extras = {
        "role": "platform_admin",
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
        "firm": world["firm_b"].pk,
        "firm_id": world["firm_b"].pk,
        "bank": world["bank"].pk,
        "bank_id": world["bank"].pk,
        "id": 2_000_000_777,  # far beyond any id a test database reaches, so its absence proves the point
        "date_joined": LONG_AGO,
    }
    for n, extra in enumerate(each_and_all(extras)):
        body = {"username": f"newcomer{n}", "password": "a-long-passphrase-2026", **extra}
        response = world["firm"].post("/api/v1/firms/me/members/", body, format="json")
        assert response.status_code in OK, response.content
    created = User.objects.filter(username__startswith="newcomer")
    assert created.exists()
    for user in created:
        assert (user.firm_id, user.bank_id, user.is_staff, user.is_superuser, user.is_active) == (
            world["firm_a"].pk,
            None,
            False,
            False,
            True,
        ), user.username
        assert user.role in (User.Role.FIRM_ADMIN, User.Role.FIRM_MEMBER)
    assert not User.objects.filter(pk=2_000_000_777).exists()
    # role is a legitimate field, but only with a firm role: a platform role is refused, not downgraded.
    refused = world["firm"].post(
        "/api/v1/firms/me/members/",
        {"username": "escalate", "password": "a-long-passphrase-2026", "role": "reviewer"},
        format="json",
    )
    assert refused.status_code == 400
    assert not User.objects.filter(username="escalate").exists()


@pytest.mark.django_db
def test_consent_grant_is_always_the_callers_firm_live_and_theirs(world):
    extras = {
        "firm": world["firm_b"].uscc,
        "firm_id": world["firm_b"].pk,
        "revoked_at": LONG_AGO,
        "granted_by": 1,
        "is_live": False,
        "id": 5555,
        "created_at": LONG_AGO,
    }
    expires = (timezone.now() + timedelta(days=60)).isoformat()
    for extra in each_and_all(extras):
        Consent.objects.filter(bank=world["other_bank"]).delete()  # one unrevoked consent per bank
        body = {"bank": "OTHER", "expires_at": expires, **extra}
        response = world["firm"].post("/api/v1/consents/", body, format="json")
        assert response.status_code in OK, response.content
        if response.status_code == 201:
            consent = Consent.objects.get(pk=response.json()["id"])
            assert consent.firm_id == world["firm_a"].pk
            assert consent.revoked_at is None
            assert consent.granted_by_id == world["a_admin"].pk
            assert consent.created_at.year == timezone.now().year
    assert not Consent.objects.filter(firm=world["firm_b"]).exists()


@pytest.mark.django_db
def test_valuation_job_is_the_callers_own(world, django_capture_on_commit_callbacks):
    asset = AssetFactory(firm=world["firm_a"])
    foreign = AssetFactory(firm=world["firm_b"])
    extras = {
        "firm": world["firm_b"].pk,
        "firm_id": world["firm_b"].pk,
        "requested_by": 1,
        "total": 0,
        "status": "succeeded",
        "id": 31337,
    }
    for extra in each_and_all(extras):
        response = world["firm"].post("/api/v1/valuation-jobs/", {"assets": [asset.pk], **extra}, format="json")
        assert response.status_code in OK, response.content
    jobs = ValuationJob.objects.all()
    assert jobs.exists()
    assert {(j.firm_id, j.requested_by_id, j.total) for j in jobs} == {(world["firm_a"].pk, world["a_admin"].pk, 1)}
    assert not ValuationJob.objects.filter(pk=31337).exists()
    # A foreign asset named in the list is not valued: 404, no job.
    response = world["firm"].post("/api/v1/valuation-jobs/", {"assets": [foreign.pk]}, format="json")
    assert response.status_code == 404
    assert not Valuation.objects.filter(asset=foreign).exists()


@pytest.mark.django_db
def test_import_job_is_the_callers_own(world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    extras = {
        "firm": world["firm_b"].pk,
        "firm_id": world["firm_b"].pk,
        "created_by": 1,
        "status": "succeeded",
        "total": 999,
        "created_count": 999,
        "sha256": "0" * 64,
        "id": 4711,
    }
    for n, extra in enumerate(each_and_all(extras)):
        data = {"file": SimpleUploadedFile(f"a{n}.csv", f"title\nrow {n}\n".encode()), "kind": "patent", **extra}
        response = world["firm"].post("/api/v1/imports/", data, format="multipart")
        assert response.status_code in OK, response.content
    jobs = ImportJob.objects.all()
    assert jobs.count() == len(extras) + 1
    for job in jobs:
        assert (job.firm_id, job.created_by_id) == (world["firm_a"].pk, world["a_admin"].pk)
        assert job.sha256 != "0" * 64
        assert job.created_count != 999
    assert not ImportJob.objects.filter(pk=4711).exists()


@pytest.mark.django_db
def test_document_upload_computes_its_own_hash_size_and_asset(world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    asset = AssetFactory(firm=world["firm_a"])
    foreign = AssetFactory(firm=world["firm_b"])
    extras = {
        "asset": foreign.pk,
        "asset_id": foreign.pk,
        "sha256": "0" * 64,
        "size": 1,
        "content_type": "text/html",
        "uploaded_by": 1,
        "file": None,
        "id": 999,
    }
    for n, extra in enumerate(each_and_all(extras)):
        content = b"%PDF-1.4\n" + str(n).encode() + b"\n%%EOF\n"
        extra.pop("file", None)  # the file part is the upload itself
        data = {"file": SimpleUploadedFile("cert.pdf", content), "kind": "rights_certificate", **extra}
        response = world["firm"].post(f"/api/v1/assets/{asset.pk}/documents/", data, format="multipart")
        assert response.status_code in OK, response.content
    documents = Document.objects.all()
    assert documents.count() == len(extras) + 1
    for document in documents:
        assert document.asset_id == asset.pk
        assert document.sha256 != "0" * 64
        assert document.size > 1
        assert document.content_type == "application/pdf"
    assert not Document.objects.filter(asset=foreign).exists()


# --- banks ----------------------------------------------------------------------------------------------------


@pytest.fixture
def pledged(world):  # type: ignore[no-untyped-def]
    valuation = patent_with_valuation(world["firm_a"], "1000000.00")
    line = CreditLine.objects.create(
        bank=world["bank"],
        firm=world["firm_a"],
        product=CreditProduct.objects.get(bank=world["bank"]),
        amount=Decimal("1000.00"),
        secured_amount=Decimal("1000.00"),
        term_months=12,
        matures_on=timezone.localdate() + timedelta(days=365),
        issued_by="tests",
    )
    pledge = Pledge.objects.create(
        credit_line=line,
        asset=valuation.asset,
        valuation=valuation,
        collateral_value=valuation.low,
        pledge_rate=Decimal("0.25"),
        secured_amount=Decimal("1000.00"),
    )
    return line, pledge


@pytest.mark.django_db
def test_pledge_patch_sets_only_the_registration_number(world, pledged):
    _line, pledge = pledged
    other_line = CreditLine.objects.create(
        bank=world["other_bank"],
        firm=world["firm_b"],
        product=CreditProductFactory(bank=world["other_bank"]),
        amount=Decimal("1.00"),
        secured_amount=Decimal("1.00"),
        term_months=12,
        matures_on=timezone.localdate() + timedelta(days=365),
        issued_by="tests",
    )
    extras = {
        "status": "released",
        "released_at": LONG_AGO,
        "secured_amount": "999999999.00",
        "collateral_value": "999999999.00",
        "pledge_rate": "0.99",
        "valuation": 1,
        "asset": AssetFactory(firm=world["firm_b"]).pk,
        "credit_line": other_line.pk,
        "bank": "OTHER",
        "firm": world["firm_b"].uscc,
        "currency": "USD",
        "id": 1234,
    }
    protected = [
        "status",
        "released_at",
        "secured_amount",
        "collateral_value",
        "pledge_rate",
        "valuation_id",
        "asset_id",
        "credit_line_id",
        "currency",
    ]
    counter = iter(range(100))

    def send(extra: dict[str, Any]) -> Any:
        body = {"external_registration_number": f"CNIPA-{next(counter)}", **extra}
        return world["bank_client"].patch(f"/api/v1/pledges/{pledge.pk}/", body, format="json")

    assert_row_kept(pledge, protected, send, extras)
    pledge.refresh_from_db()
    assert pledge.external_registration_number.startswith("CNIPA-")


@pytest.mark.django_db
def test_credit_line_issue_takes_bank_status_and_balances_from_the_server(world):
    extras = {
        "bank": "OTHER",
        "bank_id": world["other_bank"].pk,
        "status": "closed",
        "drawn": "500.00",
        "drawn_amount": "500.00",
        "secured_amount": "1.00",
        "unsecured_amount": "999999.00",
        "limit": "999999999.00",
        "coverage": "9.9",
        "currency": "USD",
        "issued_by": "someone else",
        "id": 8888,
        "created_at": LONG_AGO,
    }
    for n, extra in enumerate(each_and_all(extras)):
        valuation = patent_with_valuation(world["firm_a"], "1000000.00")
        body = {"firm": world["firm_a"].uscc, "product": "IP", "amount": "1000.00", "assets": [valuation.asset_id]}
        response = world["bank_client"].post(
            "/api/v1/credit-lines/", {**body, **extra}, format="json", HTTP_IDEMPOTENCY_KEY=f"line-{n}"
        )
        assert response.status_code in {201, 400}, response.content
    lines = CreditLine.objects.all()
    assert lines.count() == len(extras) + 1
    for line in lines:
        assert line.bank_id == world["bank"].pk
        assert line.status == CreditLine.Status.ACTIVE
        assert line.drawn_amount == Decimal("0.00")
        assert line.secured_amount + line.unsecured_amount == line.amount == Decimal("1000.00")
        assert line.currency == "CNY"
        assert line.issued_by != "someone else"
        assert line.created_at.year == timezone.now().year
    assert not CreditLine.objects.filter(pk=8888).exists()


@pytest.mark.django_db
def test_draw_records_a_draw_on_the_named_line_only(world, pledged):
    line, _pledge = pledged
    extras = {
        "kind": "repayment",
        "drawn_after": "0.00",
        "credit_line": 1,
        "currency": "USD",
        "actor": "someone else",
        "drawn_amount": "0.00",
        "id": 4321,
    }
    for n, extra in enumerate(each_and_all(extras)):
        response = world["bank_client"].post(
            f"/api/v1/credit-lines/{line.pk}/draws/",
            {"amount": "1.00", **extra},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"draw-{n}",
        )
        assert response.status_code in {201, 400}, response.content
    moves = CreditLineMovement.objects.order_by("id")
    assert moves.count() == len(extras) + 1
    assert {(m.credit_line_id, m.kind, m.currency) for m in moves} == {(line.pk, "draw", "CNY")}
    assert [m.drawn_after for m in moves] == [Decimal(n + 1) for n in range(moves.count())]
    line.refresh_from_db()
    assert line.drawn_amount == Decimal(moves.count())


@pytest.mark.django_db
def test_product_create_is_the_callers_bank_in_cny_and_active(world):
    extras = {
        "bank": "OTHER",
        "bank_id": world["other_bank"].pk,
        "currency": "USD",
        "is_active": False,
        "id": 6060,
        "created_at": LONG_AGO,
    }
    for n, extra in enumerate(each_and_all(extras)):
        body = {"code": f"NEW{n}", "name": "new", "pledge_rates": {"patent": "0.25"}, **extra}
        response = world["bank_client"].post("/api/v1/credit/products/", body, format="json")
        assert response.status_code in OK, response.content
    created = CreditProduct.objects.filter(code__startswith="NEW")
    assert created.count() == len(extras) + 1
    assert {(p.bank_id, p.currency, p.is_active) for p in created} == {(world["bank"].pk, "CNY", True)}
    assert not CreditProduct.objects.filter(bank=world["other_bank"]).exists()


@pytest.mark.django_db
def test_webhook_subscription_gets_a_server_secret_and_the_callers_bank(world):
    extras = {"bank": "OTHER", "bank_id": world["other_bank"].pk, "secret": "known-secret", "id": 5150}
    for n, extra in enumerate(each_and_all(extras)):
        body = {"url": f"https://bank.example/hooks/{n}", "events": ["credit_line.at_risk"], **extra}
        response = world["bank_client"].post("/api/v1/webhooks/", body, format="json")
        assert response.status_code in OK, response.content
    subscriptions = WebhookSubscription.objects.all()
    assert subscriptions.count() == len(extras) + 1
    for subscription in subscriptions:
        assert subscription.bank_id == world["bank"].pk
        assert subscription.secret != "known-secret"
        assert len(subscription.secret) >= 32


# --- reviewers ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_valuation_approval_keeps_the_computed_figures(world):
    valuation = patent_with_valuation(world["firm_a"], "800000.00")
    Valuation.objects.filter(pk=valuation.pk).update(status=Valuation.Status.PENDING_REVIEW)
    extras = {
        "value": "999999999.00",
        "low": "999999999.00",
        "high": "999999999.00",
        "status": "rejected",
        "asset": AssetFactory(firm=world["firm_b"]).pk,
        "method": "forged",
        "inputs": {"forged": True},
    }
    protected = ["value", "low", "high", "method", "inputs", "asset_id", "fingerprint"]
    before = snapshot(valuation, protected)
    response = world["reviewer"].post(f"/api/v1/review/valuations/{valuation.pk}/approve/", extras, format="json")
    assert response.status_code == 200, response.content
    assert snapshot(valuation, protected) == before
    assert valuation.status == Valuation.Status.APPROVED
