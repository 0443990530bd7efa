"""The firm portal: a finance officer's assets, valuations, credit lines, pledges, imports and consents.

Views are thin: they read through the selectors the API uses (anything not the firm's is a 404), write through
the API's own input serializers and services (same validation, messages, audit and permissions), and answer a
form with errors by re-rendering it with status 400; a successful write redirects with a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework import serializers

from common.api.exception_handler import flatten_errors
from common.exceptions import ApplicationError, NotFound
from portal.access import firm_required
from portal.charts import bar_chart, range_chart
from portal.firm import selectors as page_selectors
from portal.firm.forms import (
    METHOD_LABELS,
    AssetRegisterForm,
    ConsentGrantForm,
    DocumentUploadForm,
    ImportUploadForm,
    details_for_display,
)
from registry import selectors, services, uploads
from registry.apis import AssetListCreateApi, ConsentListCreateApi
from registry.apis_documents import document_upload_from_input
from registry.apis_imports import ImportCreateInputSerializer
from registry.details import details_validate
from registry.imports import columns
from registry.imports import selectors as import_selectors
from registry.imports import services as import_services
from registry.models import Asset, Consent, ImportJob, User
from registry.transitions import ASSET_TRANSITIONS
from valuation.models import Valuation

LIST_PAGE_SIZE = 25
ERRORS_PAGE_SIZE = 50
FINISHED_IMPORT_STATUSES = frozenset({ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED})
FORM_ERROR_STATUS = 400


def _firm_admin(user: User) -> bool:
    """The API's rule (registry.permissions.IsFirmAdminForWrites): only the firm's administrator grants or
    revokes consent."""
    return user.role == User.Role.FIRM_ADMIN


def _asset_or_404(request: HttpRequest, asset_id: int) -> Asset:
    try:
        return selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
    except NotFound:
        raise Http404(_("Asset not found.")) from None


def _import_job_or_404(request: HttpRequest, job_id: int) -> ImportJob:
    try:
        return import_selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    except NotFound:
        raise Http404(_("Import job not found.")) from None


def _page(request: HttpRequest, items: Any, size: int) -> Any:
    return Paginator(items, size).get_page(request.GET.get("page"))


def _application_errors(exc: ApplicationError, *, field: str = "") -> dict[str, list[str]]:
    """A refusal from a service as form errors: its message under ``field`` (or the whole form), plus any
    field errors it carries that are not just the message again."""
    errors: dict[str, list[str]] = {field: [str(exc.message)]}
    for name, messages_ in exc.errors.items():
        if name != "details":
            errors.setdefault(name, []).extend(str(m) for m in messages_)
    return errors


# --- dashboard ---------------------------------------------------------------------------------------------


@firm_required
def dashboard(request: HttpRequest) -> HttpResponse:
    data = page_selectors.dashboard_data(user=request.user)
    counts: Mapping[tuple[str, str], int] = data["asset_counts"]
    statuses = list(Asset.Status)
    rows = []
    for kind in Asset.Kind:
        cells = [counts.get((kind.value, status.value), 0) for status in statuses]
        rows.append({"kind": kind, "cells": cells, "total": sum(cells)})
    column_totals = [sum(row["cells"][i] for row in rows) for i in range(len(statuses))]
    totals = data["totals"]
    chart = None
    if totals["assets"]:
        chart = range_chart(
            totals["low"],
            totals["value"],
            totals["high"],
            title=_("Approved value of your assets (CNY)"),
            labels=(_("low"), _("central"), _("high")),
        )
    return render(
        request,
        "portal_firm/dashboard.html",
        {
            "firm": request.user.firm,
            "statuses": statuses,
            "rows": rows,
            "column_totals": column_totals,
            "grand_total": sum(column_totals),
            "totals": totals,
            "value_chart": chart,
            "credit_lines": data["credit_lines"],
            "pledges": data["pledges"],
            "consent_counts": data["consent_counts"],
        },
    )


# --- assets ------------------------------------------------------------------------------------------------


@firm_required
def asset_list(request: HttpRequest) -> HttpResponse:
    filters = AssetListCreateApi.AssetListCreateFilterSerializer(
        data={key: value for key, value in request.GET.items() if key in ("kind", "status") and value}
    )
    valid = filters.is_valid()
    chosen = filters.validated_data if valid else {}
    page = _page(request, page_selectors.asset_page_list(user=request.user, **chosen), LIST_PAGE_SIZE)
    return render(
        request,
        "portal_firm/asset_list.html",
        {
            "page_obj": page,
            "assets": page.object_list,
            "kinds": Asset.Kind.choices,
            "statuses": Asset.Status.choices,
            "chosen": chosen,
            "filter_errors": flatten_errors(filters.errors) if not valid else {},
            "querystring": urlencode(chosen),
        },
        status=200 if valid else FORM_ERROR_STATUS,
    )


def _kind_or_404(kind: str) -> str:
    if kind not in Asset.Kind.values:
        raise Http404(_("There is no such kind of asset."))
    return kind


@firm_required
def asset_register_choose(request: HttpRequest) -> HttpResponse:
    return render(request, "portal_firm/asset_register_choose.html", {"kinds": Asset.Kind.choices})


@firm_required
def asset_register(request: HttpRequest, kind: str) -> HttpResponse:
    """Register one asset of ``kind``: the API's input serializer, then the service the API's create calls."""
    kind = _kind_or_404(kind)
    if request.method != "POST":
        return _asset_form(request, AssetRegisterForm(kind=kind))
    form = AssetRegisterForm(request.POST, kind=kind)
    body, problems = form.payload()
    if problems:
        form.add_api_errors(problems)
        return _asset_form(request, form, status=FORM_ERROR_STATUS)
    serializer = AssetListCreateApi.AssetListCreateInputSerializer(data=body)
    try:
        if not serializer.is_valid():
            # The API stops at the envelope (e.g. a missing title); the page also checks the details, with the
            # function the service calls, so that every field's message shows at once.
            form.add_api_errors(_errors_by_field(form, serializer.errors))
            try:
                details_validate(kind=kind, details=body["details"])
            except serializers.ValidationError as exc:
                form.add_api_errors(_errors_by_field(form, exc.detail))
            return _asset_form(request, form, status=FORM_ERROR_STATUS)
        asset = services.asset_create(
            firm=selectors.firm_get_for_user(user=request.user),
            user=request.user,
            actor=request.user.as_actor,
            **serializer.validated_data,
        )
    except serializers.ValidationError as exc:
        form.add_api_errors(_errors_by_field(form, exc.detail))
        return _asset_form(request, form, status=FORM_ERROR_STATUS)
    except ApplicationError as exc:  # e.g. the identifier is already registered (409 in the API)
        form.add_api_errors(_application_errors(exc, field=form.identifier_field()))
        return _asset_form(request, form, status=FORM_ERROR_STATUS)
    messages.success(
        request,
        _("Asset “%(title)s” registered as a draft. Add evidence, then submit it for review.") % {"title": asset.title},
    )
    return redirect("portal_firm:asset-detail", asset_id=asset.pk)


def _errors_by_field(form: AssetRegisterForm, detail: Any) -> dict[str, list[str]]:
    """DRF's nested errors (paths like ``details.number``) filed under the form's fields."""
    errors: dict[str, list[str]] = {}
    for path, found in flatten_errors(detail).items():
        errors.setdefault(form.field_for_path(path), []).extend(found)
    return errors


def _asset_form(request: HttpRequest, form: AssetRegisterForm, *, status: int = 200) -> HttpResponse:
    kind_label = Asset.Kind(form.kind).label
    return render(
        request,
        "portal_firm/asset_form.html",
        {
            "form": form,
            "kind": form.kind,
            "kind_label": kind_label,
            "template_links": _template_links(form.kind),
        },
        status=status,
    )


def _method_rows(valuation: Valuation) -> list[dict[str, Any]]:
    methods = (valuation.explanation or {}).get("methods") or {}
    rows = []
    for name, figures in methods.items():
        row: dict[str, Any] = {"method": name}
        for key in ("value", "low", "high", "weight"):
            try:
                row[key] = Decimal(str(figures.get(key)))
            except (InvalidOperation, TypeError, ValueError):
                row[key] = None
        rows.append(row)
    return rows


def _valuation_blocks(valuations: Sequence[Valuation]) -> list[dict[str, Any]]:
    blocks = []
    for valuation in valuations:
        rows = _method_rows(valuation)
        bars = bar_chart(
            [
                (str(METHOD_LABELS.get(row["method"], row["method"])), row["value"])
                for row in rows
                if row["value"] is not None
            ],
            title=_("Value by method (CNY)"),
        )
        blocks.append(
            {
                "valuation": valuation,
                "range_chart": range_chart(
                    valuation.low,
                    valuation.value,
                    valuation.high,
                    title=_("Valuation range (CNY)"),
                    labels=(_("low"), _("central"), _("high")),
                ),
                "methods": rows,
                "method_chart": bars if rows else None,
                "report_url": reverse("valuation:valuation-detail", kwargs={"valuation_id": valuation.pk})
                + "report.pdf",
            }
        )
    return blocks


def _asset_page(
    request: HttpRequest, asset: Asset, *, upload_form: DocumentUploadForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    versions = list(page_selectors.asset_versions(asset=asset))
    return render(
        request,
        "portal_firm/asset_detail.html",
        {
            "asset": asset,
            "details": details_for_display(kind=asset.kind, details=asset.details),
            "can_submit": Asset.Status.SUBMITTED in ASSET_TRANSITIONS.get(asset.status, frozenset()),
            "can_upload": asset.status != Asset.Status.RETIRED,
            "upload_form": upload_form or DocumentUploadForm(),
            "documents": list(page_selectors.asset_documents(asset=asset)),
            "versions": versions,
            "valuations": _valuation_blocks(list(page_selectors.asset_valuations(user=user, asset=asset))),
            "reviews": list(page_selectors.asset_reviews(asset=asset)),
            "pledges": list(page_selectors.asset_pledges(user=user, asset=asset)),
        },
        status=status,
    )


@firm_required
def asset_detail(request: HttpRequest, asset_id: int) -> HttpResponse:
    return _asset_page(request, _asset_or_404(request, asset_id))


@firm_required
@require_POST
def asset_submit(request: HttpRequest, asset_id: int) -> HttpResponse:
    """Submit for review: the service POST /api/v1/assets/{id}/submit/ calls."""
    asset = _asset_or_404(request, asset_id)
    try:
        services.asset_submit(asset=asset, actor=request.user.as_actor, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The asset was submitted for review."))
    return redirect("portal_firm:asset-detail", asset_id=asset.pk)


@firm_required
@require_POST
def document_upload(request: HttpRequest, asset_id: int) -> HttpResponse:
    """Evidence upload: the checks and service of POST /api/v1/assets/{id}/documents/."""
    asset = _asset_or_404(request, asset_id)
    form = DocumentUploadForm(request.POST, request.FILES)
    try:
        uploads.document_upload_size_check(request=request)
        document, created = document_upload_from_input(
            data=_upload_data(request, ("kind",)), asset=asset, user=request.user
        )
    except serializers.ValidationError as exc:
        form.add_api_errors(flatten_errors(exc.detail))
        return _asset_page(request, asset, upload_form=form, status=FORM_ERROR_STATUS)
    except ApplicationError as exc:
        form.add_api_errors(_application_errors(exc, field="file"))
        return _asset_page(request, asset, upload_form=form, status=FORM_ERROR_STATUS)
    if created:
        messages.success(request, _("Evidence “%(name)s” uploaded.") % {"name": document.original_name})
    else:
        messages.info(
            request,
            _("This file is already on the asset as “%(name)s”; nothing was stored.")
            % {"name": document.original_name},
        )
    return redirect("portal_firm:asset-detail", asset_id=asset.pk)


def _upload_data(request: HttpRequest, names: Sequence[str]) -> dict[str, Any]:
    """The multipart fields the API's serializer reads: the file (if any) and the named form values."""
    data: dict[str, Any] = {name: request.POST[name] for name in names if request.POST.get(name)}
    if "file" in request.FILES:
        data["file"] = request.FILES["file"]
    return data


# --- imports -----------------------------------------------------------------------------------------------


def _template_links(kind: str | None = None) -> list[dict[str, Any]]:
    kinds = [kind] if kind else list(Asset.Kind.values)
    return [
        {
            "kind": Asset.Kind(k).label,
            "links": [
                (fmt.upper(), reverse("registry:import-template", kwargs={"kind": k, "fmt": fmt}))
                for fmt in columns.TEMPLATE_BUILDERS
            ],
        }
        for k in kinds
    ]


@firm_required
def import_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, import_selectors.import_job_qs_for_user(user=request.user), LIST_PAGE_SIZE)
    return render(
        request,
        "portal_firm/import_list.html",
        {"page_obj": page, "jobs": page.object_list, "template_links": _template_links()},
    )


@firm_required
def import_new(request: HttpRequest) -> HttpResponse:
    """Upload a file to import: the checks and service of POST /api/v1/imports/; the job runs in the background."""
    if request.method != "POST":
        return _import_form(request, ImportUploadForm())
    form = ImportUploadForm(request.POST, request.FILES)
    try:
        uploads.import_upload_size_check(request=request)
        serializer = ImportCreateInputSerializer(data=_upload_data(request, ("kind", "dry_run")))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = import_services.import_job_create(
            firm=selectors.firm_get_for_user(user=request.user),
            user=request.user,
            actor=request.user.as_actor,
            kind=data["kind"],
            uploaded_file=data["file"],
            dry_run=data["dry_run"],
        )
    except serializers.ValidationError as exc:
        form.add_api_errors(flatten_errors(exc.detail))
        return _import_form(request, form, status=FORM_ERROR_STATUS)
    except ApplicationError as exc:
        form.add_api_errors(_application_errors(exc, field="file"))
        return _import_form(request, form, status=FORM_ERROR_STATUS)
    messages.success(request, _("File received; import %(id)s has started.") % {"id": job.pk})
    return redirect("portal_firm:import-detail", job_id=job.pk)


def _import_form(request: HttpRequest, form: ImportUploadForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "portal_firm/import_form.html",
        {"form": form, "template_links": _template_links()},
        status=status,
    )


def _import_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    finished = job.status in FINISHED_IMPORT_STATUSES
    percent = 100 if finished else (int(job.processed * 100 / job.total) if job.total else 0)
    return {
        "job": job,
        "finished": finished,
        "percent": min(percent, 100),
        "errors_page": _page(request, import_selectors.import_row_errors(job=job), ERRORS_PAGE_SIZE),
    }


@firm_required
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _import_job_or_404(request, job_id)
    return render(request, "portal_firm/import_detail.html", _import_context(request, job))


@firm_required
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress fragment htmx polls every second; once the job is finished it comes back without the
    trigger (polling stops) and, for htmx, with the row errors swapped into the page out of band."""
    job = _import_job_or_404(request, job_id)
    context = {**_import_context(request, job), "oob_errors": bool(getattr(request, "htmx", False))}
    return render(request, "portal_firm/partials/import_progress.html", context)


# --- consents ----------------------------------------------------------------------------------------------


def _consent_state(consent: Consent) -> str:
    if consent.revoked_at is not None:
        return "revoked"
    return "active" if consent.is_live else "expired"


def _consent_page(request: HttpRequest, form: ConsentGrantForm | None, *, status: int = 200) -> HttpResponse:
    consents = list(selectors.consent_list_for_user(user=request.user))
    is_admin = _firm_admin(request.user)
    if form is None and is_admin:
        form = ConsentGrantForm(banks=list(selectors.bank_list_active()))
    return render(
        request,
        "portal_firm/consents.html",
        {
            "consents": [(consent, _consent_state(consent)) for consent in consents],
            "form": form if is_admin else None,
            "is_admin": is_admin,
        },
        status=status,
    )


@firm_required
def consents(request: HttpRequest) -> HttpResponse:
    """The firm's consents; its administrator grants one here (the serializer and service of POST
    /api/v1/consents/)."""
    if request.method != "POST":
        return _consent_page(request, None)
    if not _firm_admin(request.user):
        raise PermissionDenied(_("Only the firm's administrator can change this."))
    form = ConsentGrantForm(request.POST, banks=list(selectors.bank_list_active()))
    if not form.is_valid():
        return _consent_page(request, form, status=FORM_ERROR_STATUS)
    serializer = ConsentListCreateApi.ConsentListCreateInputSerializer(data=form.payload())
    try:
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bank = selectors.bank_get_by_code(code=data["bank"])
        if bank is None:
            form.add_error("bank", _("Unknown bank code."))
            return _consent_page(request, form, status=FORM_ERROR_STATUS)
        consent = services.consent_grant(
            firm=selectors.firm_get_for_user(user=request.user),
            bank=bank,
            expires_at=data["expires_at"],
            scopes=data["scopes"],
            user=request.user,
        )
    except serializers.ValidationError as exc:
        for path, found in flatten_errors(exc.detail).items():
            name = "expires_on" if path == "expires_at" else path
            for message in found:
                form.add_error(name if name in form.fields else None, message)
        return _consent_page(request, form, status=FORM_ERROR_STATUS)
    except ApplicationError as exc:
        form.add_error("expires_on" if "expires_at" in exc.errors else None, exc.message)
        return _consent_page(request, form, status=FORM_ERROR_STATUS)
    messages.success(request, _("Consent given to %(bank)s.") % {"bank": consent.bank.name})
    return redirect("portal_firm:consents")


@firm_required
@require_POST
def consent_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    """Revoke: the service of DELETE /api/v1/consents/{id}/ (firm administrators only, as in the API)."""
    if not _firm_admin(request.user):
        raise PermissionDenied(_("Only the firm's administrator can change this."))
    try:
        consent = selectors.consent_get_for_firm_user(user=request.user, consent_id=consent_id)
    except NotFound:
        raise Http404(_("Consent not found.")) from None
    services.consent_revoke(consent=consent, user=request.user)
    messages.success(request, _("Consent to %(bank)s revoked.") % {"bank": consent.bank.name})
    return redirect("portal_firm:consents")
