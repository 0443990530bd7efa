from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from credit.models import CreditLine, CreditProduct, Pledge
from tests.factories.registry import BankFactory, FirmFactory
from tests.factories.valuation import ValuationFactory


class CreditProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditProduct

    bank = factory.SubFactory(BankFactory)
    code = factory.Sequence(lambda n: f"PROD{n}")
    name = "IP pledge loan"
    kind = CreditProduct.Kind.PLEDGE
    pledge_rates = factory.LazyFunction(
        lambda: {"patent": "0.25", "data": "0.30", "trademark": "0.30", "software": "0.20"}
    )
    max_amount = Decimal("10000000.00")
    max_term_months = 36
    max_valuation_age_days = 365


class CreditLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditLine

    product = factory.SubFactory(CreditProductFactory)
    bank = factory.SelfAttribute("product.bank")
    firm = factory.SubFactory(FirmFactory)
    amount = Decimal("100000.00")
    secured_amount = factory.SelfAttribute("amount")
    term_months = 12
    matures_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    issued_by = "tests"


class PledgeFactory(factory.django.DjangoModelFactory):
    """A pledge of the valuation's asset under a credit line of that asset's firm."""

    class Meta:
        model = Pledge

    valuation = factory.SubFactory(ValuationFactory)
    asset = factory.SelfAttribute("valuation.asset")
    credit_line = factory.SubFactory(CreditLineFactory, firm=factory.SelfAttribute("..asset.firm"))
    collateral_value = factory.SelfAttribute("valuation.low")
    pledge_rate = Decimal("0.250000")
    secured_amount = Decimal("1000.00")
