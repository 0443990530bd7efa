"""List endpoints cost the same number of queries whatever the number of rows (no N+1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Consent, ImportJob
from registry.services import asset_create, asset_submit, asset_update
from tests.factories.registry import (
    AssetFactory,
    ConsentFactory,
    ReviewerFactory,
    UserFactory,
    api_key_for,
    patent_details,
)
from tests.factories.valuation import ValuationFactory

pytestmark = pytest.mark.django_db


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx)


def _submitted(user, n):
    for _ in range(n):
        asset = asset_create(
            firm=user.firm, kind="patent", title="t", details=patent_details(), actor=user.as_actor, user=user
        )
        asset_submit(asset=asset, actor=user.as_actor, user=user)


def _consents(user, n):
    for _ in range(n):
        ConsentFactory(firm=user.firm)


def _valuations(user, n):
    for _ in range(n):
        ValuationFactory(asset=AssetFactory(firm=user.firm))


def _imports(user, n):
    for i in range(n):
        ImportJob.objects.create(
            firm=user.firm,
            created_by=user,
            kind="patent",
            format="csv",
            original_name="a.csv",
            sha256=f"{i:064d}",
            file="imports/a.csv",
        )


def _versions(user, n):
    asset = asset_create(
        firm=user.firm, kind="patent", title="t0", details=patent_details(), actor=user.as_actor, user=user
    )
    for i in range(n):
        asset_update(asset=asset, actor=user.as_actor, user=user, title=f"t{i + 1}")
    return asset


CASES: dict[str, tuple[str, str, Callable]] = {
    "review queue": ("reviewer", "/api/v1/review/assets/", _submitted),
    "consents": ("firm", "/api/v1/consents/", _consents),
    "valuations": ("firm", "/api/v1/valuations/", _valuations),
    "imports": ("firm", "/api/v1/imports/", _imports),
    "audit": ("reviewer", "/api/v1/audit/", _submitted),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_list_queries_do_not_grow_with_rows(case, client_for):
    role, url, make = CASES[case]
    counts = []
    for n in (2, 9):
        user = UserFactory()
        make(user, n)
        client = client_for(ReviewerFactory() if role == "reviewer" else user)
        counts.append(_count(client, url))
    assert counts[0] == counts[1]


def test_versions_list_queries_do_not_grow(client_for):
    counts = []
    for n in (1, 8):
        user = UserFactory()
        asset = _versions(user, n)
        counts.append(_count(client_for(user), f"/api/v1/assets/{asset.pk}/versions/"))
    assert counts[0] == counts[1]


def test_consenting_firms_list_queries_do_not_grow(client_for, bank):
    key = api_key_for(bank)
    counts = []
    for n in (2, 9):
        Consent.objects.filter(bank=bank).delete()
        for _ in range(n):
            ConsentFactory(bank=bank)
        counts.append(_count(client_for(api_key=key), "/api/v1/consenting-firms/"))
    assert counts[0] == counts[1]
