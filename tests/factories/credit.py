from decimal import Decimal

import factory

from credit.models import CreditProduct
from tests.factories.registry import BankFactory


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
