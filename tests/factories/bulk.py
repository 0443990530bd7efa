"""Many approved assets at once, for job tests and benchmarks (bulk inserts, not the one-by-one services)."""

from __future__ import annotations

from decimal import Decimal

from registry.identifiers import patent_number_build
from registry.models import Asset, AssetVersion, Firm
from registry.versioning import content_hash


def approved_patents(*, firm: Firm, count: int, start_serial: int = 1, year: int = 2021) -> list[Asset]:
    assets = []
    for i in range(count):
        number = patent_number_build(f"{year}1{start_serial + i:07d}")
        revenue = Decimal(1_000_000 + (i % 97) * 25_000)
        details = {
            "number": number,
            "patent_type": "invention",
            "filing_date": f"{year}-03-15",
            "legal_status": "valid",
            "grant_date": f"{year + 1}-09-20",
            "revenue_history": [
                {"year": 2024, "amount": f"{revenue * Decimal('0.9'):.2f}"},
                {"year": 2025, "amount": f"{revenue:.2f}"},
            ],
        }
        title = f"Bulk patent {number}"
        assets.append(
            Asset(
                firm=firm,
                kind="patent",
                title=title,
                status=Asset.Status.APPROVED,
                version=1,
                approved_version=1,
                details=details,
                identifier=f"patent:{number}",
                content_hash=content_hash(kind="patent", title=title, details=details),
            )
        )
    created = Asset.objects.bulk_create(assets, batch_size=2000)
    if created and created[0].pk is None:  # backends that do not return ids
        created = list(Asset.objects.filter(firm=firm, title__startswith="Bulk patent").order_by("pk"))
    AssetVersion.objects.bulk_create(
        [
            AssetVersion(asset=a, number=1, title=a.title, details=a.details, identifier=a.identifier, change="created")
            for a in created
        ],
        batch_size=2000,
    )
    return created
