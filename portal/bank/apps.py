from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankPortalConfig(AppConfig):
    name = "portal.bank"
    label = "portal_bank"
    verbose_name = _("Bank dashboard")
