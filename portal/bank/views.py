"""The bank dashboard: a credit officer's portfolio, firm lookup, lines, API keys and webhooks."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import bank_required


@bank_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal_bank/dashboard.html", {"bank": request.user.bank})
