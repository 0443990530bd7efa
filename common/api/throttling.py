"""Request rate limits per caller, applied to every API view (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]).

One class decides the scope of each request and whose budget it spends:

- scope ``limit``: the credit-limit query (a view with ``throttle_scope = "limit"``), the costly, audited read
  a bank's systems call in loops;
- scope ``write``: every POST, PUT, PATCH and DELETE (the token login included);
- scope ``read``: every other read, with a generous budget that only stops scraping with a stolen credential.

The budget belongs to the caller: a bank system by its API key (the key's prefix, so two keys of one bank are
two budgets and one leaked key cannot exhaust the others), a person by user id, an anonymous caller by client
address (see ``client_ip``). Rates come from THROTTLE_RATE_* (config/settings/base.py) and are read on every
request, so a settings override applies at once. Counters live in Django's default cache: Redis in
production, shared by every gunicorn worker; the in-process cache otherwise (a budget per process)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

LIMIT_SCOPE = "limit"
WRITE_SCOPE = "write"
READ_SCOPE = "read"


def client_ip(request: HttpRequest | Request) -> str:
    """The caller's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the address the
    outermost of them saw (counted from the right of X-Forwarded-For, which only the proxies write).
    Shared by the throttles and the login lockout (AXES_CLIENT_IP_CALLABLE)."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote


def principal_ident(request: Request) -> str:
    """Whose budget a request spends: ``key:<prefix>``, ``user:<id>`` or ``ip:<address>``."""
    user = getattr(request, "user", None)
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.prefix}"
    if user is not None and user.is_authenticated and user.pk is not None:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def scope_for(request: Request, view: Any) -> str:
    if request.method not in SAFE_METHODS:
        return WRITE_SCOPE
    if getattr(view, "throttle_scope", None) == LIMIT_SCOPE:
        return LIMIT_SCOPE
    return READ_SCOPE


class PrincipalRateThrottle(SimpleRateThrottle):
    """The scope is decided per request (``scope_for``); a scope without a rate is not limited."""

    cache_format = "throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:  # the scope, hence the rate, is only known with the request
        pass

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = scope_for(request, view)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": principal_ident(request)}
