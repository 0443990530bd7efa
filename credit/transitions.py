"""The credit line's state machine. Only ``credit.services.credit_line_transition`` changes a line's status."""

from __future__ import annotations

from credit.models import CreditLine, CreditLineEvent

S = CreditLine.Status

CREDIT_LINE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.ACTIVE: frozenset({S.AT_RISK, S.CLOSED}),
    S.AT_RISK: frozenset({S.ACTIVE, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# The event row written with each transition (active -> at_risk is "at_risk", at_risk -> active "recovered").
TRANSITION_EVENTS: dict[tuple[str, str], str] = {
    (S.ACTIVE, S.AT_RISK): CreditLineEvent.Type.AT_RISK,
    (S.AT_RISK, S.ACTIVE): CreditLineEvent.Type.RECOVERED,
    (S.ACTIVE, S.CLOSED): CreditLineEvent.Type.CLOSED,
    (S.AT_RISK, S.CLOSED): CreditLineEvent.Type.CLOSED,
}


def transition_allowed(current: str, to: str) -> bool:
    return to in CREDIT_LINE_TRANSITIONS.get(current, frozenset())
