from decimal import Decimal

import factory

from tests.factories.registry import AssetFactory
from valuation.models import Valuation


class ValuationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Valuation

    asset = factory.SubFactory(AssetFactory)
    firm = factory.SelfAttribute("asset.firm")
    asset_version = 1
    status = Valuation.Status.APPROVED
    value = Decimal("1000000.00")
    low = Decimal("800000.00")
    high = Decimal("1200000.00")
    method = "relief_from_royalty"
    parameter_set = "2026.1"
    engine_version = "1.0.0"
    seed = 42
    inputs = factory.LazyFunction(dict)
    explanation = factory.LazyFunction(dict)
    fingerprint = "0" * 64
