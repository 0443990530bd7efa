"""Who may open which pages: a firm user sees the firm portal, bank staff the bank dashboard, reviewers the back office.

The checks mirror the API's roles (registry.permissions); the data each page shows is still scoped by the same
selectors the API uses, so a page can never show more than the API would to the same person.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

View = Callable[..., HttpResponse]


def _role_required(check: Callable[[Any], bool], message: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def firm_required(view: View) -> View:
    """The page is for a firm's administrators and members; `request.user.firm` is their firm."""
    return _role_required(lambda u: u.is_firm_user and u.firm_id is not None, _("This page is for firm users."))(view)


def bank_required(view: View) -> View:
    """The page is for bank staff; `request.user.bank` is their bank."""
    return _role_required(lambda u: u.is_bank_user and u.bank_id is not None, _("This page is for bank staff."))(view)


def reviewer_required(view: View) -> View:
    """The page is for platform reviewers and administrators."""
    return _role_required(lambda u: u.is_reviewer, _("This page is for platform reviewers."))(view)
