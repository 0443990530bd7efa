"""Real concurrency on PostgreSQL: racing banks for one asset, and parallel draws on one line."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from credit.models import CreditLine, CreditLineMovement, Pledge
from tests.concurrency import run_in_threads
from tests.credit.helpers import RATES, draw, issue, patent_with_valuation
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, ConsentFactory, FirmFactory, api_key_for

pytestmark = [pytest.mark.live_services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def api_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_twenty_banks_racing_for_one_asset_get_one_line():
    firm = FirmFactory()
    valuation = patent_with_valuation(firm, "8000.00")
    keys = []
    for _ in range(20):
        bank = BankFactory()
        CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)
        ConsentFactory(firm=firm, bank=bank)
        keys.append(api_key_for(bank))

    def work(i: int) -> int:
        return issue(api_client(keys[i]), firm, [valuation.asset], "1000.00", key=f"race-{i}").status_code

    statuses = run_in_threads(20, work)
    assert sorted(statuses) == [201] + [409] * 19
    assert CreditLine.objects.count() == 1
    assert Pledge.objects.filter(asset=valuation.asset, status="active").count() == 1


def test_thirty_parallel_draws_stop_exactly_at_the_amount():
    firm = FirmFactory()
    bank = BankFactory()
    CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)
    ConsentFactory(firm=firm, bank=bank)
    key = api_key_for(bank)
    valuation = patent_with_valuation(firm, "8000.00")
    line_id = issue(api_client(key), firm, [valuation.asset], "1000.00").json()["id"]

    statuses = run_in_threads(30, lambda i: draw(api_client(key), line_id, "100.00", f"draw-{i}").status_code)

    assert sorted(statuses) == [201] * 10 + [422] * 20
    line = CreditLine.objects.get(pk=line_id)
    assert line.drawn_amount == Decimal("1000.00")
    assert CreditLineMovement.objects.filter(credit_line=line).count() == 10
    assert sorted(CreditLineMovement.objects.values_list("drawn_after", flat=True)) == [
        Decimal(100 * n) for n in range(1, 11)
    ]
