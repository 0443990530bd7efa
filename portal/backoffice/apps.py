from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackOfficeConfig(AppConfig):
    name = "portal.backoffice"
    label = "portal_backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from django.contrib import admin

        # The admin index links the back-office pages (review queues, province dashboard, audit trail).
        admin.site.index_template = "backoffice/admin_index.html"
