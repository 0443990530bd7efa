"""A realistic demo province: firms in Hubei's priority industries, assets of every kind, reviewed and valued,
two banks with products, and a consent so the demo bank can query a limit at once. Idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from common.audit import system_actor
from common.money import quantize
from credit.models import CreditProduct
from credit.services import product_create
from registry.identifiers import patent_number_build, uscc_build
from registry.models import Asset, Bank, Consent, Firm, FirmIndicator, User
from registry.services import (
    asset_approve,
    asset_create,
    asset_submit,
    bank_create,
    consent_grant,
    firm_create,
    user_create,
)
from valuation.innovation import innovation_scores_compute
from valuation.models import InnovationScore, Valuation
from valuation.services import valuation_approve, valuation_job_create, valuation_job_run_inline

DEMO_PASSWORDS = {"firm": "demo-firm-2026", "reviewer": "demo-review-2026", "bank": "demo-bank-2026"}

FIRMS: list[dict[str, Any]] = [
    {
        "body": "91420100MA4K1A2B3",
        "name": "武汉光谷芯光电子科技有限公司",
        "industry": "OPTO_ELEC",
        "rep": "陈志远",
        "user": "demo_firm",
        "patent_serial": "202110123456",
        "tm": "52318841",
        "sw": "2023SR0457712",
        "revenue": ["18500000.00", "23100000.00", "27400000.00"],
    },
    {
        "body": "91420500MA49QW7C2",
        "name": "宜昌楚能新能源汽车零部件有限公司",
        "industry": "NEV_ICV",
        "rep": "刘海峰",
        "user": "demo_firm_nev",
        "patent_serial": "202220345678",
        "tm": "60127733",
        "sw": "2022SR1093345",
        "revenue": ["42000000.00", "51500000.00", "58800000.00"],
    },
    {
        "body": "91420100MA4L8D5E1",
        "name": "武汉同济康元生物医药有限公司",
        "industry": "LIFE_HEALTH",
        "rep": "王晓琳",
        "user": "demo_firm_bio",
        "patent_serial": "202310567890",
        "tm": "66420019",
        "sw": "2024SR0218876",
        "revenue": ["9600000.00", "12800000.00", "16100000.00"],
    },
    {
        "body": "91420600MA4A3F9G7",
        "name": "襄阳汉江高端装备制造有限公司",
        "industry": "HIGH_END_EQUIP",
        "rep": "张国栋",
        "user": "demo_firm_equip",
        "patent_serial": "202120789012",
        "tm": "48812275",
        "sw": "2021SR0876654",
        "revenue": ["31000000.00", "33600000.00", "35900000.00"],
    },
    {
        "body": "91420100MA4M6H2J9",
        "name": "武汉北斗星联导航技术有限公司",
        "industry": "BEIDOU",
        "rep": "李明哲",
        "user": "demo_firm_beidou",
        "patent_serial": "202410901234",
        "tm": "71195530",
        "sw": "2024SR0671208",
        "revenue": ["7200000.00", "9900000.00", "14300000.00"],
    },
]

BANKS = [
    {"code": "HBDEMO", "name": "湖北科创银行（演示）"},
    {"code": "WHRCB_DEMO", "name": "武汉农商行科技支行（演示）"},
]


def _revenue(amounts: list[str]) -> list[dict[str, Any]]:
    return [{"year": 2023 + i, "amount": a} for i, a in enumerate(amounts)]


def _assets_for(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    number = patent_number_build(spec["patent_serial"])
    kind_digit = spec["patent_serial"][4]
    patent_type = {"1": "invention", "2": "utility_model", "3": "design"}[kind_digit]
    year = int(spec["patent_serial"][:4])
    revenue = _revenue(spec["revenue"])
    short = spec["name"][:4]
    return [
        (
            "patent",
            f"{short}核心专利 {number}",
            {
                "number": number,
                "patent_type": patent_type,
                "filing_date": f"{year}-03-15",
                "legal_status": "valid",
                "grant_date": f"{year + 1}-09-20",
                "claims": 12,
                "forward_citations": 4,
                "ipc": ["G06F 16/00"],
                "revenue_history": revenue,
            },
        ),
        (
            "data",
            f"{short}生产运营数据集",
            {
                "description": "生产线传感器与质检记录，按日更新，已脱敏。",
                "category": "industrial_iot",
                "source": "self_generated",
                "record_count": 12_500_000,
                "update_frequency": "daily",
                "security_level": "general",
                "rights": ["holding", "processing_use"],
                "time_span_start": "2021-01-01",
                "time_span_end": "2025-12-31",
                "contains_personal_info": False,
                "registration": {
                    "registry": "湖北数据登记平台",
                    "number": f"HBDR-2025-{spec['body'][8:14]}",
                    "issued_on": "2025-06-30",
                    "valid_until": "2028-06-29",
                },
                "quality": {
                    "normativity": "85",
                    "completeness": "90",
                    "accuracy": "88",
                    "consistency": "82",
                    "timeliness": "92",
                    "accessibility": "78",
                },
                "cost": {
                    "acquisition": "1200000.00",
                    "processing": "850000.00",
                    "storage": "160000.00",
                    "labor": "1450000.00",
                    "other": "90000.00",
                },
                "keywords": ["工业互联网", "质检"],
                "license": "授权使用",
            },
        ),
        (
            "trademark",
            f"{short}注册商标",
            {"number": spec["tm"], "nice_classes": [9, 42], "valid_until": "2031-08-13", "revenue_history": revenue},
        ),
        (
            "software",
            f"{short}智能管理平台 V3.2",
            {
                "registration_number": spec["sw"],
                "version": "V3.2",
                "completed_on": "2022-05-10",
                "first_published_on": "2022-06-01",
                "revenue_history": revenue,
            },
        ),
    ]


class Command(BaseCommand):
    help = "Load the demo province. Running it twice changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production", action="store_true", help="seed even when DEBUG is off (never on a real deployment)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["allow_production"] and "test" not in settings.SETTINGS_MODULE:
            raise CommandError(
                "seed_demo loads demo accounts with known passwords; refusing with DEBUG off. "
                "Pass --allow-production if this is really a demo machine."
            )
        actor = system_actor("manage.py seed_demo")
        created: dict[str, int] = {"firms": 0, "assets": 0, "valuations": 0, "banks": 0}
        reviewers = [self._reviewer("reviewer1", actor), self._reviewer("reviewer2", actor)]
        banks = [self._bank(spec, actor, created) for spec in BANKS]
        for spec in FIRMS:
            self._firm(spec, actor, reviewers, created)
        self._indicators(actor)
        self._consent(banks[0])
        summary = ", ".join(f"{n} {k}" for k, n in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({summary} created)."))

    def _reviewer(self, username: str, actor: Any) -> User:
        user = User.objects.filter(username=username).first()
        return user or user_create(
            username=username, password=DEMO_PASSWORDS["reviewer"], role=User.Role.REVIEWER, actor=actor
        )

    def _bank(self, spec: dict[str, str], actor: Any, created: dict[str, int]) -> Bank:
        bank = Bank.objects.filter(code=spec["code"]).first()
        if bank is None:
            bank = bank_create(code=spec["code"], name=spec["name"], actor=actor)
            created["banks"] += 1
            user_create(
                username=f"{spec['code'].lower()}_officer",
                password=DEMO_PASSWORDS["bank"],
                role=User.Role.BANK_STAFF,
                bank=bank,
                actor=actor,
            )
        if not CreditProduct.objects.filter(bank=bank).exists():
            product_create(
                bank=bank,
                actor=actor,
                code="IP_PLEDGE",
                name="知识产权与数据资产质押贷",
                kind="pledge",
                pledge_rates={"patent": "0.25", "trademark": "0.30", "software": "0.20", "data": "0.30"},
                unsecured_by_tier={},
                max_amount=Decimal("10000000.00"),
                max_term_months=36,
                max_valuation_age_days=365,
            )
            product_create(
                bank=bank,
                actor=actor,
                code="DATA_PLEDGE",
                name="数据资产质押贷",
                kind="pledge",
                pledge_rates={"data": "0.30"},
                unsecured_by_tier={},
                max_amount=Decimal("5000000.00"),
                max_term_months=12,
                max_valuation_age_days=365,
            )
        if not CreditProduct.objects.filter(bank=bank, code="KNOWLEDGE_VALUE").exists():
            product_create(
                bank=bank,
                actor=actor,
                code="KNOWLEDGE_VALUE",
                name="知识价值信用贷（质押加积分）",
                kind="both",
                pledge_rates={"patent": "0.25", "trademark": "0.30", "software": "0.20", "data": "0.30"},
                unsecured_by_tier={
                    "A": "10000000.00",
                    "B": "7000000.00",
                    "C": "5000000.00",
                    "D": "3000000.00",
                    "E": "1000000.00",
                },
                max_amount=Decimal("20000000.00"),
                max_term_months=36,
                max_valuation_age_days=365,
            )
        return bank

    def _indicators(self, actor: Any) -> None:
        """Two years of indicators per demo firm, then the innovation points of the latest year."""
        for index, spec in enumerate(FIRMS):
            firm = Firm.objects.get(uscc=uscc_build(spec["body"]))
            for year, amount in ((2024, spec["revenue"][1]), (2025, spec["revenue"][2])):
                if FirmIndicator.objects.filter(firm=firm, year=year).exists():
                    continue
                revenue = Decimal(amount)
                staff = 80 + 40 * index
                FirmIndicator.objects.create(
                    firm=firm,
                    year=year,
                    revenue=revenue,
                    rd_expense=quantize(revenue * Decimal("0.08")),
                    staff_count=staff,
                    rd_staff_count=staff // 3 + index,
                    invention_applications=3 + 2 * index,
                    pct_applications=index % 3,
                    tech_contract_turnover=quantize(revenue * Decimal("0.02")),
                    hightech_product_revenue=quantize(revenue * Decimal("0.6")),
                )
        if not InnovationScore.objects.filter(year=2025).exists():
            innovation_scores_compute(year=2025, actor=actor)

    def _firm(self, spec: dict[str, Any], actor: Any, reviewers: list[User], created: dict[str, int]) -> None:
        uscc = uscc_build(spec["body"])
        firm = Firm.objects.filter(uscc=uscc).first()
        if firm is None:
            firm = firm_create(
                uscc=uscc,
                name=spec["name"],
                industry_code=spec["industry"],
                legal_representative=spec["rep"],
                actor=actor,
            )
            created["firms"] += 1
        user = User.objects.filter(username=spec["user"]).first() or user_create(
            username=spec["user"], password=DEMO_PASSWORDS["firm"], role=User.Role.FIRM_ADMIN, firm=firm, actor=actor
        )
        to_value = []
        for kind, title, details in _assets_for(spec):
            asset = Asset.objects.filter(firm=firm, kind=kind, title=title).first()
            if asset is None:
                with transaction.atomic():
                    asset = asset_create(
                        firm=firm, kind=kind, title=title, details=details, actor=user.as_actor, user=user
                    )
                    asset = asset_submit(asset=asset, actor=user.as_actor, user=user)
                    for reviewer in reviewers:  # high declared values need two different reviewers
                        if asset.status == Asset.Status.SUBMITTED:
                            asset = asset_approve(asset=asset, reviewer=reviewer)
                created["assets"] += 1
            if not Valuation.objects.filter(asset=asset, status=Valuation.Status.APPROVED).exists():
                to_value.append(asset)
        if to_value:
            job = valuation_job_create(assets=to_value, user=user, actor=user.as_actor)
            valuation_job_run_inline(job_id=job.pk)  # synchronously, so the demo is complete when the command ends
            for valuation in Valuation.objects.filter(job=job, status=Valuation.Status.PENDING_REVIEW):
                for reviewer in reviewers:  # high values need two different reviewers
                    if valuation.status == Valuation.Status.PENDING_REVIEW:
                        valuation = valuation_approve(valuation=valuation, reviewer=reviewer)
                created["valuations"] += 1

    def _consent(self, bank: Bank) -> None:
        firm = Firm.objects.get(uscc=uscc_build(FIRMS[0]["body"]))
        if Consent.objects.live().filter(firm=firm, bank=bank).exists():
            return
        consent_grant(
            firm=firm,
            bank=bank,
            expires_at=timezone.now() + timedelta(days=365),
            scopes=[s.value for s in Consent.Scope],
            user=User.objects.get(username=FIRMS[0]["user"]),
        )
