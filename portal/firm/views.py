"""The firm portal: a finance officer's assets, valuations, credit lines, pledges and consents."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import firm_required


@firm_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal_firm/dashboard.html", {"firm": request.user.firm})
