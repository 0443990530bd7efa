"""Back-office pages that are not a model's admin: the province dashboard."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from portal.backoffice.selectors import chart_rows, province_figures
from portal.charts import bar_chart


def _province_dashboard(request: HttpRequest) -> HttpResponse:
    if not (getattr(request.user, "is_reviewer", False) or request.user.is_superuser):
        raise PermissionDenied(_("This page is for platform reviewers."))
    figures = province_figures()
    currency = figures.currency
    charts = [
        bar_chart(chart_rows(figures.by_industry, "assets"), title=_("Assets registered by industry")),
        bar_chart(
            chart_rows(figures.by_industry, "value_approved"),
            title=_("Value approved by industry"),
            value_label=currency,
        ),
        bar_chart(
            chart_rows(figures.by_industry, "credit_issued"),
            title=_("Credit issued by industry"),
            value_label=currency,
        ),
        bar_chart(chart_rows(figures.by_month, "assets"), title=_("Assets registered by month")),
        bar_chart(
            chart_rows(figures.by_month, "value_approved"), title=_("Value approved by month"), value_label=currency
        ),
        bar_chart(
            chart_rows(figures.by_month, "credit_issued"), title=_("Credit issued by month"), value_label=currency
        ),
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Province dashboard"),
        "figures": figures,
        "charts": charts,
    }
    return TemplateResponse(request, "backoffice/province_dashboard.html", context)


# admin_view: staff sign-in through the admin's own login page, never cached, CSRF-protected like the admin.
province_dashboard = admin.site.admin_view(_province_dashboard)
