"""Draws, repayments, closing, pledge registration numbers and the term rule, through the API."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from common.audit import system_actor
from common.models import AuditEvent
from credit import services
from credit.models import CreditLine, CreditLineEvent, CreditLineMovement, Pledge, PledgeEvent
from tests.credit.helpers import LINES, RATES, draw, issue, patent_with_valuation, repay
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, ConsentFactory, UserFactory, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(firm_user, bank):
    ConsentFactory(firm=firm_user.firm, bank=bank)
    return firm_user.firm


@pytest.fixture
def product(bank):
    return CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None, max_term_months=36)


@pytest.fixture
def bank_api(client_for, bank_key):
    return client_for(api_key=bank_key)


@pytest.fixture
def line(bank_api, firm, product):
    """A 1,000.00 line on a patent whose collateral supports 2,000.00."""
    valuation = patent_with_valuation(firm, "8000.00")
    response = issue(bank_api, firm, [valuation.asset], "1000.00", term_months=12)
    assert response.status_code == 201, response.json()
    return CreditLine.objects.get(pk=response.json()["id"])


def test_issue_writes_an_issued_event_and_pledge_history(line):
    assert list(line.events.values_list("type", flat=True)) == ["issued"]
    pledge = line.pledges.get()
    assert list(pledge.events.values_list("type", flat=True)) == ["created"]
    assert pledge.external_registration_number == ""


def test_issue_with_registration_numbers(bank_api, firm, product):
    valuation = patent_with_valuation(firm, "8000.00")
    response = issue(
        bank_api, firm, [valuation.asset], "1000.00", registrations={str(valuation.asset_id): "CNIPA-2025-0001"}
    )
    assert response.status_code == 201
    pledge = Pledge.objects.get(asset=valuation.asset)
    assert pledge.external_registration_number == "CNIPA-2025-0001"
    assert list(pledge.events.values_list("type", flat=True)) == ["created", "registration_number_set"]


def test_registration_for_an_asset_not_pledged_is_400_and_creates_nothing(bank_api, firm, product):
    valuation = patent_with_valuation(firm, "8000.00")
    response = issue(bank_api, firm, [valuation.asset], "1000.00", registrations={"999999": "CNIPA-X"})
    assert response.status_code == 400
    assert "registrations.999999" in response.json()["errors"]
    assert not CreditLine.objects.exists()


def test_term_beyond_a_patents_legal_life_is_422(bank_api, firm, product):
    filed = date.today().replace(year=date.today().year - 20) + timedelta(days=180)  # noqa: DTZ011
    valuation = patent_with_valuation(firm, "8000.00", filing_date=filed.isoformat())
    response = issue(bank_api, firm, [valuation.asset], "1000.00", term_months=12)
    assert response.status_code == 422
    assert response.json()["code"] == "term_exceeds_asset_life"
    assert not CreditLine.objects.exists()
    assert not Pledge.objects.exists()
    # a term that ends before the patent does is fine
    assert issue(bank_api, firm, [valuation.asset], "1000.00", term_months=3, key="short").status_code == 201


def test_utility_model_lives_ten_years(bank_api, firm, product):
    filed = date.today().replace(year=date.today().year - 9)  # noqa: DTZ011
    valuation = patent_with_valuation(firm, "8000.00", filing_date=filed.isoformat(), patent_type="utility_model")
    response = issue(bank_api, firm, [valuation.asset], "100.00", term_months=24)
    assert response.status_code == 422
    assert response.json()["code"] == "term_exceeds_asset_life"


def test_draw_and_repay_keep_a_movement_an_event_and_the_balance(bank_api, line):
    response = draw(bank_api, line.pk, "600.00", "d1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "draw"
    assert body["drawn_after"] == "600.00"
    assert body["credit_line"]["drawn"] == "600.00"
    assert body["credit_line"]["coverage"] == "3.3333"  # 8000 x 0.25 / 600

    response = repay(bank_api, line.pk, "200.00", "r1")
    assert response.status_code == 201
    assert response.json()["drawn_after"] == "400.00"
    line.refresh_from_db()
    assert line.drawn_amount == Decimal("400.00")
    assert list(line.movements.order_by("pk").values_list("kind", "amount", "drawn_after")) == [
        ("draw", Decimal("600.00"), Decimal("600.00")),
        ("repayment", Decimal("200.00"), Decimal("400.00")),
    ]
    assert list(line.events.order_by("pk").values_list("type", flat=True)) == ["issued", "draw", "repayment"]
    assert AuditEvent.objects.filter(action="credit_line.draw", object_id=str(line.pk)).count() == 1
    listed = bank_api.get(f"{LINES}{line.pk}/movements/").json()["results"]
    assert [m["kind"] for m in listed] == ["repayment", "draw"]


def test_draw_needs_an_idempotency_key_and_replays(bank_api, line):
    response = bank_api.post(f"{LINES}{line.pk}/draws/", {"amount": "10.00"}, format="json")
    assert response.status_code == 400
    assert not CreditLineMovement.objects.exists()
    first = draw(bank_api, line.pk, "10.00", "same")
    again = draw(bank_api, line.pk, "10.00", "same")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert CreditLineMovement.objects.count() == 1
    assert draw(bank_api, line.pk, "11.00", "same").status_code == 422  # same key, other body


def test_draw_above_the_available_amount_is_422_and_changes_nothing(bank_api, line):
    assert draw(bank_api, line.pk, "900.00", "d1").status_code == 201
    response = draw(bank_api, line.pk, "100.01", "d2")
    assert response.status_code == 422
    assert response.json()["code"] == "credit_limit_exceeded"
    line.refresh_from_db()
    assert line.drawn_amount == Decimal("900.00")
    assert CreditLineMovement.objects.count() == 1
    assert draw(bank_api, line.pk, "100.00", "d3").status_code == 201  # exactly the rest is fine


def test_repayment_above_drawn_is_422(bank_api, line):
    draw(bank_api, line.pk, "100.00", "d1")
    response = repay(bank_api, line.pk, "100.01", "r1")
    assert response.status_code == 422
    assert response.json()["code"] == "repayment_exceeds_drawn"
    line.refresh_from_db()
    assert line.drawn_amount == Decimal("100.00")
    assert not CreditLineMovement.objects.filter(kind="repayment").exists()


def test_draws_are_refused_while_at_risk(bank_api, line):
    services.credit_line_transition(credit_line_id=line.pk, to="at_risk", actor=system_actor("tests"))
    response = draw(bank_api, line.pk, "10.00", "d1")
    assert response.status_code == 409
    assert response.json()["code"] == "credit_line_at_risk"
    assert not CreditLineMovement.objects.exists()


def test_close_is_refused_with_a_balance_then_releases_the_pledges(bank_api, line, firm, product):
    draw(bank_api, line.pk, "100.00", "d1")
    response = bank_api.post(f"{LINES}{line.pk}/close/")
    assert response.status_code == 409
    assert response.json()["code"] == "credit_line_has_balance"
    assert line.pledges.get().status == "active"

    repay(bank_api, line.pk, "100.00", "r1")
    response = bank_api.post(f"{LINES}{line.pk}/close/")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    pledge = line.pledges.get()
    assert pledge.status == "released"
    assert pledge.released_at is not None
    assert list(pledge.events.values_list("type", flat=True)) == ["created", "released"]
    types = list(line.events.order_by("pk").values_list("type", flat=True))
    assert types[-2:] == ["pledge_released", "closed"]

    # closed: no draws, no repayments, no second close; the asset is free for a new line
    assert draw(bank_api, line.pk, "1.00", "d2").json()["code"] == "credit_line_closed"
    assert repay(bank_api, line.pk, "1.00", "r2").json()["code"] == "credit_line_closed"
    assert bank_api.post(f"{LINES}{line.pk}/close/").json()["code"] == "credit_line_closed"
    assert issue(bank_api, firm, [pledge.asset], "500.00", key="again").status_code == 201


def test_pledge_registration_number_by_the_bank_of_the_line_only(bank_api, line, client_for, firm_user):
    pledge = line.pledges.get()
    url = f"/api/v1/pledges/{pledge.pk}/"
    other_bank = client_for(api_key=api_key_for(BankFactory()))
    assert other_bank.patch(url, {"external_registration_number": "X"}, format="json").status_code == 404
    assert client_for(firm_user).patch(url, {"external_registration_number": "X"}, format="json").status_code == 403

    response = bank_api.patch(url, {"external_registration_number": "CNIPA-2025-9"}, format="json")
    assert response.status_code == 200
    assert response.json()["external_registration_number"] == "CNIPA-2025-9"
    assert [h["type"] for h in response.json()["history"]] == ["created", "registration_number_set"]
    assert client_for(firm_user).get(url).json()["external_registration_number"] == "CNIPA-2025-9"

    bank_api.post(f"{LINES}{line.pk}/close/")
    response = bank_api.patch(url, {"external_registration_number": "CNIPA-other"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "pledge_not_active"
    assert PledgeEvent.objects.filter(pledge=pledge, type="registration_number_set").count() == 1


def test_firms_see_their_lines_and_events_others_do_not(line, client_for, firm_user):
    mine = client_for(firm_user)
    assert mine.get(f"{LINES}{line.pk}/events/").status_code == 200
    assert [p["id"] for p in mine.get("/api/v1/pledges/").json()["results"]] == [line.pledges.get().pk]
    stranger = client_for(UserFactory())
    assert stranger.get(f"{LINES}{line.pk}/events/").status_code == 404
    assert stranger.get("/api/v1/pledges/").json()["results"] == []


def test_transition_table_refuses_leaving_closed(line):
    line.status = "closed"
    line.closed_at = timezone.now()
    line.save()
    with pytest.raises(services.InvalidTransition):
        services.credit_line_transition(credit_line_id=line.pk, to="active", actor=system_actor("tests"))
    assert not CreditLineEvent.objects.filter(credit_line=line, type="recovered").exists()
