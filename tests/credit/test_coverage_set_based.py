"""Coverage after many valuations changed is recomputed set-based: one query finds every affected line, and the
number of queries does not grow with the number of valuations or lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credit import services
from credit.models import CreditLine
from tests.credit.helpers import RATES, draw, issue, patent_with_valuation
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import ConsentFactory
from valuation.models import Valuation

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(firm_user, bank):
    ConsentFactory(firm=firm_user.firm, bank=bank)
    return firm_user.firm


@pytest.fixture
def bank_api(client_for, bank_key, bank):
    CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)
    return client_for(api_key=bank_key)


def _lines(bank_api, firm, start: int, end: int) -> list[Valuation]:  # type: ignore[no-untyped-def]
    """One drawn line per new valuation (8,000.00 at 25 %: 2,000.00 secures 1,000.00 drawn)."""
    valuations = []
    for i in range(start, end):
        valuation = patent_with_valuation(firm, "8000.00")
        line_id = issue(bank_api, firm, [valuation.asset], "1000.00", key=f"l{i}").json()["id"]
        assert draw(bank_api, line_id, "1000.00", f"d{i}").status_code == 201
        valuations.append(valuation)
    return valuations


def _revalue(valuations: list[Valuation], low: str) -> list[int]:
    Valuation.objects.filter(pk__in=[v.pk for v in valuations]).update(low=Decimal(low))
    return [v.pk for v in valuations]


def test_many_valuations_recompute_their_lines_with_a_constant_number_of_queries(bank_api, firm):
    few = _lines(bank_api, firm, 0, 2)
    many = _lines(bank_api, firm, 2, 12)
    with CaptureQueriesContext(connection) as for_few:
        changed_few = services.margin_watch_for_valuations(valuation_ids=_revalue(few, "6000.00"))
    with CaptureQueriesContext(connection) as for_many:
        changed_many = services.margin_watch_for_valuations(valuation_ids=_revalue(many, "6000.00"))
    assert (changed_few, changed_many) == ([], [])  # 1,500.00 still covers 1,000.00: no line changes status
    assert len(for_many.captured_queries) == len(for_few.captured_queries)
    assert set(CreditLine.objects.values_list("coverage", flat=True)) == {Decimal("1.5000")}


def test_only_the_lines_of_the_changed_valuations_are_recomputed_and_flagged(bank_api, firm):
    changed, untouched = _lines(bank_api, firm, 0, 3), _lines(bank_api, firm, 3, 5)
    Valuation.objects.filter(pk__in=[v.pk for v in untouched]).update(low=Decimal("2000.00"))  # not announced
    flagged = services.margin_watch_for_valuations(valuation_ids=_revalue(changed, "2000.00"))
    lines = {line.pk: line for line in CreditLine.objects.all()}
    at_risk = sorted(pk for pk, line in lines.items() if line.status == "at_risk")
    assert sorted(flagged) == at_risk
    assert len(at_risk) == 3
    assert {lines[pk].coverage for pk in at_risk} == {Decimal("0.5000")}
    assert services.margin_watch_for_valuations(valuation_ids=[]) == []
    assert services.margin_watch_for_valuation(valuation_id=untouched[0].pk) != []  # the single-valuation hook
