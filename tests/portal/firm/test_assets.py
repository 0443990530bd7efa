"""Assets in the firm portal: list, page, registration through the API's checks and service, submit, evidence."""

from __future__ import annotations

from html import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.models import AuditEvent
from registry.identifiers import patent_number_build
from registry.models import Asset, AssetReview, Document
from registry.services import asset_update
from tests.factories.credit import PledgeFactory
from tests.factories.registry import AssetFactory, ReviewerFactory, UserFactory, next_patent_number, patent_details
from tests.factories.valuation import ValuationFactory

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _bad_patent_number() -> str:
    number = next_patent_number()
    digits, check = number.split(".")
    return f"{digits}.{'0' if check != '0' else '1'}"


def _patent_form(**overrides: str) -> dict[str, str]:
    form = {
        "title": "硅光调制器封装结构",
        "number": next_patent_number(),
        "patent_type": "invention",
        "filing_date": "2021-03-15",
        "legal_status": "valid",
        "grant_date": "2022-09-20",
        "claims": "12",
        "ipc": "G06F 16/00;H04L 9/32",
        "revenue_history": "2024:8000000.00;2025:10000000.00",
    }
    form.update(overrides)
    return form


# --- list and page -----------------------------------------------------------------------------------------


def test_the_list_shows_only_the_firms_assets_and_filters_by_kind_and_status(firm, admin_client) -> None:  # type: ignore[no-untyped-def]
    AssetFactory(firm=firm, title="Own patent")
    AssetFactory(firm=firm, title="Own draft", status="draft")
    AssetFactory(title="Someone else's patent")
    body = admin_client.get(reverse("portal_firm:asset-list")).text
    assert "Own patent" in body
    assert "Own draft" in body
    assert "Someone else" not in body
    filtered = admin_client.get(reverse("portal_firm:asset-list"), {"status": "draft"}).text
    assert "Own draft" in filtered
    assert "Own patent" not in filtered
    assert admin_client.get(reverse("portal_firm:asset-list"), {"kind": "car"}).status_code == 400


def _list_queries(firm, client, n: int) -> int:  # type: ignore[no-untyped-def]
    for _ in range(n):
        PledgeFactory(valuation=ValuationFactory(asset=AssetFactory(firm=firm)))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("portal_firm:asset-list"))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_list_costs_the_same_queries_for_3_or_15_assets(firm, admin_client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    assert _list_queries(firm, admin_client, 3) == _list_queries(firm, admin_client, 12)
    with django_assert_max_num_queries(10):
        admin_client.get(reverse("portal_firm:asset-list"))


def test_the_list_is_paginated(firm, admin_client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(27):
        AssetFactory(firm=firm)
    first = admin_client.get(reverse("portal_firm:asset-list"))
    assert first.text.count('data-testid="asset-row"') == 25
    second = admin_client.get(reverse("portal_firm:asset-list"), {"page": 2})
    assert second.text.count('data-testid="asset-row"') == 2


def test_another_firms_asset_is_404_everywhere(admin_client) -> None:  # type: ignore[no-untyped-def]
    other = AssetFactory(status="draft")
    assert admin_client.get(reverse("portal_firm:asset-detail", args=[other.pk])).status_code == 404
    assert admin_client.post(reverse("portal_firm:asset-submit", args=[other.pk])).status_code == 404
    upload = {"file": SimpleUploadedFile("a.pdf", PDF_BYTES), "kind": "contract"}
    assert admin_client.post(reverse("portal_firm:document-upload", args=[other.pk]), upload).status_code == 404
    assert Document.objects.count() == 0
    assert Asset.objects.get(pk=other.pk).status == "draft"


def test_the_asset_page_shows_versions_diff_valuations_reviews_and_pledge(firm, admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    asset = AssetFactory(firm=firm, title="Laser head", status="draft")
    asset_update(asset=asset, actor=admin.as_actor, user=admin, title="Laser welding head")
    asset.refresh_from_db()
    asset.status, asset.approved_version = "approved", asset.version
    asset.save()
    reviewer = ReviewerFactory(username="checker")
    AssetReview.objects.create(asset=asset, version=2, reviewer=reviewer, decision="approved")
    AssetReview.objects.create(asset=asset, version=1, reviewer=reviewer, decision="rejected", reason="Need the grant")
    valuation = ValuationFactory(
        asset=asset,
        asset_version=2,
        explanation={
            "methods": {
                "relief_from_royalty": {
                    "value": "900000.00",
                    "low": "700000.00",
                    "high": "1100000.00",
                    "weight": "0.6",
                },
                "cost": {"value": "1150000.00", "low": "950000.00", "high": "1300000.00", "weight": "0.4"},
            }
        },
    )
    PledgeFactory(valuation=valuation, credit_line__product__bank__name="Wuhan pledge bank")
    body = admin_client.get(reverse("portal_firm:asset-detail", args=[asset.pk])).text
    assert "Laser welding head" in body
    assert 'class="diff-removed">Laser head<' in body
    assert 'class="diff-added">Laser welding head<' in body
    assert f"/api/v1/valuations/{valuation.pk}/report.pdf" in body
    assert "relief from royalty" in body
    assert "0.6" in body
    assert "1,150,000.00" in body
    assert body.count("<svg") == 2  # the range and the methods
    assert "checker" in body
    assert "Need the grant" in body
    assert "Wuhan pledge bank" in body


# --- register ----------------------------------------------------------------------------------------------


def test_a_bad_patent_number_gets_the_same_message_as_the_api(admin, admin_client, client_for) -> None:  # type: ignore[no-untyped-def]
    bad = _bad_patent_number()
    api = client_for(admin).post(
        "/api/v1/assets/",
        {"kind": "patent", "title": "x", "details": {**patent_details(), "number": bad}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert api.status_code == 400
    message = api.json()["errors"]["details.number"][0]
    assert "check character" in message

    response = admin_client.post("/firm/assets/new/patent/", _patent_form(number=bad))
    assert response.status_code == 400
    assert response.context["form"].errors["number"] == [message]
    assert escape(message) in response.text
    assert 'id="id_number-error-1"' in response.text  # under the number field
    assert Asset.objects.count() == 0


def test_the_same_message_in_chinese_too(admin, signed_in, client_for) -> None:  # type: ignore[no-untyped-def]
    bad = _bad_patent_number()
    api = client_for(admin).post(
        "/api/v1/assets/",
        {"kind": "patent", "title": "x", "details": {**patent_details(), "number": bad}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    response = signed_in(admin, language="zh-hans").post("/firm/assets/new/patent/", _patent_form(number=bad))
    assert response.context["form"].errors["number"] == api.json()["errors"]["details.number"]


def test_missing_and_nested_fields_are_reported_under_their_fields(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post(
        "/firm/assets/new/patent/", _patent_form(title="", legal_status="", grant_date="2020-01-01")
    )
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert errors["title"] == ["This field is required."]
    assert errors["legal_status"] == ["This field is required."]
    bad_revenue = admin_client.post("/firm/assets/new/patent/", _patent_form(revenue_history="2024:-5"))
    assert "revenue_history" in bad_revenue.context["form"].errors
    data = admin_client.post(
        "/firm/assets/new/data/",
        {
            "title": "Sensor data",
            "description": "d",
            "category": "iot",
            "source": "self_generated",
            "record_count": "10",
            "update_frequency": "daily",
            "security_level": "general",
            "rights": ["holding"],
            "quality_accuracy": "101",
        },
    )
    assert "quality_accuracy" in data.context["form"].errors


def test_a_valid_patent_is_registered_with_its_version_and_audit_event(admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    number = patent_number_build("202110123456")
    response = admin_client.post("/firm/assets/new/patent/", _patent_form(number=number))
    asset = Asset.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal_firm:asset-detail", args=[asset.pk])
    assert (asset.firm_id, asset.kind, asset.status, asset.created_by_id) == (
        admin.firm_id,
        "patent",
        "draft",
        admin.pk,
    )
    assert asset.details["ipc"] == ["G06F 16/00", "H04L 9/32"]
    assert asset.details["revenue_history"] == [
        {"year": 2024, "amount": "8000000.00"},
        {"year": 2025, "amount": "10000000.00"},
    ]
    assert asset.versions.count() == 1
    event = AuditEvent.objects.get(action="asset.created", object_id=str(asset.pk))
    assert event.actor_label == f"user:{admin.username}"
    page = admin_client.get(response.url)
    assert "registered as a draft" in page.text


def test_each_kind_can_be_registered(admin_client) -> None:  # type: ignore[no-untyped-def]
    forms = {
        "trademark": {"title": "光谷星", "number": "41234567", "nice_classes": "9;42", "valid_until": "2031-06-30"},
        "software": {
            "title": "调度系统",
            "registration_number": "2016SR172900",
            "version": "V2.1",
            "completed_on": "2016-03-01",
        },
        "data": {
            "title": "产线数据",
            "description": "每日读数",
            "category": "industrial_iot",
            "source": "self_generated",
            "record_count": "1200000",
            "update_frequency": "daily",
            "security_level": "general",
            "rights": ["holding", "processing_use"],
            "contains_personal_info": "on",
            "cost_acquisition": "300000.00",
        },
    }
    for kind, form in forms.items():
        response = admin_client.post(f"/firm/assets/new/{kind}/", form)
        assert response.status_code == 302, (kind, response.context and response.context["form"].errors)
    data = Asset.objects.get(kind="data")
    assert data.details["rights"] == ["holding", "processing_use"]
    assert data.details["contains_personal_info"] is True
    assert data.details["cost"] == {"acquisition": "300000.00"}
    assert Asset.objects.get(kind="trademark").details["nice_classes"] == [9, 42]


def test_an_identifier_already_registered_is_reported_under_the_number(admin_client) -> None:  # type: ignore[no-untyped-def]
    existing = AssetFactory()
    response = admin_client.post("/firm/assets/new/patent/", _patent_form(number=existing.details["number"]))
    assert response.status_code == 400
    assert "already registered" in response.context["form"].errors["number"][0]


def test_a_draft_is_submitted_for_review_by_a_member_too(firm, member, signed_in) -> None:  # type: ignore[no-untyped-def]
    asset = AssetFactory(firm=firm, status="draft")
    client = signed_in(member)
    assert 'data-testid="submit-asset"' in client.get(reverse("portal_firm:asset-detail", args=[asset.pk])).text
    assert client.get(reverse("portal_firm:asset-submit", args=[asset.pk])).status_code == 405
    response = client.post(reverse("portal_firm:asset-submit", args=[asset.pk]), follow=True)
    asset.refresh_from_db()
    assert asset.status == "submitted"
    assert asset.submitted_by_id == member.pk
    assert AuditEvent.objects.filter(action="asset.submitted", object_id=str(asset.pk)).exists()
    assert "submitted for review" in response.text
    again = client.post(reverse("portal_firm:asset-submit", args=[asset.pk]), follow=True)
    assert "cannot go from submitted to submitted" in again.text


# --- evidence ----------------------------------------------------------------------------------------------


def test_evidence_is_uploaded_through_the_document_service(firm, admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    asset = AssetFactory(firm=firm)
    url = reverse("portal_firm:document-upload", args=[asset.pk])
    response = admin_client.post(url, {"file": SimpleUploadedFile("证书.pdf", PDF_BYTES), "kind": "rights_certificate"})
    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.asset_id, document.content_type, document.original_name) == (
        asset.pk,
        "application/pdf",
        "证书.pdf",
    )
    assert AuditEvent.objects.filter(action="document.uploaded", object_id=str(document.pk)).exists()
    assert "证书.pdf" in admin_client.get(reverse("portal_firm:asset-detail", args=[asset.pk])).text
    again = admin_client.post(
        url, {"file": SimpleUploadedFile("copy.pdf", PDF_BYTES), "kind": "rights_certificate"}, follow=True
    )
    assert "already on the asset" in again.text
    assert Document.objects.count() == 1


def test_bad_evidence_is_refused_with_the_apis_messages(firm, admin_client) -> None:  # type: ignore[no-untyped-def]
    asset = AssetFactory(firm=firm)
    url = reverse("portal_firm:document-upload", args=[asset.pk])
    no_kind = admin_client.post(url, {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    assert no_kind.status_code == 400
    assert no_kind.context["upload_form"].errors["kind"] == ["This field is required."]
    exe = admin_client.post(url, {"file": SimpleUploadedFile("a.exe", b"MZ\x90\x00binary"), "kind": "other"})
    assert exe.status_code == 400
    assert "not an accepted evidence type" in exe.context["upload_form"].errors["file"][0]
    assert Document.objects.count() == 0


def test_a_member_of_another_firm_cannot_see_the_asset(firm, signed_in) -> None:  # type: ignore[no-untyped-def]
    asset = AssetFactory(firm=firm)
    stranger = signed_in(UserFactory())
    assert stranger.get(reverse("portal_firm:asset-detail", args=[asset.pk])).status_code == 404


def _detail_queries(firm, admin, client, n: int) -> int:  # type: ignore[no-untyped-def]
    asset = AssetFactory(firm=firm, status="draft")
    reviewer = ReviewerFactory()
    for i in range(n):
        asset_update(asset=asset, actor=admin.as_actor, user=admin, title=f"Title {i}")
        AssetReview.objects.create(asset=asset, version=i + 2, reviewer=reviewer, decision="rejected", reason="r")
        ValuationFactory(asset=asset, status="superseded")
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("portal_firm:asset-detail", args=[asset.pk])).status_code == 200
    return len(captured.captured_queries)


def test_the_asset_page_costs_the_same_queries_however_long_its_history(firm, admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    assert _detail_queries(firm, admin, admin_client, 1) == _detail_queries(firm, admin, admin_client, 5)
