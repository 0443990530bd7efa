"""Sign-in, sign-out and the landing page that sends each person to their own surface."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import check_for_language
from django.views import i18n as i18n_views

from registry.models import User
from registry.services import user_language_set


def _language_cookie_set(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie + redirect), and for a signed-in person the choice is saved on their account,
    so it follows them to other devices (set again at sign-in) and to their e-mails."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "") if request.method == "POST" else ""
    if request.user.is_authenticated and language in dict(settings.LANGUAGES) and check_for_language(language):
        user_language_set(user=request.user, language=language)
    return response


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: auth_views.AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        _saved_language_apply(response, form.get_user())
        return response


def _saved_language_apply(response: HttpResponse, user: User) -> None:
    """At sign-in, the language saved on the account wins over this browser's cookie."""
    if user.language in dict(settings.LANGUAGES):
        _language_cookie_set(response, user.language)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The back office's own sign-in (``admin.site.login``, unchanged), applying the saved language as /login/."""
    response = admin.site.login(request)
    if request.method == "POST" and response.status_code == 302 and request.user.is_authenticated:
        _saved_language_apply(response, request.user)
    return response


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Firm users go to the firm portal, bank staff to the bank dashboard, reviewers to the back office."""
    user = request.user
    if user.is_firm_user:
        return redirect("portal_firm:dashboard")
    if user.is_bank_user:
        return redirect("portal_bank:dashboard")
    if user.is_reviewer or user.is_staff:
        return redirect(reverse("admin:index"))
    return render(request, "portal/no_surface.html", status=403)
