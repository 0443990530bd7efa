"""A small estate for the bank dashboard tests: bank HBTEST with a product, a consenting firm whose patents back
credit lines issued through the credit services, and a foreign bank with its own line that must never show."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client

from credit import services
from credit.models import CreditLine
from registry.models import Bank, Firm, User
from tests.credit.helpers import RATES, patent_with_valuation
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, BankStaffFactory, ConsentFactory, FirmFactory


@dataclass
class Estate:
    bank: Bank
    staff: User
    firm: Firm
    lines: list[CreditLine]
    other_bank: Bank
    other_firm: Firm
    other_line: CreditLine
    stranger: Firm  # no consent to HBTEST


def issue_line(bank: Bank, staff: User, firm: Firm, *, low: str, amount: str, drawn: str | None = None) -> CreditLine:
    valuation = patent_with_valuation(firm, low)
    line = services.credit_line_issue(
        bank=bank,
        actor=staff.as_actor,
        uscc=firm.uscc,
        product_code="IP",
        amount=Decimal(amount),
        asset_ids=[valuation.asset_id],
    )
    if drawn:
        services.credit_line_draw(credit_line=line, amount=Decimal(drawn), actor=staff.as_actor)
        line.refresh_from_db()
    return line


def make_estate() -> Estate:
    bank = BankFactory(code="HBTEST", name="湖北测试银行")
    staff = BankStaffFactory(bank=bank, username="officer")
    CreditProductFactory(bank=bank, code="IP", name="知识产权质押贷", pledge_rates=RATES, max_amount=None)
    firm = FirmFactory(name="武汉光谷测试科技有限公司")
    ConsentFactory(firm=firm, bank=bank)
    lines = [
        issue_line(bank, staff, firm, low="8000.00", amount="1000.00", drawn="1000.00"),
        issue_line(bank, staff, firm, low="8000.00", amount="1500.50", drawn="600.25"),
        issue_line(bank, staff, firm, low="4000.00", amount="500.00"),
    ]
    other_bank = BankFactory(code="OTHER", name="外地银行")
    other_staff = BankStaffFactory(bank=other_bank, username="other-officer")
    CreditProductFactory(bank=other_bank, code="IP", pledge_rates=RATES, max_amount=None)
    other_firm = FirmFactory(name="外地专属企业有限公司")
    ConsentFactory(firm=other_firm, bank=other_bank)
    other_line = issue_line(other_bank, other_staff, other_firm, low="8000.00", amount="700.00")
    stranger = FirmFactory(name="未授权企业有限公司")
    return Estate(bank, staff, firm, lines, other_bank, other_firm, other_line, stranger)


@pytest.fixture
def estate(db) -> Estate:  # type: ignore[no-untyped-def]
    return make_estate()


@pytest.fixture
def officer(estate: Estate) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(estate.staff)
    return client


@pytest.fixture
def officer_zh(estate: Estate) -> Client:
    client = Client()
    client.force_login(estate.staff)
    return client
