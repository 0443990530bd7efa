from django.utils.translation import gettext_lazy as _

from common.exceptions import Conflict, PermissionDenied, ValidationFailed


class AssetNotApproved(Conflict):
    code = "asset_not_approved"
    title = _("Only approved assets can be valued")


class NothingToValue(ValidationFailed):
    code = "nothing_to_value"


class ValuationWrongState(Conflict):
    code = "valuation_wrong_state"
    title = _("Valuation is not in the right state")


class SelfApprovalForbidden(PermissionDenied):
    code = "self_approval_forbidden"
    title = _("Four-eyes rule")
