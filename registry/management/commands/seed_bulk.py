"""Many firms and approved assets quickly, for benchmarks and load tests (bulk inserts; no audit rows, no
reviews). Never for a real deployment: the records are synthetic."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from registry.identifiers import patent_number_build, uscc_build
from registry.models import Asset, AssetVersion, Firm, Industry
from registry.versioning import content_hash

KINDS = ("patent", "data", "trademark", "software")


def _revenue(rng: random.Random) -> list[dict[str, str]]:
    base = Decimal(rng.randrange(500_000, 50_000_000))
    return [{"year": 2023 + i, "amount": f"{base * Decimal(100 + 8 * i) / 100:.2f}"} for i in range(3)]


def _details(kind: str, serial: int, rng: random.Random) -> tuple[dict[str, Any], str | None]:
    if kind == "patent":
        year = 2014 + serial % 11
        number = patent_number_build(f"{year}{rng.choice('12')}{serial % 10_000_000:07d}")
        ptype = "invention" if number[4] == "1" else "utility_model"
        return (
            {
                "number": number,
                "patent_type": ptype,
                "filing_date": f"{year}-05-10",
                "legal_status": "valid",
                "grant_date": f"{year + 1}-11-02",
                "claims": rng.randrange(3, 30),
                "revenue_history": _revenue(rng),
            },
            f"patent:{number}",
        )
    if kind == "trademark":
        number = f"{60_000_000 + serial}"
        return (
            {
                "number": number,
                "nice_classes": [9, 42],
                "valid_until": f"{2027 + serial % 8}-06-30",
                "revenue_history": _revenue(rng),
            },
            f"trademark:{number}",
        )
    if kind == "software":
        number = f"{2015 + serial % 10}SR{serial % 10_000_000:07d}"
        return (
            {
                "registration_number": number,
                "version": "V2.0",
                "completed_on": f"{2015 + serial % 10}-03-01",
                "revenue_history": _revenue(rng),
            },
            f"software:{number}",
        )
    cost = {k: f"{rng.randrange(10_000, 2_000_000)}.00" for k in ("acquisition", "processing", "storage", "labor")}
    quality = {
        k: str(rng.randrange(55, 98))
        for k in ("normativity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
    }
    return (
        {
            "description": "Synthetic operational data set",
            "category": "industrial_iot",
            "source": "self_generated",
            "record_count": rng.randrange(10_000, 50_000_000),
            "update_frequency": "daily",
            "security_level": "general",
            "rights": ["holding", "processing_use"],
            "quality": quality,
            "cost": cost,
            "revenue_history": _revenue(rng),
        },
        None,
    )


class Command(BaseCommand):
    help = "Create N synthetic approved assets across M synthetic firms with bulk inserts (benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--assets", type=int, required=True)
        parser.add_argument("--firms", type=int, default=0, help="default: one firm per 20 assets")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--allow-production", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["allow_production"] and "test" not in settings.SETTINGS_MODULE:
            raise CommandError("seed_bulk writes synthetic records; refusing with DEBUG off (--allow-production).")
        n = opts["assets"]
        if n <= 0:
            raise CommandError("--assets must be positive")
        rng = random.Random(opts["seed"])
        industries = list(Industry.objects.values_list("code", flat=True))
        offset = Firm.objects.count()
        firm_count = opts["firms"] or max(1, n // 20)
        with transaction.atomic():
            firms = Firm.objects.bulk_create(
                [
                    Firm(
                        uscc=uscc_build(f"91420100MB{offset + i:07d}"),
                        name=f"合成企业{offset + i}",
                        region_code="420100",
                        industry_id=industries[i % len(industries)],
                    )
                    for i in range(firm_count)
                ],
                batch_size=5000,
            )
            firms = list(Firm.objects.filter(uscc__in=[f.uscc for f in firms]).only("pk"))
            start = Asset.objects.count() + 1
            for base in range(0, n, 5000):
                batch = []
                for i in range(base, min(n, base + 5000)):
                    serial = start + i
                    kind = KINDS[i % len(KINDS)]
                    details, identifier = _details(kind, serial, rng)
                    title = f"Synthetic {kind} {serial}"
                    batch.append(
                        Asset(
                            firm=firms[i % len(firms)],
                            kind=kind,
                            title=title,
                            status="approved",
                            version=1,
                            approved_version=1,
                            details=details,
                            identifier=identifier,
                            content_hash=content_hash(kind=kind, title=title, details=details),
                        )
                    )
                Asset.objects.bulk_create(batch, batch_size=5000)
                created = Asset.objects.filter(title__in=[a.title for a in batch]).values_list(
                    "pk", "title", "details", "identifier"
                )
                AssetVersion.objects.bulk_create(
                    [
                        AssetVersion(asset_id=pk, number=1, title=t, details=d, identifier=ident, change="created")
                        for pk, t, d, ident in created
                    ],
                    batch_size=5000,
                )
        self.stdout.write(f"{firm_count} firms and {n} approved assets created")
