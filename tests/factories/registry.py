from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from registry.identifiers import patent_number_build, uscc_build
from registry.models import Asset, AssetVersion, Bank, BankApiKey, Consent, Firm, Industry, User

_serial = itertools.count(1)


def next_uscc() -> str:
    return uscc_build(f"91420100MA{next(_serial):07d}")


def next_patent_number(kind_digit: str = "1", year: int = 2021) -> str:
    return patent_number_build(f"{year}{kind_digit}{next(_serial):07d}")


def patent_details(**overrides: Any) -> dict[str, Any]:
    details = {
        "number": next_patent_number(),
        "patent_type": "invention",
        "filing_date": "2021-03-15",
        "legal_status": "valid",
        "grant_date": "2022-09-20",
        "claims": 10,
        "revenue_history": [{"year": 2024, "amount": "8000000.00"}, {"year": 2025, "amount": "10000000.00"}],
    }
    details.update(overrides)
    return details


def data_details(**overrides: Any) -> dict[str, Any]:
    details = {
        "description": "Daily production sensor readings",
        "category": "industrial_iot",
        "source": "self_generated",
        "record_count": 1_000_000,
        "update_frequency": "daily",
        "security_level": "general",
        "rights": ["holding", "processing_use"],
        "quality": {
            "normativity": "80",
            "completeness": "90",
            "accuracy": "85",
            "consistency": "75",
            "timeliness": "70",
            "accessibility": "80",
        },
        "cost": {"acquisition": "300000.00", "processing": "120000.00", "storage": "30000.00", "labor": "50000.00"},
    }
    details.update(overrides)
    return details


class FirmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Firm

    uscc = factory.LazyFunction(next_uscc)
    name = factory.Sequence(lambda n: f"武汉测试科技有限公司{n}")
    legal_representative = "张三"
    region_code = "420100"
    industry = factory.LazyFunction(lambda: Industry.objects.get(code="OPTO_ELEC"))


class BankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bank

    code = factory.Sequence(lambda n: f"BANK{n}")
    name = factory.Sequence(lambda n: f"Test bank {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.FIRM_ADMIN
    firm = factory.SubFactory(FirmFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class ReviewerFactory(UserFactory):
    role = User.Role.REVIEWER
    firm = None
    is_staff = True


class BankStaffFactory(UserFactory):
    role = User.Role.BANK_STAFF
    firm = None
    bank = factory.SubFactory(BankFactory)


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        skip_postgeneration_save = True

    firm = factory.SubFactory(FirmFactory)
    kind = Asset.Kind.PATENT
    title = factory.Sequence(lambda n: f"Asset {n}")
    status = Asset.Status.APPROVED
    details = factory.LazyFunction(patent_details)
    identifier = factory.LazyAttribute(lambda o: f"patent:{o.details['number']}" if o.kind == "patent" else None)
    version = 1
    approved_version = factory.LazyAttribute(lambda o: o.version if o.status == Asset.Status.APPROVED else None)

    @factory.post_generation
    def with_version(obj, create, extracted, **kwargs):  # noqa: N805
        """Every asset has the version row its ``version`` names, as the services guarantee."""
        if create:
            AssetVersion.objects.create(
                asset=obj,
                number=obj.version,
                title=obj.title,
                details=obj.details,
                identifier=obj.identifier,
                change="created",
            )


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    firm = factory.SubFactory(FirmFactory)
    bank = factory.SubFactory(BankFactory)
    scopes = factory.LazyFunction(lambda: [s.value for s in Consent.Scope])
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


def api_key_for(bank: Bank) -> str:
    _obj, key = BankApiKey.objects.create_key(bank=bank, name="tests")
    return key


def next_trademark_number() -> str:
    return f"{next(_serial):08d}"


def next_software_registration_number(year: int = 2020) -> str:
    return f"{year}SR{next(_serial):07d}"


def trademark_details(**overrides: Any) -> dict[str, Any]:
    details = {
        "number": next_trademark_number(),
        "nice_classes": [9, 42],
        "valid_until": "2031-06-30",
        "revenue_history": [{"year": 2025, "amount": "2000000.00"}],
    }
    details.update(overrides)
    return details


def software_details(**overrides: Any) -> dict[str, Any]:
    details = {
        "registration_number": next_software_registration_number(),
        "version": "V2.1",
        "completed_on": "2020-05-10",
        "first_published_on": "2020-07-01",
        "revenue_history": [{"year": 2025, "amount": "1500000.00"}],
    }
    details.update(overrides)
    return details
