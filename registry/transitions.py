"""Which asset status may follow which. Only the services in registry.services change a status."""

from registry.models import Asset

S = Asset.Status

ASSET_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.RETIRED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED}),
    S.REJECTED: frozenset({S.SUBMITTED, S.RETIRED}),
    S.APPROVED: frozenset({S.RETIRED, S.DRAFT}),
    S.RETIRED: frozenset(),
}

# Editing an approved asset makes a new draft version; a submitted one is under review and a retired one final.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.REJECTED, S.APPROVED})
RETIRABLE_STATUSES = frozenset({S.DRAFT, S.REJECTED, S.APPROVED})
