"""GET /api/v1/valuations/{id}/report.pdf: the valuation report, read back with pypdf, in both languages."""

from __future__ import annotations

import io
import re

import pytest
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader

from common.audit import system_actor
from registry.models import Consent
from tests.factories.bulk import approved_patents
from tests.factories.registry import BankFactory, FirmFactory, ReviewerFactory, UserFactory, api_key_for
from tests.factories.valuation import ValuationFactory
from valuation import services
from valuation.models import Valuation
from valuation.reports import valuation_report_data, valuation_report_pdf

pytestmark = pytest.mark.django_db


def _url(valuation: Valuation) -> str:
    return f"/api/v1/valuations/{valuation.pk}/report.pdf"


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(text: str) -> str:
    """The text without line breaks and spaces (a long title may wrap)."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def valued(django_capture_on_commit_callbacks):
    """A real valuation of an approved patent (the engine, not a factory), and its firm's user."""
    firm = FirmFactory(name="武汉光谷报告测试有限公司")
    user = UserFactory(firm=firm)
    [asset] = approved_patents(firm=firm, count=1)
    asset.title = "硅光调制器封装结构"
    asset.save(update_fields=["title"])
    with django_capture_on_commit_callbacks(execute=True):
        services.valuation_job_create(assets=[asset], user=user, actor=system_actor("tests"))
    return Valuation.objects.get(asset=asset), user


def test_the_report_in_english_shows_the_asset_range_methods_and_fingerprint(client_for, valued):
    valuation, user = valued
    response = client_for(user).get(_url(valuation), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="valuation-{valuation.pk}.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = _text(response.content)
    flat = _flat(text)
    assert "Valuation report" in text
    assert "硅光调制器封装结构" in text
    assert "武汉光谷报告测试有限公司" in text
    assert valuation.asset.firm.uscc in text
    assert valuation.asset.identifier in text
    for amount in (valuation.low, valuation.value, valuation.high):
        assert f"{amount:f} CNY" in text  # exactly the API's decimal string
    methods = valuation.explanation["methods"]
    assert methods, "the engine records a breakdown"
    labels = {"cost": "Cost approach", "income": "Income approach", "relief_from_royalty": "Relief from royalty"}
    for code in methods:
        assert labels[code] in text
        assert methods[code]["value"] in text
    assert "Parameter set" in text
    assert valuation.parameter_set in text
    assert valuation.engine_version in text
    assert str(valuation.seed) in text
    assert valuation.fingerprint in flat
    assert "Pending review" in text or "pending review" in text


def test_the_report_in_chinese_has_chinese_labels(client_for, valued):
    valuation, user = valued
    response = client_for(user).get(_url(valuation), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    text = _text(response.content)
    # The labels are whatever valuation/locale says in Chinese; they must be Chinese and in the report.
    with translation.override("zh-hans"):
        labels = [
            gettext(m) for m in ("Valuation report", "Parameter set", "Relief from royalty", "Fingerprint (SHA-256)")
        ]
    for label in labels:
        assert re.search(r"[\u4e00-\u9fff]", label), f"{label!r} is not translated"
        assert _flat(label) in _flat(text)
    assert "硅光调制器封装结构" in text
    for amount in (valuation.low, valuation.value, valuation.high):
        assert f"{amount:f}" in text
    assert valuation.fingerprint in _flat(text)
    assert "Valuation report" not in text


def test_chinese_is_the_default_language(client_for, valued):
    valuation, user = valued
    text = _text(client_for(user).get(_url(valuation)).content)
    with translation.override("zh-hans"):
        assert _flat(gettext("Valuation report")) in _flat(text)
    assert "Valuation report" not in text


def test_the_same_valuation_gives_the_same_bytes(valued):
    valuation, _user = valued
    valuation = Valuation.objects.select_related("asset__firm").get(pk=valuation.pk)
    data = valuation_report_data(valuation=valuation)
    assert valuation_report_pdf(data) == valuation_report_pdf(data)


def test_a_valuation_without_breakdown_still_prints(client_for):
    valuation = ValuationFactory()
    user = UserFactory(firm=valuation.asset.firm)
    response = client_for(user).get(_url(valuation), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = _text(response.content)
    assert "800000.00 CNY" in text
    assert "1000000.00 CNY" in text
    assert "1200000.00 CNY" in text
    assert "no breakdown by method" in text


def test_a_reviewer_sees_every_report(client_for, valued):
    valuation, _user = valued
    assert client_for(ReviewerFactory()).get(_url(valuation)).status_code == 200


def test_the_session_cookie_works_for_the_portal(client, valued):
    valuation, user = valued
    client.force_login(user)
    response = client.get(_url(valuation))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_another_firm_gets_404_as_on_the_json_detail(client_for, valued):
    valuation, _user = valued
    other = UserFactory()
    for url in (f"/api/v1/valuations/{valuation.pk}/", _url(valuation)):
        response = client_for(other).get(url)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/problem+json")


def test_banks_are_refused_as_on_the_json_detail(client_for, valued):
    valuation, _user = valued
    with_consent, without = BankFactory(code="RPTLIVE"), BankFactory(code="RPTNONE")
    Consent.objects.create(
        firm=valuation.asset.firm,
        bank=with_consent,
        scopes=[s.value for s in Consent.Scope],
        expires_at="2999-01-01T00:00Z",
    )
    for bank in (with_consent, without):
        client = client_for(api_key=api_key_for(bank))
        json_status = client.get(f"/api/v1/valuations/{valuation.pk}/").status_code
        assert json_status == 403
        assert client.get(_url(valuation)).status_code == json_status


def test_anonymous_gets_401_and_unknown_id_404(client_for, api_client, valued):
    valuation, user = valued
    assert api_client.get(_url(valuation)).status_code == 401
    assert client_for(user).get("/api/v1/valuations/999999/report.pdf").status_code == 404
