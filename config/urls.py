from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import include, path
from django.utils.translation import gettext as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from common.api.exception_handler import PROBLEM_CONTENT_TYPE, problem_body
from portal import views as portal_views


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


api_v1 = [
    path("", include("registry.urls")),
    path("", include("valuation.urls")),
    path("", include("credit.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("health/", health, name="health"),
    path("admin/province/", include("portal.backoffice.urls")),  # back-office dashboard (admin_view-protected)
    path("admin/login/", portal_views.admin_login),  # admin.site.login, then the saved language as at /login/
    path("admin/", admin.site.urls),
    path("i18n/setlang/", portal_views.set_language, name="set_language"),  # Django's, and saves user.language
    path("", include("portal.urls")),
    path("firm/", include("portal.firm.urls")),
    path("bank/", include("portal.bank.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]


def _problem_or_page(request: HttpRequest, status: int, code: str, detail: str, fallback: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            problem_body(status=status, code=code, detail=detail), status=status, content_type=PROBLEM_CONTENT_TYPE
        )
    return HttpResponse(fallback, status=status, content_type="text/plain; charset=utf-8")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _problem_or_page(request, 404, "not_found", _("No such endpoint."), _("Not found"))


def handler500(request: HttpRequest) -> HttpResponse:
    return _problem_or_page(
        request,
        500,
        "internal_error",
        _("Something went wrong on our side. Quote the request id to support."),
        _("Server error"),
    )
