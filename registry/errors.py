from django.utils.translation import gettext_lazy as _

from common.exceptions import ApplicationError, Conflict, PermissionDenied, ValidationFailed


class IdentifierAlreadyRegistered(Conflict):
    code = "identifier_already_registered"
    title = _("Identifier already registered")


class AssetNotEditable(Conflict):
    code = "asset_not_editable"
    title = _("Asset cannot be edited in its current state")


class AssetWrongState(Conflict):
    code = "asset_wrong_state"
    title = _("Asset is not in the right state")


class SelfReviewForbidden(PermissionDenied):
    code = "self_review_forbidden"
    title = _("Four-eyes rule")


class FirmAlreadyExists(Conflict):
    code = "firm_already_exists"


class BankUnknown(ValidationFailed):
    code = "bank_unknown"


class ConsentNotLive(Conflict):
    code = "consent_not_live"


class LoginLockedOut(ApplicationError):
    """Too many wrong passwords for this username from this address (django-axes); ``retry_after`` seconds."""

    code = "login_locked_out"
    http_status = 429
    title = _("Too many failed logins")
