from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackOfficeConfig(AppConfig):
    name = "portal.backoffice"
    label = "portal_backoffice"
    verbose_name = _("Back office")
