"""No list ever shows another tenant's objects.

The permission-matrix world (firm A with one object of every kind, consent to bank LIVE, expired consent to
bank EXPIRED, revoked consent to bank REVOKED) gets a mirror estate: firm B with the same kinds of objects,
pledged to a foreign bank OTHER with its own products, key, webhook and deliveries, plus a province-wide
valuation job. Every GET route of the URL configuration is then called by every role. Whenever the answer is
a list (a JSON array or a page with ``results``), the identities it carries must be exactly the ones that role
may see, worked out here from ownership in the database (not through the selectors under test). A list route
without a row in LISTS fails the test, like a route without a row in the permission matrix.

On top of that, every GET answer (lists and details) is searched for the other tenants' markers: the firms'
USCCs and names and the banks' webhook addresses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db.models import QuerySet
from django.utils import timezone

from common.models import AuditEvent
from credit.models import (
    CreditLine,
    CreditLineEvent,
    CreditLineMovement,
    CreditProduct,
    Pledge,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from registry.models import (
    Asset,
    AssetReview,
    AssetVersion,
    BankApiKey,
    Consent,
    Document,
    FirmIndicator,
    ImportJob,
    ImportRowError,
    User,
)
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import AssetFactory, BankFactory, UserFactory, api_key_for
from tests.factories.valuation import ValuationFactory
from tests.security.matrix_world import ROLES, World, api_routes, build_world, concrete
from valuation.models import InnovationScore, Valuation, ValuationJob

FIRM_ROLES = {"a_admin": "firm_a", "a_member": "firm_a", "b_admin": "firm_b"}
BANK_ROLES = ("bank_live", "bank_none", "bank_expired", "bank_revoked")
ALL_SEEING = ("reviewer", "platform")


@dataclass(frozen=True)
class Viewer:
    """Who is asking, in terms of ownership: a firm, a bank, everything (reviewers) or nothing."""

    firm: Any = None
    bank: Any = None
    sees_all: bool = False


def viewer_for(role: str, world: World) -> Viewer:
    if role in FIRM_ROLES:
        return Viewer(firm=world.objects[FIRM_ROLES[role]])
    if role in BANK_ROLES:
        return Viewer(bank=world.objects["banks"][role])
    return Viewer(sees_all=role in ALL_SEEING)


def owned(qs: QuerySet[Any], v: Viewer, *, firm: str | None = None, bank: str | None = None) -> QuerySet[Any]:
    """``qs`` narrowed to what ``v`` owns through the ``firm`` / ``bank`` lookups (none: not theirs)."""
    if v.sees_all:
        return qs
    if v.firm is not None and firm is not None:
        return qs.filter(**{firm: v.firm})
    if v.bank is not None and bank is not None:
        return qs.filter(**{bank: v.bank})
    return qs.none()


@dataclass(frozen=True)
class ListSpec:
    key: Callable[[dict[str, Any]], Any]  # the identity of one item of the answer
    expected: Callable[[Viewer, World], set[Any]]  # every identity the viewer may see in this list
    # For a sub-list of one of firm A's objects: the identities of that kind under every parent.
    universe: Callable[[], set[Any]] | None = None


def ids(qs: QuerySet[Any], field: str = "pk") -> set[Any]:
    return set(qs.values_list(field, flat=True))


def by_id(item: dict[str, Any]) -> Any:
    return item["id"]


LISTS: dict[str, ListSpec] = {
    "/api/v1/assets/": ListSpec(by_id, lambda v, w: ids(owned(Asset.objects.all(), v, firm="firm"))),
    "/api/v1/assets/<int:asset_id>/documents/": ListSpec(
        by_id, lambda v, w: ids(Document.objects.filter(asset=w.objects["asset"])), lambda: ids(Document.objects)
    ),
    "/api/v1/assets/<int:asset_id>/reviews/": ListSpec(
        lambda item: item["reason"],
        lambda v, w: ids(AssetReview.objects.filter(asset=w.objects["asset"]), "reason"),
        lambda: ids(AssetReview.objects, "reason"),
    ),
    "/api/v1/assets/<int:asset_id>/versions/": ListSpec(
        lambda item: item["title"],
        lambda v, w: ids(AssetVersion.objects.filter(asset=w.objects["asset"]), "title"),
        lambda: ids(AssetVersion.objects, "title"),
    ),
    "/api/v1/audit/": ListSpec(
        by_id, lambda v, w: ids(AuditEvent.objects.all() if v.sees_all else AuditEvent.objects.none())
    ),
    "/api/v1/consenting-firms/": ListSpec(
        lambda item: item["uscc"],
        lambda v, w: ids(owned(Consent.objects.live(), v, bank="bank"), "firm__uscc"),
    ),
    "/api/v1/consents/": ListSpec(by_id, lambda v, w: ids(owned(Consent.objects.all(), v, firm="firm"))),
    "/api/v1/credit-lines/": ListSpec(
        by_id, lambda v, w: ids(owned(CreditLine.objects.all(), v, firm="firm", bank="bank"))
    ),
    "/api/v1/credit-lines/<int:credit_line_id>/events/": ListSpec(
        by_id,
        lambda v, w: ids(CreditLineEvent.objects.filter(credit_line=w.objects["credit_line"])),
        lambda: ids(CreditLineEvent.objects),
    ),
    "/api/v1/credit-lines/<int:credit_line_id>/movements/": ListSpec(
        by_id,
        lambda v, w: ids(CreditLineMovement.objects.filter(credit_line=w.objects["credit_line"])),
        lambda: ids(CreditLineMovement.objects),
    ),
    "/api/v1/credit/api-keys/": ListSpec(
        lambda item: item["prefix"], lambda v, w: ids(owned(BankApiKey.objects.all(), v, bank="bank"), "prefix")
    ),
    "/api/v1/credit/products/": ListSpec(by_id, lambda v, w: ids(owned(CreditProduct.objects.all(), v, bank="bank"))),
    "/api/v1/firms/me/indicators/": ListSpec(
        lambda item: item["year"], lambda v, w: ids(owned(FirmIndicator.objects.all(), v, firm="firm"), "year")
    ),
    "/api/v1/firms/me/innovation/": ListSpec(
        lambda item: item["year"], lambda v, w: ids(owned(InnovationScore.objects.all(), v, firm="firm"), "year")
    ),
    "/api/v1/firms/me/members/": ListSpec(by_id, lambda v, w: ids(owned(User.objects.all(), v, firm="firm"))),
    "/api/v1/imports/": ListSpec(by_id, lambda v, w: ids(owned(ImportJob.objects.all(), v, firm="firm"))),
    "/api/v1/imports/<int:job_id>/errors/": ListSpec(
        lambda item: item["message"],
        lambda v, w: ids(ImportRowError.objects.filter(job=w.objects["import_job"]), "message"),
        lambda: ids(ImportRowError.objects, "message"),
    ),
    "/api/v1/pledges/": ListSpec(
        by_id, lambda v, w: ids(owned(Pledge.objects.all(), v, firm="asset__firm", bank="credit_line__bank"))
    ),
    "/api/v1/review/assets/": ListSpec(
        by_id, lambda v, w: ids(owned(Asset.objects.filter(status=Asset.Status.SUBMITTED), v))
    ),
    "/api/v1/valuation-jobs/": ListSpec(by_id, lambda v, w: ids(owned(ValuationJob.objects.all(), v, firm="firm"))),
    "/api/v1/valuations/": ListSpec(by_id, lambda v, w: ids(owned(Valuation.objects.all(), v, firm="asset__firm"))),
    "/api/v1/webhooks/": ListSpec(by_id, lambda v, w: ids(owned(WebhookSubscription.objects.all(), v, bank="bank"))),
    "/api/v1/webhooks/<int:webhook_id>/deliveries/": ListSpec(
        by_id,
        lambda v, w: ids(WebhookDelivery.objects.filter(subscription=w.objects["webhook"])),
        lambda: ids(WebhookDelivery.objects),
    ),
}


def add_foreign_estate(world: World) -> None:
    """Firm B's mirror of firm A's objects, under the foreign bank OTHER, and a second child of every parent
    the sub-lists of the world use (firm A's asset, line, import job and webhook) next to foreign ones."""
    o = world.objects
    firm_a, firm_b, reviewer = o["firm_a"], o["firm_b"], o["reviewer"]
    b_admin = User.objects.get(firm=firm_b)
    UserFactory(firm=firm_b, username="b-member", role=User.Role.FIRM_MEMBER)
    other = BankFactory(code="OTHER")
    api_key_for(other)
    Consent.objects.create(
        firm=firm_b, bank=other, scopes=["credit_limit", "credit_line"], expires_at=timezone.now() + timedelta(days=9)
    )
    product = CreditProductFactory(bank=other, code="P1")
    asset_b = AssetFactory(firm=firm_b, title="firm B's patent")
    valuation_b = ValuationFactory(asset=asset_b)
    ValuationFactory(asset=AssetFactory(firm=firm_b), status=Valuation.Status.PENDING_REVIEW)
    AssetFactory(firm=firm_b, status=Asset.Status.SUBMITTED)
    AssetFactory(firm=firm_a, status=Asset.Status.SUBMITTED)
    ValuationJob.objects.create(firm=firm_b, requested_by=b_admin, total=0)
    ValuationJob.objects.create(firm=None, scope=ValuationJob.Scope.ALL, total=0)
    FirmIndicator.objects.create(firm=firm_b, year=2023, revenue=1, rd_expense=1, staff_count=1, rd_staff_count=0)
    FirmIndicator.objects.create(firm=firm_a, year=2024, revenue=1, rd_expense=1, staff_count=1, rd_staff_count=0)
    for asset, reason in ((o["asset"], "firm A review"), (asset_b, "firm B review")):
        AssetReview.objects.create(asset=asset, version=1, reviewer=reviewer, decision="approved", reason=reason)
    Document.objects.create(
        asset=asset_b,
        kind="rights_certificate",
        original_name="b.pdf",
        content_type="application/pdf",
        size=9,
        sha256="2" * 64,
        file=ContentFile(b"%PDF-1.4\n", name="b"),
    )
    import_b = ImportJob.objects.create(
        firm=firm_b,
        created_by=b_admin,
        kind="patent",
        format="csv",
        original_name="b.csv",
        sha256="3" * 64,
        file=ContentFile(b"title\n", name="b.csv"),
    )
    for job, text in ((o["import_job"], "firm A row"), (import_b, "firm B row")):
        ImportRowError.objects.create(job=job, row=2, field="title", message=text)
    line_b = CreditLine.objects.create(
        bank=other,
        firm=firm_b,
        product=product,
        amount=Decimal("500.00"),
        secured_amount=Decimal("500.00"),
        term_months=12,
        matures_on=timezone.localdate() + timedelta(days=365),
        issued_by="tests",
    )
    Pledge.objects.create(
        credit_line=line_b,
        asset=asset_b,
        valuation=valuation_b,
        collateral_value=valuation_b.low,
        pledge_rate=Decimal("0.25"),
        secured_amount=Decimal("500.00"),
    )
    for line in (o["credit_line"], line_b):
        CreditLineEvent.objects.create(credit_line=line, type="issued", actor="tests")
        CreditLineMovement.objects.create(
            credit_line=line, kind="draw", amount=Decimal("1.00"), drawn_after=Decimal("1.00"), actor="tests"
        )
    hook_b = WebhookSubscription.objects.create(
        bank=other, url="https://other-bank.example/hooks", events=["credit_line.at_risk"], secret="t" * 64
    )
    event_b = WebhookEvent.objects.create(bank=other, type="credit_line.at_risk", payload={})
    WebhookDelivery.objects.create(event=event_b, subscription=hook_b, status="failed", attempts=8)
    o["other_bank"] = other


def markers(world: World) -> dict[str, set[str]]:
    """Strings that only belong to one tenant's answers."""
    o = world.objects
    return {
        "firm_a": {o["firm_a"].uscc, o["firm_a"].name},
        "firm_b": {o["firm_b"].uscc, o["firm_b"].name},
        "bank_live": {"bank.example/hooks"},
        "other_bank": {"other-bank.example/hooks"},
    }


MAY_SEE_MARKERS = {
    "anon": set(),
    "a_admin": {"firm_a"},
    "a_member": {"firm_a"},
    "b_admin": {"firm_b"},
    "bank_live": {"firm_a", "bank_live"},
    "bank_none": set(),
    "bank_expired": set(),
    "bank_revoked": set(),
    "reviewer": {"firm_a", "firm_b"},
    "platform": {"firm_a", "firm_b"},
}


def list_items(client: Any, response: Any) -> list[Any] | None:
    """Every item over every page when the answer is a list, else None."""
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("application/json"):
        return None
    body = response.json()
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and "results" in body:
        items = list(body["results"])
        while body.get("next"):
            body = client.get(body["next"]).json()
            items.extend(body["results"])
        return items
    return None


GET_ROUTES = sorted(route for method, route in api_routes() if method == "GET")


def test_the_table_names_only_real_list_routes():
    assert sorted(set(LISTS) - set(GET_ROUTES)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("route", GET_ROUTES)
def test_no_foreign_object_in_any_list(route):
    world = build_world()
    add_foreign_estate(world)
    url = concrete(route, world.params)
    tenant_markers = markers(world)
    seen_lists = 0
    for role in ROLES:
        client = world.clients[role]
        response = client.get(url, {"page_size": 200})
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        text = raw.decode("utf-8", errors="replace")
        for tenant, strings in tenant_markers.items():
            if tenant in MAY_SEE_MARKERS[role]:
                continue
            leaked = sorted(s for s in strings if s in text)
            assert leaked == [], f"{role} GET {url} shows {tenant}'s {leaked}"

        items = list_items(client, response)
        if items is None:
            continue
        assert route in LISTS, f"GET {route} answers a list: add a row to LISTS"
        spec = LISTS[route]
        got = [spec.key(item) for item in items]
        assert len(got) == len(set(got)), f"{role} GET {url}: an item appears twice"
        assert set(got) == spec.expected(viewer_for(role, world), world), f"{role} GET {url}"
        seen_lists += 1
    if route in LISTS:
        assert seen_lists > 0, f"no role got a list from GET {route}"


@pytest.mark.django_db
def test_the_foreign_estate_makes_every_list_non_trivial():
    """Guards the test above: every list it checks holds, for some role, objects that role may see next to
    objects it may not; otherwise 'exactly what you may see' would prove nothing."""
    world = build_world()
    add_foreign_estate(world)
    viewers = [viewer_for(role, world) for role in ROLES if role not in ALL_SEEING]
    thin = []
    for route, spec in LISTS.items():
        if route in ("/api/v1/audit/", "/api/v1/review/assets/"):
            continue  # reviewers only, who see everything: the matrix keeps everyone else out
        if spec.universe is not None:  # a sub-list of one of firm A's objects, next to foreign parents' children
            mine, everything = [spec.expected(Viewer(sees_all=True), world)], spec.universe()
        else:
            mine, everything = [spec.expected(v, world) for v in viewers], spec.expected(Viewer(sees_all=True), world)
        if route == "/api/v1/firms/me/innovation/":
            assert everything == set()  # no scores in this world: covered by the marker search only
            continue
        if not any(0 < len(m) < len(everything) for m in mine):
            thin.append(route)
    assert thin == []


@pytest.mark.django_db
def test_portfolio_counts_only_the_banks_own_lines():
    world = build_world()
    add_foreign_estate(world)
    for role in BANK_ROLES:
        body = world.clients[role].get("/api/v1/credit/portfolio/").json()
        bank = world.objects["banks"][role]
        assert body["totals"]["lines"] == CreditLine.objects.filter(bank=bank).count(), role
    assert world.clients["bank_live"].get("/api/v1/credit/portfolio/").json()["totals"]["lines"] == 1
    assert CreditLine.objects.count() == 2  # the foreign bank's line is not counted by anyone above
