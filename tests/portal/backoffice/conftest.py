"""Back-office fixtures: reviewers who can open the admin (staff, in the reviewers group, as user_create makes
them), firms' submitted assets made through the services, valuations pending review."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from registry.models import Asset, User
from registry.services import asset_create, asset_submit, reviewer_group_get
from tests.factories.registry import AssetFactory, ReviewerFactory, UserFactory, patent_details
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation

SMALL = [{"year": 2025, "amount": "1000000.00"}]  # one reviewer is enough
LARGE = [{"year": 2025, "amount": "90000000.00"}]  # above the two-reviewer threshold


def back_office_reviewer(username: str) -> User:
    user = ReviewerFactory(username=username)
    user.groups.add(reviewer_group_get())
    return user


@pytest.fixture
def reviewer_a(db) -> User:  # type: ignore[no-untyped-def]
    return back_office_reviewer("bo-reviewer-a")


@pytest.fixture
def reviewer_b(db) -> User:  # type: ignore[no-untyped-def]
    return back_office_reviewer("bo-reviewer-b")


@pytest.fixture
def firm_admin(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(username="bo-firm-admin")


@pytest.fixture
def signed_in() -> Callable[..., Client]:
    def make(user: User, *, language: str = "en") -> Client:
        client = Client(headers={"accept-language": language})
        client.force_login(user)
        return client

    return make


@pytest.fixture
def submit_asset(firm_admin) -> Callable[..., Asset]:  # type: ignore[no-untyped-def]
    def make(*, title: str = "Optical lens patent", large: bool = False, user: User | None = None) -> Asset:
        user = user or firm_admin
        asset = asset_create(
            firm=user.firm,
            kind="patent",
            title=title,
            details=patent_details(revenue_history=LARGE if large else SMALL),
            actor=user.as_actor,
            user=user,
        )
        return asset_submit(asset=asset, actor=user.as_actor, user=user)

    return make


@pytest.fixture
def pending_valuation(firm_admin) -> Callable[..., Valuation]:  # type: ignore[no-untyped-def]
    def make(*, required_approvals: int = 1, value: str = "1000000.00") -> Valuation:
        asset = AssetFactory(firm=firm_admin.firm, created_by=firm_admin)
        v = Decimal(value)
        return ValuationFactory(
            asset=asset,
            status=Valuation.Status.PENDING_REVIEW,
            requested_by=firm_admin,
            required_approvals=required_approvals,
            value=v,
            low=v * Decimal("0.8"),
            high=v * Decimal("1.2"),
        )

    return make
