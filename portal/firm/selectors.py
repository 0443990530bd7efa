"""Reads for the firm portal's pages, built on the domain selectors the API uses (so a page never shows more
than the API would to the same person), with what each page needs fetched up front (no N+1)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from credit import selectors as credit_selectors
from credit.models import Pledge
from registry import documents
from registry import selectors as registry_selectors
from registry.models import Asset, AssetReview, AssetVersion, Document
from valuation import selectors as valuation_selectors
from valuation.models import Valuation

DASHBOARD_ROWS = 20  # credit lines and pledges shown on the dashboard (newest first)


def asset_page_list(*, user: Any, kind: str | None = None, status: str | None = None) -> QuerySet[Asset]:
    """The API's asset list (same scope and filters) with each asset's approved valuation and active pledge."""
    assets = registry_selectors.asset_list_for_user(user=user, kind=kind, status=status)
    return assets.order_by("-id").prefetch_related(
        Prefetch(
            "valuations",
            queryset=Valuation.objects.filter(status=Valuation.Status.APPROVED).order_by("-id"),
            to_attr="approved_valuations",
        ),
        Prefetch(
            "pledges",
            queryset=Pledge.objects.filter(status=Pledge.Status.ACTIVE).select_related("credit_line__bank"),
            to_attr="active_pledges",
        ),
    )


def asset_versions(*, asset: Asset) -> QuerySet[AssetVersion]:
    return asset.versions.select_related("created_by").order_by("-number")


def asset_reviews(*, asset: Asset) -> QuerySet[AssetReview]:
    return asset.reviews.select_related("reviewer").order_by("-id")


def asset_documents(*, asset: Asset) -> QuerySet[Document]:
    return documents.document_list_for_asset(asset=asset).order_by("-id")


def asset_valuations(*, user: Any, asset: Asset) -> QuerySet[Valuation]:
    return valuation_selectors.valuation_list_for_user(user=user, asset_id=asset.pk).order_by("-id")


def asset_pledges(*, user: Any, asset: Asset) -> QuerySet[Pledge]:
    return (
        credit_selectors.pledge_list_for_user(user=user)
        .filter(asset_id=asset.pk)
        .select_related("credit_line__product")
        .order_by("-id")
    )


def dashboard_data(*, user: Any) -> dict[str, Any]:
    """Everything the dashboard shows, in a fixed number of queries whatever the number of assets."""
    firm_id = user.firm_id
    return {
        "asset_counts": registry_selectors.asset_counts_for_firm(firm_id=firm_id),
        "totals": valuation_selectors.valuation_totals_for_firm(firm_id=firm_id),
        "credit_lines": list(credit_selectors.credit_line_qs_for_user(user=user).order_by("-id")[:DASHBOARD_ROWS]),
        "pledges": list(credit_selectors.pledge_list_for_user(user=user).order_by("-id")[:DASHBOARD_ROWS]),
        "consent_counts": registry_selectors.consent_counts_for_firm(firm_id=firm_id),
    }
