"""Which asset status may follow which. Only the services in registry.services change a status."""

from registry.models import Asset

S = Asset.Status

ASSET_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.RETIRED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED}),
    S.REJECTED: frozenset({S.SUBMITTED, S.RETIRED}),
    S.APPROVED: frozenset({S.RETIRED}),
    S.RETIRED: frozenset(),
}

EDITABLE_STATUSES = frozenset({S.DRAFT, S.REJECTED})
