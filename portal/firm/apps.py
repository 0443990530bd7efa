from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FirmPortalConfig(AppConfig):
    name = "portal.firm"
    label = "portal_firm"
    verbose_name = _("Firm portal")
