"""The normal URLs plus the framework's floor for bench/limit_query.py (used only by config.settings.bench)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns
from registry.models import Firm

__all__ = ["handler404", "handler500", "urlpatterns"]


def bare_firm(request: HttpRequest, pk: int) -> JsonResponse:
    """One Firm row by primary key as JSON: no authentication, no consent check, no audit."""
    row = Firm.objects.values("id", "uscc", "name", "region_code", "industry_id").get(pk=pk)
    return JsonResponse(row)


urlpatterns = [*project_urlpatterns, path("bench/bare/<int:pk>/", bare_firm, name="bench-bare")]
