"""The province dashboard: its numbers equal sums computed independently on a small fixture; reviewers only;
a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from credit.models import CreditLine
from portal.backoffice.selectors import _month_starts, province_figures
from registry.models import Asset, Industry
from tests.factories.credit import CreditLineFactory
from tests.factories.registry import AssetFactory, FirmFactory, UserFactory
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation

pytestmark = pytest.mark.django_db

URL = "/admin/province/"


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    opto = FirmFactory(industry=Industry.objects.get(code="OPTO_ELEC"))
    nev = FirmFactory(industry=Industry.objects.get(code="NEV_ICV"))
    now = timezone.now()
    a1, a2 = AssetFactory(firm=opto), AssetFactory(firm=opto)
    a3 = AssetFactory(firm=nev)
    AssetFactory(firm=nev, status=Asset.Status.DRAFT)

    def valuation(asset, value, status=Valuation.Status.APPROVED):  # type: ignore[no-untyped-def]
        v = Decimal(value)
        return ValuationFactory(
            asset=asset, status=status, value=v, low=v * Decimal("0.8"), high=v * Decimal("1.2"), reviewed_at=now
        )

    valuation(a1, "1000000.10")
    valuation(a2, "2500000.25")
    valuation(a2, "999.00", status=Valuation.Status.SUPERSEDED)  # not counted
    valuation(a3, "700000.00")
    valuation(a3, "5.00", status=Valuation.Status.PENDING_REVIEW)  # not counted
    CreditLineFactory(firm=opto, amount=Decimal("800000.00"), drawn_amount=Decimal("300000.50"))
    CreditLineFactory(firm=nev, amount=Decimal("200000.00"), drawn_amount=Decimal("0.00"))
    old = CreditLineFactory(firm=nev, amount=Decimal("50000.00"), drawn_amount=Decimal("10000.00"))
    CreditLine.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=800))  # outside the 12 months
    return {"opto": opto, "nev": nev}


def _independent() -> dict[str, dict[str, Decimal | int]]:
    """The expected figures, summed in Python from the rows (no aggregates)."""
    out: dict[str, dict[str, Decimal | int]] = {}
    for asset in Asset.objects.select_related("firm"):
        row = out.setdefault(asset.firm.industry_id, {"assets": 0, "value": Decimal(0), "issued": Decimal(0)})
        row["assets"] += 1
    for v in Valuation.objects.select_related("asset__firm"):
        if v.status == "approved":
            out[v.asset.firm.industry_id]["value"] += v.value
    for line in CreditLine.objects.select_related("firm"):
        out[line.firm.industry_id]["issued"] += line.amount
    return out


def test_the_figures_equal_independent_sums(world):
    figures = province_figures()
    expected = _independent()

    by_code = {row.key: row for row in figures.by_industry}
    for code, want in expected.items():
        assert (by_code[code].assets, by_code[code].value_approved, by_code[code].credit_issued) == (
            want["assets"],
            want["value"],
            want["issued"],
        )
    assert figures.totals.assets == 4
    assert figures.totals.value_approved == Decimal("4200000.35")
    assert figures.totals.credit_issued == Decimal("1050000.00")
    assert figures.totals.credit_drawn == Decimal("310000.50")
    assert isinstance(figures.totals.value_approved, Decimal)

    this_month = figures.by_month[-1]
    assert len(figures.by_month) == 12
    assert this_month.key == timezone.localdate().strftime("%Y-%m")
    assert (this_month.assets, this_month.value_approved) == (4, Decimal("4200000.35"))
    assert this_month.credit_issued == Decimal("1000000.00")  # the 800-day-old line is outside the window
    assert sum(row.credit_issued for row in figures.by_month) == Decimal("1000000.00")


def test_months_run_back_twelve_months_across_a_year():
    starts = _month_starts(today=date(2026, 2, 14), count=12)
    assert starts[0] == date(2025, 3, 1)
    assert starts[-1] == date(2026, 2, 1)
    assert len(starts) == 12


def test_the_page_shows_tables_and_charts_in_a_bounded_number_of_queries(
    world, signed_in, reviewer_a, django_assert_max_num_queries
):
    client = signed_in(reviewer_a)
    with django_assert_max_num_queries(14):
        r = client.get(URL)
    assert r.status_code == 200
    html = r.text
    assert 'data-testid="by-industry"' in html
    assert 'data-testid="by-month"' in html
    assert html.count('<svg class="chart"') == 6
    opto = html.split('<tr data-industry="OPTO_ELEC">')[1].split("</tr>")[0]
    assert 'data-value="3500000.35"' in opto  # 1,000,000.10 + 2,500,000.25
    assert 'data-value="800000.00"' in opto
    assert 'data-value="300000.50"' in opto
    this_month = html.split(f'<tr data-month="{timezone.localdate():%Y-%m}">')[1].split("</tr>")[0]
    assert 'data-value="4200000.35"' in this_month
    assert "Optoelectronic information" in html


def test_only_reviewers_open_it(world, signed_in, client):  # type: ignore[no-untyped-def]
    assert client.get(URL).status_code == 302  # to the admin's sign-in
    staff = UserFactory(is_staff=True)  # a firm user made staff by mistake
    assert signed_in(staff).get(URL).status_code == 403
    assert signed_in(UserFactory()).get(URL).status_code == 302


def test_the_admin_index_links_the_back_office_pages(signed_in, reviewer_a):
    html = signed_in(reviewer_a).get("/admin/").text
    for testid in ("link-asset-queue", "link-valuation-queue", "link-province", "link-audit"):
        assert f'data-testid="{testid}"' in html
    assert 'href="/admin/province/"' in html
