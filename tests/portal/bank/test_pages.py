"""The bank dashboard pages: access, scoping to the officer's bank, consent, audit, actions and both languages."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.exceptions import Conflict
from common.models import AuditEvent
from credit.models import CreditLine, CreditLineMovement, WebhookDelivery, WebhookEvent
from registry.models import BankApiKey
from tests.credit.helpers import patent_with_valuation
from tests.factories.registry import BankStaffFactory, ReviewerFactory, UserFactory
from tests.portal.bank.conftest import issue_line

pytestmark = pytest.mark.django_db

PAGES = [
    ("portal_bank:dashboard", {}),
    ("portal_bank:firms", {}),
    ("portal_bank:lines", {}),
    ("portal_bank:api_keys", {}),
    ("portal_bank:webhooks", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_pages_render_for_bank_staff_and_refuse_everyone_else(estate, officer, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    assert officer.get(url).status_code == 200
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("portal:login"))
    for user in (UserFactory(), ReviewerFactory()):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_portfolio_shows_totals_at_risk_lines_breakdowns_and_export_links(estate, officer):
    CreditLine.objects.filter(pk=estate.lines[0].pk).update(status="at_risk", coverage=Decimal("0.9000"))
    response = officer.get(reverse("portal_bank:dashboard"))
    text = response.text
    assert 'data-testid="bank-portfolio"' in text
    assert 'data-testid="total-lines">3<' in text
    assert 'data-testid="total-amount">3,000.50<' in text  # 1,000.00 + 1,500.50 + 500.00
    assert 'data-testid="total-drawn">1,600.25<' in text
    assert 'data-testid="total-available">1,400.25<' in text
    assert 'data-testid="at-risk-lines">1<' in text
    assert reverse("portal_bank:line", kwargs={"line_id": estate.lines[0].pk}) in text
    assert 'data-testid="coverage-below_1">1<' in text
    assert 'data-testid="coverage-no_drawing">1<' in text
    assert "<svg" in text
    assert reverse("credit:credit-portfolio-export-xlsx") in text
    assert reverse("credit:credit-portfolio-export-csv") in text
    assert estate.other_firm.name not in text
    assert "700.00" not in text  # the other bank's line


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(("name", "bound"), [("portal_bank:dashboard", 10), ("portal_bank:lines", 5)])
def test_portfolio_and_lines_list_run_a_bounded_number_of_queries(estate, officer, name, bound):
    url = reverse(name)
    before = _queries(officer, url)
    for _ in range(6):
        issue_line(estate.bank, estate.staff, estate.firm, low="8000.00", amount="100.00", drawn="50.00")
    CreditLine.objects.filter(pk=estate.lines[0].pk).update(status="at_risk", coverage=Decimal("0.5"))
    after = _queries(officer, url)
    assert before == after <= bound  # session, user, then a fixed set of aggregate / page queries
    if name == "portal_bank:lines":
        assert officer.get(url).text.count('data-testid="line-row-') == 9


def test_lines_list_is_scoped_filtered_and_paginated(estate, officer):
    text = officer.get(reverse("portal_bank:lines")).text
    for line in estate.lines:
        assert f'data-testid="line-row-{line.pk}"' in text
    assert f'data-testid="line-row-{estate.other_line.pk}"' not in text
    assert estate.other_firm.uscc not in text
    CreditLine.objects.filter(pk=estate.lines[1].pk).update(status="at_risk")
    at_risk = officer.get(reverse("portal_bank:lines"), {"status": "at_risk"}).text
    assert at_risk.count('data-testid="line-row-') == 1
    assert officer.get(reverse("portal_bank:lines"), {"status": "bogus"}).status_code == 200  # invalid filter: all
    for _ in range(25):
        issue_line(estate.bank, estate.staff, estate.firm, low="8000.00", amount="10.00")
    page_two = officer.get(reverse("portal_bank:lines"), {"page": 2}).text
    assert page_two.count('data-testid="line-row-') == 3


def test_firm_search_finds_only_consenting_firms(estate, officer):
    url = reverse("portal_bank:firms")
    page = officer.get(url)
    assert 'id="id_q"' in page.text
    assert 'data-testid="firm-search"' in page.text
    assert estate.firm.name in page.text
    assert estate.stranger.name not in page.text
    assert estate.other_firm.name not in page.text
    by_code = officer.get(url, {"q": estate.firm.uscc[:8]}).text
    assert f'data-testid="firm-row-{estate.firm.uscc}"' in by_code
    by_name = officer.get(url, {"q": "光谷测试"}).text
    assert f'data-testid="firm-row-{estate.firm.uscc}"' in by_name
    for hidden in (estate.stranger, estate.other_firm):
        assert f"firm-row-{hidden.uscc}" not in officer.get(url, {"q": hidden.uscc}).text
        assert f"firm-row-{hidden.uscc}" not in officer.get(url, {"q": hidden.name}).text


def test_firm_page_shows_the_explained_limit_and_audits_like_the_api(estate, officer):
    patent_with_valuation(estate.firm, "10000.00")  # a fresh unpledged patent: 10,000.00 x 25 % = 2,500.00
    before = AuditEvent.objects.filter(action="credit_limit.queried").count()
    url = reverse("portal_bank:firm", kwargs={"uscc": estate.firm.uscc})
    response = officer.get(url, {"purpose": "annual review"})
    assert response.status_code == 200
    assert 'data-testid="limit-IP">2,500.00<' in response.text
    assert "25.00 %" in response.text
    assert "already pledged" in response.text  # the three pledged patents are excluded and explained
    event = AuditEvent.objects.filter(action="credit_limit.queried").order_by("-id").first()
    assert AuditEvent.objects.filter(action="credit_limit.queried").count() == before + 1
    assert event.actor_label == f"user:{estate.staff.username}"
    assert event.actor_id == str(estate.staff.pk)
    assert event.object_type == "firm"
    assert event.object_id == str(estate.firm.pk)
    assert event.data["product"] == "IP"
    assert event.data["purpose"] == "annual review"
    assert event.data["result"]["limit"] == "2500.00"

    # The API writes the same event for the same question.
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(estate.staff)
    assert (
        api.get(f"/api/v1/credit/limits/{estate.firm.uscc}/", {"product": "IP", "purpose": "annual review"}).status_code
        == 200
    )
    api_event = AuditEvent.objects.filter(action="credit_limit.queried").order_by("-id").first()
    fields = ("actor_type", "actor_id", "actor_label", "action", "object_type", "object_id")
    assert {f: getattr(api_event, f) for f in fields} == {f: getattr(event, f) for f in fields}
    assert api_event.data == event.data


def test_a_firm_without_consent_is_404_and_the_refusal_is_audited(estate, officer):
    for firm in (estate.stranger, estate.other_firm):
        response = officer.get(reverse("portal_bank:firm", kwargs={"uscc": firm.uscc}))
        assert response.status_code == 404
        assert firm.name not in response.text
        refused = AuditEvent.objects.filter(action="credit_limit.refused", object_id=firm.uscc).get()
        assert refused.actor_label == f"user:{estate.staff.username}"


def test_line_page_shows_pledges_movements_and_events_and_other_banks_lines_are_404(estate, officer):
    line = estate.lines[1]
    text = officer.get(reverse("portal_bank:line", kwargs={"line_id": line.pk})).text
    assert 'data-testid="line-amount">1,500.50<' in text
    assert 'data-testid="line-drawn">600.25<' in text
    assert 'data-testid="line-available">900.25<' in text
    assert "8,000.00" in text  # the pledge's collateral value
    for table in ("pledges", "movements", "events"):
        assert f'data-testid="{table}"' in text
    assert officer.get(reverse("portal_bank:line", kwargs={"line_id": estate.other_line.pk})).status_code == 404
    assert (
        officer.post(
            reverse("portal_bank:line_draw", kwargs={"line_id": estate.other_line.pk}),
            {"draw-amount": "1", "draw-form_key": uuid4().hex},
        ).status_code
        == 404
    )


def test_draw_repay_and_close_go_through_the_services(estate, officer):
    line = estate.lines[2]
    url = reverse("portal_bank:line", kwargs={"line_id": line.pk})
    first_key = uuid4().hex
    drawn = officer.post(
        reverse("portal_bank:line_draw", kwargs={"line_id": line.pk}),
        {"draw-amount": "200.00", "draw-form_key": first_key},
    )
    assert drawn.status_code == 302
    assert drawn.url == url
    line.refresh_from_db()
    assert line.drawn_amount == Decimal("200.00")
    movement = CreditLineMovement.objects.filter(credit_line=line).get()
    assert movement.actor == f"user:{estate.staff.username}"

    # The same form sent again (a double click, a resent POST) is acted on once only.
    again = officer.post(
        reverse("portal_bank:line_draw", kwargs={"line_id": line.pk}),
        {"draw-amount": "200.00", "draw-form_key": first_key},
        follow=True,
    )
    line.refresh_from_db()
    assert line.drawn_amount == Decimal("200.00")
    assert CreditLineMovement.objects.filter(credit_line=line).count() == 1
    assert 'class="message warning"' in again.text
    forged = officer.post(
        reverse("portal_bank:line_draw", kwargs={"line_id": line.pk}),
        {"draw-amount": "1.00", "draw-form_key": "not-a-key"},
    )
    assert forged.status_code == 400

    too_much = officer.post(
        reverse("portal_bank:line_draw", kwargs={"line_id": line.pk}),
        {"draw-amount": "999.00", "draw-form_key": uuid4().hex},
    )
    assert too_much.status_code == 422
    assert 'role="alert"' in too_much.text
    bad = officer.post(
        reverse("portal_bank:line_draw", kwargs={"line_id": line.pk}),
        {"draw-amount": "-1", "draw-form_key": uuid4().hex},
    )
    assert bad.status_code == 400

    refused_close = officer.post(reverse("portal_bank:line_close", kwargs={"line_id": line.pk}), follow=True)
    assert CreditLine.objects.get(pk=line.pk).status != "closed"
    assert 'class="message error"' in refused_close.text

    repaid = officer.post(
        reverse("portal_bank:line_repay", kwargs={"line_id": line.pk}),
        {"repay-amount": "200.00", "repay-form_key": uuid4().hex},
    )
    assert repaid.status_code == 302
    closed = officer.post(reverse("portal_bank:line_close", kwargs={"line_id": line.pk}))
    assert closed.status_code == 302
    line.refresh_from_db()
    assert line.status == "closed"
    assert line.pledges.filter(status="active").count() == 0
    assert officer.get(reverse("portal_bank:line_draw", kwargs={"line_id": line.pk})).status_code == 405


def test_api_keys_create_shows_the_key_once_and_revoke(estate, officer):
    url = reverse("portal_bank:api_keys")
    created = officer.post(url, {"name": "core banking"})
    assert created.status_code == 201
    api_key = BankApiKey.objects.get(bank=estate.bank, name="core banking")
    assert 'data-testid="new-api-key"' in created.text
    assert api_key.prefix in created.text
    assert AuditEvent.objects.filter(action="api_key.created", object_id=api_key.prefix).get().actor_label == (
        f"user:{estate.staff.username}"
    )
    listed = officer.get(url).text
    assert f'data-testid="api-key-{api_key.prefix}"' in listed
    assert 'data-testid="new-api-key"' not in listed  # shown once
    assert officer.post(url, {"name": ""}).status_code == 400
    assert officer.post(url, {"name": "old", "expires_at": "2001-01-01T00:00"}).status_code == 400

    other = Client()
    other.force_login(BankStaffFactory(bank=estate.other_bank))
    assert f"api-key-{api_key.prefix}" not in other.get(url).text
    assert other.post(reverse("portal_bank:api_key_revoke", kwargs={"prefix": api_key.prefix})).status_code == 404

    revoked = officer.post(reverse("portal_bank:api_key_revoke", kwargs={"prefix": api_key.prefix}))
    assert revoked.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked is True


def test_webhooks_subscribe_list_deliveries_and_delete(estate, officer, settings):
    url = reverse("portal_bank:webhooks")
    refused = officer.post(url, {"url": "http://bank.example/hooks", "events": ["credit_line.at_risk"]})
    if not settings.WEBHOOK_ALLOW_HTTP:
        assert refused.status_code == 400
    assert officer.post(url, {"url": "https://bank.example/hooks", "events": []}).status_code == 400
    created = officer.post(
        url, {"url": "https://bank.example/hooks", "events": ["credit_line.at_risk", "pledge.released"]}
    )
    assert created.status_code == 201
    subscription = estate.bank.webhooks.get(url="https://bank.example/hooks")
    assert subscription.secret in created.text
    assert subscription.secret not in officer.get(url).text

    event = WebhookEvent.objects.create(bank=estate.bank, type="credit_line.at_risk", payload={})
    WebhookDelivery.objects.create(
        event=event, subscription=subscription, status="failed", attempts=8, last_status_code=503
    )
    detail = officer.get(reverse("portal_bank:webhook", kwargs={"webhook_id": subscription.pk}))
    assert detail.status_code == 200
    assert "503" in detail.text

    other = Client()
    other.force_login(BankStaffFactory(bank=estate.other_bank))
    assert other.get(reverse("portal_bank:webhook", kwargs={"webhook_id": subscription.pk})).status_code == 404
    assert other.post(reverse("portal_bank:webhook_delete", kwargs={"webhook_id": subscription.pk})).status_code == 404

    deleted = officer.post(reverse("portal_bank:webhook_delete", kwargs={"webhook_id": subscription.pk}))
    assert deleted.status_code == 302
    subscription.refresh_from_db()
    assert subscription.deleted_at is not None


@pytest.mark.parametrize("name", [n for n, _ in PAGES])
def test_pages_render_in_both_languages(estate, officer, officer_zh, name):
    english = officer.get(reverse(name)).text
    chinese = officer_zh.get(reverse(name)).text
    assert 'lang="en"' in english
    assert 'lang="zh-hans"' in chinese
    assert "Credit lines" in english
    assert "Credit lines" not in chinese
    assert "授信" in chinese


def test_firm_and_line_pages_render_in_chinese(estate, officer_zh):
    firm_page = officer_zh.get(reverse("portal_bank:firm", kwargs={"uscc": estate.firm.uscc}))
    assert firm_page.status_code == 200
    assert 'data-testid="limit-IP"' in firm_page.text
    line_page = officer_zh.get(reverse("portal_bank:line", kwargs={"line_id": estate.lines[0].pk}))
    assert line_page.status_code == 200
    assert "Pledges" not in line_page.text


def test_a_refused_create_puts_the_service_messages_on_the_form(estate, officer, settings, monkeypatch):
    url = reverse("portal_bank:webhooks")
    settings.WEBHOOK_ALLOW_HTTP = False
    refused = officer.post(url, {"url": "http://bank.example/hooks", "events": ["credit_line.at_risk"]})
    assert refused.status_code == 400
    assert refused.context["form"].errors["url"] == ["Use https."]  # the service's field message
    assert refused.context["created"] is None
    assert not estate.bank.webhooks.exists()

    def conflict(**kwargs: object) -> None:
        raise Conflict("Try again later.")

    monkeypatch.setattr("credit.webhooks.webhook_subscribe", conflict)
    busy = officer.post(url, {"url": "https://bank.example/hooks", "events": ["credit_line.at_risk"]})
    assert busy.status_code == 409
    assert busy.context["form"].non_field_errors() == ["Try again later."]  # no field errors: the message
    assert not [m for m in busy.context["messages"] if m.level_tag == "success"]


def test_a_bank_without_an_active_product_audits_the_refused_limit_like_the_api(estate, officer):
    estate.bank.products.update(is_active=False)
    url = reverse("portal_bank:firm", kwargs={"uscc": estate.firm.uscc})

    page = officer.get(url, {"purpose": "annual review"})

    assert page.status_code == 200
    assert page.context["explained"] == []
    assert estate.firm.name in page.text
    refused = AuditEvent.objects.filter(action="credit_limit.refused", object_id=estate.firm.uscc).get()
    assert (refused.result, refused.actor_label) == (AuditEvent.Result.REFUSED, f"user:{estate.staff.username}")
    assert refused.data == {
        "bank": estate.bank.code,
        "firm": estate.firm.uscc,
        "product": None,
        "purpose": "annual review",
        "code": "product_required",
    }
    assert not AuditEvent.objects.filter(action="credit_limit.queried", object_id=str(estate.firm.pk)).exists()

    stranger = officer.get(reverse("portal_bank:firm", kwargs={"uscc": estate.stranger.uscc}))
    assert stranger.status_code == 404
    refused = AuditEvent.objects.filter(action="credit_limit.refused", object_id=estate.stranger.uscc).get()
    assert refused.data["code"] == "not_found"
