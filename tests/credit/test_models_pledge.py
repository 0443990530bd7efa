"""The database itself keeps the register honest: one active pledge per asset, drawn within the amount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from credit.models import CreditLine, Pledge
from tests.factories.credit import CreditLineFactory, PledgeFactory
from tests.factories.registry import AssetFactory, BankFactory
from tests.factories.valuation import ValuationFactory

pytestmark = pytest.mark.django_db

UNIQUE = r"(?i)unique"  # SQLite: "UNIQUE constraint failed"; PostgreSQL: "violates unique constraint"


@pytest.fixture
def valuation():
    return ValuationFactory(asset=AssetFactory())


def _second_line(asset):
    return CreditLineFactory(firm=asset.firm, product__bank=BankFactory(code="SECOND"))


def test_a_second_active_pledge_on_one_asset_is_refused_by_the_database(valuation):
    # given an asset actively pledged under one bank's line
    first = PledgeFactory(valuation=valuation)
    other_line = _second_line(valuation.asset)

    # when another line pledges it too, bypassing every service check
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        Pledge.objects.create(
            credit_line=other_line,
            asset=valuation.asset,
            valuation=valuation,
            collateral_value=valuation.low,
            pledge_rate=Decimal("0.25"),
            secured_amount=Decimal("1000.00"),
        )

    # then only the first pledge exists
    assert list(Pledge.objects.filter(asset=valuation.asset).values_list("pk", flat=True)) == [first.pk]


def test_bulk_creating_a_second_active_pledge_is_refused_too(valuation):
    PledgeFactory(valuation=valuation)
    line = _second_line(valuation.asset)
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        Pledge.objects.bulk_create(
            [
                Pledge(
                    credit_line=line,
                    asset=valuation.asset,
                    valuation=valuation,
                    collateral_value=valuation.low,
                    pledge_rate=Decimal("0.25"),
                    secured_amount=Decimal("1.00"),
                )
            ]
        )
    assert Pledge.objects.count() == 1


def test_reactivating_a_released_pledge_beside_an_active_one_is_refused(valuation):
    released = PledgeFactory(valuation=valuation, status=Pledge.Status.RELEASED, released_at=timezone.now())
    PledgeFactory(valuation=valuation, credit_line=_second_line(valuation.asset))

    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        Pledge.objects.filter(pk=released.pk).update(status=Pledge.Status.ACTIVE)

    assert Pledge.objects.get(pk=released.pk).status == Pledge.Status.RELEASED


def test_an_active_and_a_released_pledge_on_one_asset_are_fine(valuation):
    old = PledgeFactory(valuation=valuation, status=Pledge.Status.RELEASED, released_at=timezone.now())
    new = PledgeFactory(valuation=valuation, credit_line=_second_line(valuation.asset))

    assert sorted(Pledge.objects.filter(asset=valuation.asset).values_list("pk", "status")) == [
        (old.pk, "released"),
        (new.pk, "active"),
    ]


def test_many_released_pledges_on_one_asset_are_fine(valuation):
    for _ in range(3):
        PledgeFactory(valuation=valuation, status=Pledge.Status.RELEASED, released_at=timezone.now())
    assert Pledge.objects.filter(asset=valuation.asset).count() == 3


def test_active_pledges_on_different_assets_are_fine():
    line = CreditLineFactory()
    for _ in range(2):
        PledgeFactory(credit_line=line, valuation=ValuationFactory(asset=AssetFactory(firm=line.firm)))
    assert Pledge.objects.filter(status="active").count() == 2


@pytest.mark.parametrize("rate", ["0", "0.500001", "-0.1"])
def test_a_pledge_rate_outside_0_to_half_is_refused_by_the_database(valuation, rate):
    with pytest.raises(IntegrityError, match="pledge_rate_within_cap"), transaction.atomic():
        PledgeFactory(valuation=valuation, pledge_rate=Decimal(rate))
    assert not Pledge.objects.exists()


def test_a_pledge_rate_of_exactly_half_is_accepted(valuation):
    PledgeFactory(valuation=valuation, pledge_rate=Decimal("0.5"))
    assert Pledge.objects.get().pledge_rate == Decimal("0.500000")


# --- credit lines ----------------------------------------------------------------------------------


def test_a_line_drawn_above_its_amount_is_refused_by_the_database():
    with pytest.raises(IntegrityError, match="credit_line_drawn_within_amount"), transaction.atomic():
        CreditLineFactory(amount=Decimal("1000.00"), drawn_amount=Decimal("1000.01"))
    assert not CreditLine.objects.exists()


def test_updating_drawn_above_the_amount_is_refused_by_the_database():
    line = CreditLineFactory(amount=Decimal("1000.00"), drawn_amount=Decimal("900.00"))

    with pytest.raises(IntegrityError, match="credit_line_drawn_within_amount"), transaction.atomic():
        CreditLine.objects.filter(pk=line.pk).update(drawn_amount=Decimal("1000.01"))

    line.refresh_from_db()
    assert line.drawn_amount == Decimal("900.00")


def test_a_line_drawn_exactly_to_its_amount_is_accepted():
    line = CreditLineFactory(amount=Decimal("1000.00"), drawn_amount=Decimal("1000.00"))
    line.refresh_from_db()
    assert line.drawn_amount == line.amount


@pytest.mark.parametrize(("amount", "drawn"), [("0.00", "0.00"), ("-1.00", "0.00"), ("1000.00", "-0.01")])
def test_non_positive_amounts_and_negative_draws_are_refused_by_the_database(amount, drawn):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLineFactory(amount=Decimal(amount), drawn_amount=Decimal(drawn))
    assert not CreditLine.objects.exists()
