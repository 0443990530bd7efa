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


class CreditLineAtRisk(Conflict):
    code = "credit_line_at_risk"
    title = _("Credit line at risk")


class CreditLineClosed(Conflict):
    code = "credit_line_closed"
    title = _("Credit line closed")


class CreditLineHasBalance(Conflict):
    code = "credit_line_has_balance"
    title = _("Credit line still has a drawn balance")


class RepaymentExceedsDrawn(BusinessRuleViolation):
    code = "repayment_exceeds_drawn"
    title = _("Repayment above the drawn balance")


class TermExceedsAssetLife(BusinessRuleViolation):
    code = "term_exceeds_asset_life"
    title = _("Term longer than a pledged asset's remaining legal life")


class PledgeNotActive(Conflict):
    code = "pledge_not_active"
    title = _("Pledge already released")


class WebhookInvalid(ValidationFailed):
    code = "webhook_invalid"
