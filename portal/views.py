"""Sign-in, sign-out and the landing page that sends each person to their own surface."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


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
