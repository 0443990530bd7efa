from django.utils.translation import gettext_lazy as _

from common.exceptions import BusinessRuleViolation, Conflict, ValidationFailed


class AssetAlreadyPledged(Conflict):
    code = "asset_already_pledged"
    title = _("Asset already pledged")


class CreditLimitExceeded(BusinessRuleViolation):
    code = "credit_limit_exceeded"
    title = _("Amount above the credit limit")


class AssetNotEligible(BusinessRuleViolation):
    code = "asset_not_eligible"
    title = _("Asset not eligible as collateral")


class TermTooLong(BusinessRuleViolation):
    code = "term_too_long"
    title = _("Term longer than the product allows")


class ProductInvalid(ValidationFailed):
    code = "product_invalid"


class ProductCodeTaken(Conflict):
    code = "product_code_taken"


class ProductRequired(ValidationFailed):
    code = "product_required"
