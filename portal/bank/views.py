"""The bank dashboard: a credit officer's portfolio, firm lookup, lines, API keys and webhooks.

Every page is scoped to ``request.user.bank`` through the same selectors the API uses, and every write goes
through the same services (validation, audit, state transitions). A selector's ``NotFound`` becomes a 404 page.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.exceptions import ApplicationError, NotFound
from common.money import decimal_from, quantize
from credit import selectors as credit_selectors
from credit import services as credit_services
from credit import webhooks
from credit.errors import ProductRequired
from credit.models import CreditLine, Pledge, WebhookDelivery, WebhookSubscription
from credit.policies import (
    CAP_MAX_AMOUNT,
    CAP_MAX_SECURED_PER_ASSET,
    EXCLUDED_ALREADY_PLEDGED,
    EXCLUDED_CURRENCY_MISMATCH,
    EXCLUDED_KIND_NOT_ELIGIBLE,
)
from portal.access import bank_required
from portal.bank.forms import (
    EVENT_LABELS,
    ApiKeyCreateForm,
    FirmSearchForm,
    LimitPurposeForm,
    LineFilterForm,
    MovementForm,
    WebhookCreateForm,
)
from portal.charts import bar_chart
from portal.once import AlreadySubmitted, acted_on_once
from registry import selectors as registry_selectors
from registry.models import Asset, BankApiKey, Consent, Industry

PAGE_SIZE = 25
AT_RISK_SHOWN = 20
HISTORY_SHOWN = 50

CAP_LABELS = {
    CAP_MAX_AMOUNT: gettext_lazy("Capped at the product's maximum amount"),
    CAP_MAX_SECURED_PER_ASSET: gettext_lazy("Capped at the single-asset maximum"),
}
EXCLUSION_LABELS = {
    EXCLUDED_ALREADY_PLEDGED: gettext_lazy("already pledged under an active credit line"),
    EXCLUDED_KIND_NOT_ELIGIBLE: gettext_lazy("this kind of asset is not eligible for the product"),
    EXCLUDED_CURRENCY_MISMATCH: gettext_lazy("valued in another currency than the product"),
}
COVERAGE_BUCKET_LABELS = {
    "below_1": gettext_lazy("below 1.0 (at risk)"),
    "1_to_1_5": gettext_lazy("1.0 to 1.5"),
    "1_5_to_2": gettext_lazy("1.5 to 2.0"),
    "2_and_above": gettext_lazy("2.0 and above"),
    "no_drawing": gettext_lazy("nothing secured drawn"),
}


def _chart_money(value: object) -> Decimal:
    """A database sum as an exact amount in cents for a chart label (SQLite hands some sums back as floats)."""
    return quantize(decimal_from(value or 0))


def not_found_as_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A selector's or service's NotFound (what is not yours, or does not exist) is a plain 404 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None

    return wrapped


def _page(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _querystring(request: HttpRequest, *, drop: tuple[str, ...] = ("page",)) -> str:
    return urlencode([(k, v) for k, values in request.GET.lists() if k not in drop for v in values if v])


def _error_text(exc: ApplicationError) -> str:
    details = [f"{message}" for messages_ in exc.errors.values() for message in messages_]
    return " ".join([exc.message, *details]) if details else exc.message


# --- portfolio ------------------------------------------------------------------------------------------------


@require_GET
@bank_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The portfolio: totals, lines at risk, breakdowns by industry and asset kind, and coverage buckets."""
    bank = request.user.bank
    portfolio = credit_selectors.portfolio_for_bank(bank=bank)
    english = (request.LANGUAGE_CODE or "").startswith("en")
    names = {
        i.code: (i.name_en if english else i.name_zh)
        for i in Industry.objects.filter(code__in=[row["industry"] for row in portfolio["by_industry"]])
    }
    by_industry = [
        {**row, "name": names.get(row["industry"], row["industry_name"] or row["industry"])}
        for row in portfolio["by_industry"]
    ]
    kind_labels = dict(Asset.Kind.choices)
    by_asset_kind = [
        {**row, "name": kind_labels.get(row["asset_kind"], row["asset_kind"])} for row in portfolio["by_asset_kind"]
    ]
    coverage = [
        {"bucket": bucket, "name": COVERAGE_BUCKET_LABELS[bucket], "lines": count}
        for bucket, count in portfolio["coverage_distribution"].items()
    ]
    at_risk_lines = list(
        credit_selectors.credit_line_export_qs(bank=bank, status=CreditLine.Status.AT_RISK).order_by("coverage", "id")[
            :AT_RISK_SHOWN
        ]
    )
    totals = portfolio["totals"]
    context = {
        "bank": bank,
        "portfolio": portfolio,
        "totals": totals,
        "available": totals["amount"] - totals["drawn"],
        "at_risk": portfolio["at_risk"],
        "at_risk_lines": at_risk_lines,
        "by_industry": by_industry,
        "by_asset_kind": by_asset_kind,
        "coverage": coverage,
        "industry_chart": bar_chart(
            [(row["name"], _chart_money(row["amount"])) for row in by_industry], title=_("Limits by industry (CNY)")
        ),
        "drawn_chart": bar_chart(
            [(row["name"], _chart_money(row["drawn"])) for row in by_industry], title=_("Drawn by industry (CNY)")
        ),
        "asset_kind_chart": bar_chart(
            [(str(row["name"]), _chart_money(row["collateral_value"])) for row in by_asset_kind],
            title=_("Pledged collateral by asset kind (CNY)"),
        ),
        "coverage_chart": bar_chart(
            [(str(row["name"]), row["lines"]) for row in coverage], title=_("Open lines by coverage ratio")
        ),
    }
    return render(request, "portal_bank/dashboard.html", context)


# --- firms ------------------------------------------------------------------------------------------------------


@require_GET
@bank_required
def firm_list(request: HttpRequest) -> HttpResponse:
    """Firms with live consent to this bank (the API's consenting-firms list), searched by USCC or name."""
    form = FirmSearchForm(request.GET or None)
    consents = registry_selectors.consent_list_for_user(user=request.user).filter(firm__is_active=True)
    q = ""
    if form.is_valid():
        q = form.cleaned_data["q"]
    if q:
        consents = consents.filter(Q(firm__uscc__icontains=q) | Q(firm__name__icontains=q))
    consents = consents.select_related("firm__industry").order_by("firm__name", "id")
    page = _page(request, consents)
    return render(
        request,
        "portal_bank/firm_list.html",
        {"form": form, "q": q, "page_obj": page, "querystring": _querystring(request)},
    )


@require_GET
@bank_required
@not_found_as_404
def firm_detail(request: HttpRequest, uscc: str) -> HttpResponse:
    """The explained limit under each active product, through the API's service (consent check and audit)."""
    bank = request.user.bank
    actor = request.user.as_actor
    form = LimitPurposeForm(request.GET or None)
    purpose = form.cleaned_data["purpose"] if form.is_valid() else ""
    products = list(credit_selectors.product_list_for_bank(bank=bank).filter(is_active=True).order_by("code"))
    # Refused (no live consent): the service audits the refusal and raises NotFound, which is a 404 here.
    limits = [
        credit_services.credit_limit_query(bank=bank, actor=actor, uscc=uscc, product_code=p.code, purpose=purpose)
        for p in products
    ]
    if not products:
        # No active product: ask without one, so the refusal is audited (credit_limit.refused) as the API's is;
        # without consent that is still a 404, a consenting firm's page shows no limit.
        try:
            limits = [
                credit_services.credit_limit_query(
                    bank=bank, actor=actor, uscc=uscc, product_code=None, purpose=purpose
                )
            ]
        except ProductRequired:
            limits = []
    firm = limits[0].firm if limits else registry_selectors.firm_get_for_bank(bank=bank, uscc=uscc)
    asset_ids = {line.asset for limit in limits for line in limit.result.lines} | {
        item["asset"] for limit in limits for item in limit.result.excluded
    }
    titles = dict(Asset.objects.filter(pk__in=asset_ids, firm=firm).values_list("id", "title"))
    kind_labels = dict(Asset.Kind.choices)
    explained = [
        {
            "limit": limit,
            "result": limit.result,
            "lines": [
                {"line": line, "title": titles.get(line.asset, ""), "kind": kind_labels.get(line.kind, line.kind)}
                for line in limit.result.lines
            ],
            "excluded": [
                {
                    "asset": item["asset"],
                    "title": titles.get(item["asset"], ""),
                    "reason": EXCLUSION_LABELS.get(item["reason"], item["reason"]),
                }
                for item in limit.result.excluded
            ],
            "caps": [CAP_LABELS.get(cap, cap) for cap in limit.result.caps_applied],
        }
        for limit in limits
    ]
    consent = Consent.objects.live().filter(bank=bank, firm=firm).first()
    lines = list(credit_selectors.credit_line_export_qs(bank=bank).filter(firm=firm).order_by("-id")[:HISTORY_SHOWN])
    return render(
        request,
        "portal_bank/firm_detail.html",
        {
            "firm": firm,
            "consent": consent,
            "explained": explained,
            "form": form,
            "lines": lines,
            "industry_name": firm.industry.name_en
            if (request.LANGUAGE_CODE or "").startswith("en")
            else firm.industry.name_zh,
        },
    )


# --- credit lines ---------------------------------------------------------------------------------------------


@require_GET
@bank_required
def line_list(request: HttpRequest) -> HttpResponse:
    form = LineFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    lines = credit_selectors.credit_line_export_qs(bank=request.user.bank, status=status or None).order_by("-id")
    page = _page(request, lines)
    return render(
        request,
        "portal_bank/line_list.html",
        {"form": form, "page_obj": page, "querystring": _querystring(request)},
    )


def _line_for(request: HttpRequest, line_id: int) -> CreditLine:
    return credit_selectors.credit_line_get_for_user(user=request.user, credit_line_id=line_id)


@require_GET
@bank_required
@not_found_as_404
def line_detail(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_for(request, line_id)
    return _render_line(request, line)


def _render_line(
    request: HttpRequest,
    line: CreditLine,
    *,
    draw_form: MovementForm | None = None,
    repay_form: MovementForm | None = None,
    status: int = 200,
) -> HttpResponse:
    pledges = line.pledges.select_related("asset", "valuation").order_by("id")
    collateral = sum((p.collateral_value for p in pledges if p.status == Pledge.Status.ACTIVE), start=Decimal("0.00"))
    context = {
        "line": line,
        "pledges": pledges,
        "collateral_value": collateral,
        "available": line.amount - line.drawn_amount,
        "movements": list(credit_selectors.credit_line_movements(credit_line=line)[:HISTORY_SHOWN]),
        "events": list(credit_selectors.credit_line_events(credit_line=line)[:HISTORY_SHOWN]),
        "draw_form": draw_form or MovementForm(prefix="draw"),
        "repay_form": repay_form or MovementForm(prefix="repay"),
        "is_open": line.status != CreditLine.Status.CLOSED,
    }
    return render(request, "portal_bank/line_detail.html", context, status=status)


def _movement(request: HttpRequest, line_id: int, *, kind: str) -> HttpResponse:
    line = _line_for(request, line_id)
    form = MovementForm(request.POST, prefix=kind)
    forms_ = {"draw_form": None, "repay_form": None, f"{kind}_form": form}
    if not form.is_valid():
        return _render_line(request, line, status=400, **forms_)
    service = credit_services.credit_line_draw if kind == "draw" else credit_services.credit_line_repay
    try:
        with acted_on_once(user_id=request.user.pk, key=form.cleaned_data["form_key"]):
            service(credit_line=line, amount=form.cleaned_data["amount"], actor=request.user.as_actor)
    except AlreadySubmitted:
        messages.warning(request, _("This form was already sent; it was acted on once only."))
        return redirect("portal_bank:line", line_id=line.pk)
    except NotFound:
        raise
    except ApplicationError as exc:
        form.add_error("amount", _error_text(exc))
        return _render_line(request, _line_for(request, line_id), status=exc.http_status, **forms_)
    amount = form.cleaned_data["amount"]
    if kind == "draw":
        messages.success(request, _("Drew %(amount)s CNY.") % {"amount": f"{amount:,.2f}"})
    else:
        messages.success(request, _("Repaid %(amount)s CNY.") % {"amount": f"{amount:,.2f}"})
    return redirect("portal_bank:line", line_id=line.pk)


@require_POST
@bank_required
@not_found_as_404
def line_draw(request: HttpRequest, line_id: int) -> HttpResponse:
    return _movement(request, line_id, kind="draw")


@require_POST
@bank_required
@not_found_as_404
def line_repay(request: HttpRequest, line_id: int) -> HttpResponse:
    return _movement(request, line_id, kind="repay")


@require_POST
@bank_required
@not_found_as_404
def line_close(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_for(request, line_id)
    try:
        credit_services.credit_line_close(credit_line=line, actor=request.user.as_actor)
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The credit line is closed and its pledges are released."))
    return redirect("portal_bank:line", line_id=line.pk)


def _list_with_create_form(
    request: HttpRequest,
    *,
    form_class: type[forms.Form],
    create: Callable[[dict[str, Any]], object],
    items: Any,
    template: str,
    label: Callable[[Any], None] | None = None,
) -> HttpResponse:
    """A list page with a create form (API keys, webhooks). GET: the page with an empty form. POST: a valid form
    calls ``create(cleaned_data)`` and answers 201 with an empty form and what it returned as ``created`` (shown
    once); an invalid one answers 400, and a service's refusal puts its messages on the form, under its status."""
    form, created, status = form_class(), None, 200
    if request.method == "POST":
        form, status = form_class(request.POST), 400
        if form.is_valid():
            try:
                created = create(form.cleaned_data)
            except ApplicationError as exc:
                for field, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                if not any(exc.errors.values()):
                    form.add_error(None, exc.message)
                status = exc.http_status
            else:
                form, status = form_class(), 201
    page = _page(request, items)
    if label is not None:
        for item in page.object_list:
            label(item)
    return render(
        request,
        template,
        {"form": form, "page_obj": page, "created": created, "querystring": _querystring(request)},
        status=status,
    )


# --- API keys ---------------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@bank_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the bank's keys; create one (the key is shown once, on the answer to the POST)."""

    def create(data: dict[str, Any]) -> str:
        api_key, key = credit_services.api_key_create(
            user=request.user, name=data["name"], expires_at=data["expires_at"]
        )
        messages.success(request, _("API key “%(name)s” created.") % {"name": api_key.name})
        return key

    return _list_with_create_form(
        request,
        form_class=ApiKeyCreateForm,
        create=create,
        items=BankApiKey.objects.filter(bank=request.user.bank).order_by("-created", "-pk"),
        template="portal_bank/api_keys.html",
    )


@require_POST
@bank_required
@not_found_as_404
def api_key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    credit_services.api_key_revoke(user=request.user, prefix=prefix)
    messages.success(request, _("API key %(prefix)s revoked.") % {"prefix": prefix})
    return redirect("portal_bank:api_keys")


# --- webhooks ---------------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@bank_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    """List the bank's subscriptions; subscribe a URL (the signing secret is shown once)."""

    def create(data: dict[str, Any]) -> Any:
        created = webhooks.webhook_subscribe(
            bank=request.user.bank, actor=request.user.as_actor, url=data["url"], events=list(data["events"])
        )
        messages.success(request, _("Webhook subscribed."))
        return created

    def label(subscription: WebhookSubscription) -> None:
        subscription.event_labels = [EVENT_LABELS.get(e, e) for e in subscription.events]

    return _list_with_create_form(
        request,
        form_class=WebhookCreateForm,
        create=create,
        items=webhooks.webhook_qs_for_bank(bank=request.user.bank).order_by("-id"),
        template="portal_bank/webhooks.html",
        label=label,
    )


@require_GET
@bank_required
@not_found_as_404
def webhook_detail(request: HttpRequest, webhook_id: int) -> HttpResponse:
    subscription = webhooks.webhook_get_for_bank(bank=request.user.bank, webhook_id=webhook_id)
    deliveries = (
        subscription.deliveries.select_related("event").prefetch_related(Prefetch("attempt_log")).order_by("-id")
    )
    page = _page(request, deliveries)
    return render(
        request,
        "portal_bank/webhook_detail.html",
        {
            "subscription": subscription,
            "event_labels": [EVENT_LABELS.get(e, e) for e in subscription.events],
            "page_obj": page,
            "querystring": _querystring(request),
            "statuses": WebhookDelivery.Status,
        },
    )


@require_POST
@bank_required
@not_found_as_404
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhooks.webhook_unsubscribe(bank=request.user.bank, actor=request.user.as_actor, webhook_id=webhook_id)
    messages.success(request, _("Webhook deleted; nothing more is sent to it."))
    return redirect(reverse("portal_bank:webhooks"))
