"""The world the permission matrix runs in: two firms, four banks (one with live consent from firm A, one
without any, one whose consent from firm A has expired and one whose consent was revoked), a reviewer and a
platform administrator, and one object of every kind belonging to firm A."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from credit.models import CreditLine, Pledge, WebhookDelivery, WebhookEvent, WebhookSubscription
from registry.models import BankApiKey, Consent, Document, FirmIndicator, ImportJob, User
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import AssetFactory, BankFactory, FirmFactory, UserFactory, api_key_for
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation, ValuationJob

ROLES = (
    "anon",
    "a_admin",
    "a_member",
    "b_admin",
    "bank_live",
    "bank_none",
    "bank_expired",
    "bank_revoked",
    "reviewer",
    "platform",
)


def api_routes() -> list[tuple[str, str]]:
    """Every (method, route) below /api/v1/, read from the URL configuration."""

    def walk(patterns: list[Any], prefix: str = "") -> Any:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p

    out = []
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        view = pattern.callback.view_class
        out.extend((m.upper(), "/" + route) for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m))
    return sorted(out, key=lambda mr: (mr[1], mr[0]))


@dataclass
class World:
    clients: dict[str, APIClient]
    params: dict[str, str]
    objects: dict[str, Any]  # the firms, banks and parents the tests look at (see build_world)


def build_world() -> World:
    firm_a, firm_b = FirmFactory(), FirmFactory()
    a_admin = UserFactory(firm=firm_a, username="a-admin")
    a_member = UserFactory(firm=firm_a, username="a-member", role=User.Role.FIRM_MEMBER)
    b_admin = UserFactory(firm=firm_b, username="b-admin")
    reviewer = UserFactory(firm=None, role=User.Role.REVIEWER, username="rev", is_staff=True)
    platform = UserFactory(firm=None, role=User.Role.PLATFORM_ADMIN, username="plat", is_staff=True, is_superuser=True)
    bank_live, bank_none = BankFactory(code="LIVE"), BankFactory(code="NONE")
    bank_expired, bank_revoked = BankFactory(code="EXPIRED"), BankFactory(code="REVOKED")
    now = timezone.now()
    all_scopes = ["credit_limit", "credit_line"]
    consent = Consent.objects.create(
        firm=firm_a, bank=bank_live, scopes=all_scopes, expires_at=now + timedelta(days=30)
    )
    Consent.objects.create(firm=firm_a, bank=bank_expired, scopes=all_scopes, expires_at=now - timedelta(days=1))
    Consent.objects.create(
        firm=firm_a,
        bank=bank_revoked,
        scopes=all_scopes,
        expires_at=now + timedelta(days=30),
        revoked_at=now - timedelta(hours=1),
        revoked_by=a_admin,
    )
    product = CreditProductFactory(bank=bank_live, code="P1")
    for other in (bank_none, bank_expired, bank_revoked):
        CreditProductFactory(bank=other, code="P1")
    asset = AssetFactory(firm=firm_a)
    valuation = ValuationFactory(asset=asset)
    pending = ValuationFactory(asset=AssetFactory(firm=firm_a), status=Valuation.Status.PENDING_REVIEW)
    job = ValuationJob.objects.create(firm=firm_a, requested_by=a_admin, total=0)
    line = CreditLine.objects.create(
        bank=bank_live,
        firm=firm_a,
        product=product,
        amount=Decimal("1000.00"),
        secured_amount=Decimal("1000.00"),
        term_months=12,
        matures_on=timezone.localdate() + timedelta(days=365),
        issued_by="tests",
    )
    pledge = Pledge.objects.create(
        credit_line=line,
        asset=asset,
        valuation=valuation,
        collateral_value=valuation.low,
        pledge_rate=Decimal("0.25"),
        secured_amount=Decimal("1000.00"),
    )
    document = Document.objects.create(
        asset=asset,
        kind="rights_certificate",
        original_name="cert.pdf",
        content_type="application/pdf",
        size=9,
        sha256="0" * 64,
        file=ContentFile(b"%PDF-1.4\n", name="x"),
    )
    import_job = ImportJob.objects.create(
        firm=firm_a,
        created_by=a_admin,
        kind="patent",
        format="csv",
        original_name="a.csv",
        sha256="1" * 64,
        file=ContentFile(b"title\n", name="a.csv"),
    )
    webhook = WebhookSubscription.objects.create(
        bank=bank_live, url="https://bank.example/hooks", events=["credit_line.at_risk"], secret="s" * 64
    )
    event = WebhookEvent.objects.create(bank=bank_live, type="credit_line.at_risk", payload={})
    delivery = WebhookDelivery.objects.create(event=event, subscription=webhook, status="failed", attempts=8)
    spare_key, _ = BankApiKey.objects.create_key(bank=bank_live, name="matrix")
    FirmIndicator.objects.create(firm=firm_a, year=2025, revenue=1, rd_expense=1, staff_count=1, rd_staff_count=0)

    clients: dict[str, APIClient] = {"anon": APIClient()}
    for role, user in (
        ("a_admin", a_admin),
        ("a_member", a_member),
        ("b_admin", b_admin),
        ("reviewer", reviewer),
        ("platform", platform),
    ):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        clients[role] = client
    for role, bank in (
        ("bank_live", bank_live),
        ("bank_none", bank_none),
        ("bank_expired", bank_expired),
        ("bank_revoked", bank_revoked),
    ):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(bank)}")
        clients[role] = client

    params = {
        "<int:asset_id>": str(asset.pk),
        "<int:document_id>": str(document.pk),
        "<int:consent_id>": str(consent.pk),
        "<int:valuation_id>": str(pending.pk),
        "<int:credit_line_id>": str(line.pk),
        "<int:pledge_id>": str(pledge.pk),
        "<int:webhook_id>": str(webhook.pk),
        "<int:delivery_id>": str(delivery.pk),
        "<str:prefix>": spare_key.prefix,
        "<str:uscc>": firm_a.uscc,
        "<int:year>": "2025",
        "<slug:kind>": "patent",
        "<slug:fmt>": "csv",
    }
    # job_id names a valuation job under valuation-jobs/ and an import job under imports/.
    params["<int:valuation_job_id>"] = str(job.pk)
    params["<int:import_job_id>"] = str(import_job.pk)
    objects = {
        "firm_a": firm_a,
        "firm_b": firm_b,
        "banks": {
            "bank_live": bank_live,
            "bank_none": bank_none,
            "bank_expired": bank_expired,
            "bank_revoked": bank_revoked,
        },
        "reviewer": reviewer,
        "asset": asset,
        "credit_line": line,
        "import_job": import_job,
        "webhook": webhook,
    }
    return World(clients=clients, params=params, objects=objects)


def concrete(route: str, params: dict[str, str]) -> str:
    if "<int:job_id>" in route:
        key = "<int:import_job_id>" if route.startswith("/api/v1/imports/") else "<int:valuation_job_id>"
        route = route.replace("<int:job_id>", params[key])
    for name, value in params.items():
        route = route.replace(name, value)
    assert "<" not in route, f"no test value for a path parameter in {route}"
    return route
