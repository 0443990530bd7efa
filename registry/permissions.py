"""Role checks at the door; object-level access is decided by the selectors (404 for what is not yours)."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsFirmUser(BasePermission):
    message = "This endpoint is for firm users."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "is_firm_user", False))


class IsReviewer(BasePermission):
    message = "This endpoint is for platform reviewers."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "is_reviewer", False))


class IsFirmUserOrReviewer(BasePermission):
    message = "This endpoint is for firm users and reviewers."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "is_firm_user", False) or getattr(request.user, "is_reviewer", False))


class IsBank(BasePermission):
    """A bank system (API key) or a bank's staff member."""

    message = "This endpoint is for banks."

    def has_permission(self, request: Request, view: Any) -> bool:
        return getattr(request.user, "acting_bank", None) is not None


class IsBankOrFirmOrReviewer(BasePermission):
    message = "This endpoint is for banks, firm users and reviewers."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            getattr(user, "acting_bank", None) is not None
            or getattr(user, "is_firm_user", False)
            or getattr(user, "is_reviewer", False)
        )


class IsFirmAdminForWrites(BasePermission):
    """Firm users may read; only the firm's administrator changes the profile, indicators, members, consent."""

    message = "Only the firm's administrator can change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not getattr(user, "is_firm_user", False):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or user.role == "firm_admin"


class IsFirmAdminOrReadOnly(BasePermission):
    """Combined with a role check: reads pass, writes need a firm administrator."""

    message = "Only the firm's administrator can change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return getattr(request.user, "role", None) == "firm_admin"


class IsFirmAdminOrReviewer(BasePermission):
    message = "Only the firm's administrator or a reviewer can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(getattr(user, "is_reviewer", False) or getattr(user, "role", None) == "firm_admin")
