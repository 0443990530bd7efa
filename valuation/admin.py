from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.admin import ReviewAdminMixin, StatusQueueFilter
from common.exceptions import ApplicationError
from registry.versioning import content_diff
from valuation import innovation, services
from valuation.methods import Parameters
from valuation.models import (
    InnovationParameterSet,
    InnovationScore,
    ParameterSet,
    ParameterSetBase,
    Valuation,
    ValuationJob,
    ValuationJobItem,
    ValuationReview,
)
from valuation.points import InnovationParameters


class ValuationJobItemInline(admin.TabularInline):
    model = ValuationJobItem
    extra = 0
    readonly_fields = ("asset", "status", "error_code", "error")
    can_delete = False


@admin.register(ValuationJob)
class ValuationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "scope", "status", "done", "total", "failed_count", "requested_by", "created_at")
    list_filter = ("status", "scope")
    readonly_fields = [f.name for f in ValuationJob._meta.fields]
    inlines = [ValuationJobItemInline]


class ValuationStatusFilter(StatusQueueFilter):
    default_status = Valuation.Status.PENDING_REVIEW


class ValuationReviewInline(admin.TabularInline):
    model = ValuationReview
    extra = 0
    can_delete = False
    fields = ("reviewer", "decision", "reason", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ValuationReview]:
        return super().get_queryset(request).select_related("reviewer")


@admin.register(Valuation)
class ValuationAdmin(ReviewAdminMixin, admin.ModelAdmin):
    """The valuation review queue: pending valuations, oldest first. Approve and reject go through
    valuation.services, as the review API does (the requester cannot approve; two reviewers above the threshold)."""

    list_display = (
        "id",
        "asset",
        "firm_name",
        "kind",
        "status",
        "value",
        "low",
        "high",
        "currency",
        "method",
        "approvals",
        "computed_at",
    )
    list_filter = (
        ValuationStatusFilter,
        "asset__kind",
        ("asset__firm__industry", admin.RelatedOnlyFieldListFilter),
        ("asset__firm", admin.RelatedOnlyFieldListFilter),
        ("computed_at", admin.DateFieldListFilter),
        "method",
        "parameter_set",
    )
    search_fields = ("asset__title", "asset__identifier", "asset__firm__uscc", "asset__firm__name", "=fingerprint")
    search_help_text = _("Search by asset title or identifier, firm name or USCC, or fingerprint (exact).")
    list_select_related = ("asset", "asset__firm")
    ordering = ("computed_at", "id")  # the oldest first
    inlines = [ValuationReviewInline]
    actions = ["approve_selected", "reject_selected"]
    change_list_template = "backoffice/review_change_list.html"
    change_form_template = "backoffice/review_change_form.html"
    review_awaiting_status = Valuation.Status.PENDING_REVIEW

    class Media:
        css = {"all": ("backoffice/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Valuation]:
        approved = Q(reviews__decision="approved")
        return super().get_queryset(request).annotate(approvals_count=Count("reviews", filter=approved))

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # Valuations are immutable: decisions go through the review services and their four-eyes rule.
        return [f.name for f in Valuation._meta.fields]

    def get_urls(self) -> list:
        return [*self.get_review_urls(), *super().get_urls()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("firm"), ordering="asset__firm__name")
    def firm_name(self, obj: Valuation) -> str:
        # Not named "firm": the model's own firm field would win over this method and cost a query per row.
        return obj.asset.firm.name

    @admin.display(description=_("kind"), ordering="asset__kind")
    def kind(self, obj: Valuation) -> str:
        return str(obj.asset.get_kind_display())

    @admin.display(description=_("approvals"))
    def approvals(self, obj: Valuation) -> str:
        return f"{getattr(obj, 'approvals_count', 0)}/{obj.required_approvals}"

    def review_approve(self, *, obj: Valuation, user: Any) -> Valuation:
        return services.valuation_approve(valuation=obj, reviewer=user)

    def review_reject(self, *, obj: Valuation, user: Any, reason: str) -> Valuation:
        return services.valuation_reject(valuation=obj, reviewer=user, reason=reason)

    def review_outcome(self, *, obj: Valuation) -> str:
        if obj.status == Valuation.Status.PENDING_REVIEW:
            approvals = ValuationReview.objects.filter(valuation=obj, decision="approved").count()
            return gettext("approval recorded (%(approvals)d of %(required)d); another reviewer must approve it") % {
                "approvals": approvals,
                "required": obj.required_approvals,
            }
        return str(obj.get_status_display())

    @admin.action(description=_("Approve the selected valuations"), permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Valuation]) -> None:
        self.review_approve_selected(request, queryset)

    @admin.action(description=_("Reject the selected valuations (asks for a reason)"), permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Valuation]) -> HttpResponse | None:
        return self.review_reject_selected(request, queryset)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        waiting = Q(status=Valuation.Status.PENDING_REVIEW)
        counts = Valuation.objects.aggregate(
            awaiting=Count("id", filter=waiting),
            two_reviewers=Count("id", filter=waiting & Q(required_approvals__gt=1)),
            oldest=Min("computed_at", filter=waiting),
        )
        return super().changelist_view(request, {**(extra_context or {}), "queue_counts": counts})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = {**(extra_context or {}), "review_testid": "valuation"}
        if obj is not None:
            context.update(self.review_change_context(request, obj))
        return super().change_view(request, object_id, form_url, context)


# --- parameter sets ------------------------------------------------------------------------------------------


def next_version(*, model: type[ParameterSetBase], version: str) -> str:
    """The next free version label after ``version``: its trailing number plus one ("2026.1" -> "2026.2")."""
    match = re.match(r"^(.*?)(\d+)$", version)
    base, number = (match.group(1), int(match.group(2))) if match else (f"{version}.", 0)
    taken = set(model.objects.values_list("version", flat=True))
    while True:
        number += 1
        candidate = f"{base}{number}"
        if len(candidate) > 32:
            candidate = f"{base[: 32 - len(str(number))]}{number}"
        if candidate not in taken:
            return candidate


def parameter_set_history(*, parameter_set: ParameterSetBase) -> list[dict[str, Any]]:
    """Every version of this kind of set, newest first, each with its parameter changes from the one before."""
    model = type(parameter_set)
    rows: list[dict[str, Any]] = []
    previous = None
    for version in model.objects.select_related("created_by").order_by("created_at", "id"):
        before = {k: v for k, v in previous.data.items() if k != "version"} if previous else None
        after = {k: v for k, v in version.data.items() if k != "version"}
        changes = content_diff(before, after) if previous is not None else []
        rows.append(
            {
                "set": version,
                "current": version.pk == parameter_set.pk,
                "changes": [
                    {
                        "field": c["field"],
                        "before": json.dumps(c["before"], ensure_ascii=False, default=str),
                        "after": json.dumps(c["after"], ensure_ascii=False, default=str),
                    }
                    for c in changes
                ],
            }
        )
        previous = version
    return rows[::-1]


class NewParameterVersionForm(forms.Form):
    version = forms.CharField(
        label=_("new version"), max_length=32, help_text=_("A label no other set uses, e.g. 2026.2.")
    )
    description = forms.CharField(
        label=_("what changed and why"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )
    data = forms.JSONField(
        label=_("parameters"),
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "vLargeTextField"}),
        help_text=_("JSON, checked by the same code that computes with it before anything is saved."),
    )
    activate = forms.BooleanField(
        label=_("use it for new computations now"),
        required=False,
        help_text=_("The set in use now then becomes inactive; nothing already computed changes."),
    )

    def __init__(self, *args: Any, model: type[ParameterSetBase], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model

    def clean_version(self) -> str:
        version = self.cleaned_data["version"].strip()
        if self.model.objects.filter(version=version).exists():
            raise forms.ValidationError(gettext("Version %(v)s exists already.") % {"v": version})
        return version

    def clean_data(self) -> dict:
        data = self.cleaned_data["data"]
        if not isinstance(data, dict):
            raise forms.ValidationError(gettext("The parameters must be a JSON object."))
        return data


class VersionedParameterSetForm(forms.ModelForm):
    """A parameter set's form: ``data`` must parse with the engine's own ``parser`` (under the set's version)."""

    parser: ClassVar[type[Parameters] | type[InnovationParameters]]

    class Meta:
        fields = ("version", "description", "data")

    def clean(self) -> dict:
        cleaned = super().clean()
        data, version = cleaned.get("data"), cleaned.get("version") or getattr(self.instance, "version", None)
        if isinstance(data, dict) and version:
            try:
                self.parser.from_dict({**data, "version": version})
            except (TypeError, ValueError, KeyError) as exc:
                raise forms.ValidationError(gettext("These parameters are not valid: %(e)s") % {"e": exc}) from None
            cleaned["data"] = {**data, "version": version}
        return cleaned


class VersionedParameterSetAdmin(admin.ModelAdmin):
    """A set that computations used is never edited in place: "Edit as a new version" saves a new row (validated
    by the engine's own parser), optionally made active; the page lists every version with its changes."""

    list_display = ("version", "is_active", "first_used_at", "created_by", "created_at", "description")
    list_select_related = ("created_by",)
    actions = ["copy_as_new_version", "activate"]
    change_form_template = "backoffice/parameter_set_change_form.html"
    new_version_template = "backoffice/parameter_set_new_version.html"
    form: type[VersionedParameterSetForm]

    class Media:
        css = {"all": ("backoffice/admin.css",)}

    def check_data(self, data: dict) -> Any:
        return self.form.parser.from_dict(data)

    # -- to implement --------------------------------------------------------------------------------------------

    def create_version(self, *, source: Any, version: str, data: dict | None, request: HttpRequest) -> Any:
        raise NotImplementedError

    def make_active(self, *, parameter_set: Any, request: HttpRequest) -> Any:
        raise NotImplementedError

    def is_used(self, obj: Any) -> bool:
        return obj.is_frozen

    # -- editing -------------------------------------------------------------------------------------------------

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        frozen = ["is_active", "created_by", "created_at", "first_used_at"]
        if obj is not None and self.is_used(obj):
            return ["version", "description", "data", *frozen]
        return ["version", *frozen] if obj is not None else frozen

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        if change and self.is_used(type(obj).objects.get(pk=obj.pk)):
            raise PermissionDenied(gettext("This parameter set has been used; save a new version instead."))
        if not change:
            obj.created_by = request.user
        try:
            self.check_data({**obj.data, "version": obj.version})
        except (TypeError, ValueError, KeyError) as exc:
            raise PermissionDenied(gettext("These parameters are not valid: %(e)s") % {"e": exc}) from None
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not self.is_used(obj)

    def get_urls(self) -> list:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/new-version/",
                self.admin_site.admin_view(self.new_version_view),
                name=f"{opts.app_label}_{opts.model_name}_new_version",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            opts = self.model._meta
            context["parameter_history"] = parameter_set_history(parameter_set=obj)
            context["is_used"] = self.is_used(obj)
            if self.has_add_permission(request):
                context["new_version_url"] = reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_new_version", args=[obj.pk]
                )
        return super().change_view(request, object_id, form_url, context)

    def new_version_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        source = get_object_or_404(self.model, pk=object_id)
        opts = self.model._meta
        initial = {
            "version": next_version(model=self.model, version=source.version),
            "data": {k: v for k, v in source.data.items() if k != "version"},
            "activate": source.is_active,
        }
        form = NewParameterVersionForm(
            request.POST if request.method == "POST" else None, initial=initial, model=self.model
        )
        if form.is_bound and form.is_valid():
            try:
                with transaction.atomic():
                    created = self.create_version(
                        source=source,
                        version=form.cleaned_data["version"],
                        data=form.cleaned_data["data"],
                        request=request,
                    )
                    note = form.cleaned_data["description"].strip()
                    description = f"{note}\n({created.description})" if note else created.description
                    self.model.objects.filter(pk=created.pk).update(description=description)
                    if form.cleaned_data["activate"]:
                        self.make_active(parameter_set=created, request=request)
            except (TypeError, ValueError, KeyError) as exc:
                form.add_error("data", gettext("These parameters are not valid: %(e)s") % {"e": exc})
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    gettext("Saved version %(new)s; version %(old)s is kept unchanged.")
                    % {"new": created.version, "old": source.version},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[created.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("New version of %(set)s") % {"set": source.version},
            "opts": opts,
            "source": source,
            "form": form,
            "media": self.media,
        }
        return TemplateResponse(request, self.new_version_template, context)

    # -- actions -------------------------------------------------------------------------------------------------

    @admin.action(description=_("Copy the selected set as a new version"), permissions=["add"])
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet) -> None:
        for source in queryset:
            version = f"{source.version}-{timezone.now():%Y%m%d%H%M%S}"[:32]
            try:
                self.create_version(source=source, version=version, data=None, request=request)
            except (TypeError, ValueError, KeyError) as exc:
                self.message_user(
                    request, gettext("%(v)s: not valid: %(e)s") % {"v": source.version, "e": exc}, messages.ERROR
                )
                continue
            self.message_user(
                request, gettext("Created %(v)s; edit it, then activate it.") % {"v": version}, messages.SUCCESS
            )

    @admin.action(description=_("Activate the selected set for new computations"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one set to activate."), messages.ERROR)
            return
        chosen = self.make_active(parameter_set=queryset.get(), request=request)
        self.message_user(request, gettext("%(v)s is now active.") % {"v": chosen.version}, messages.SUCCESS)


class ParameterSetForm(VersionedParameterSetForm):
    parser = Parameters

    class Meta(VersionedParameterSetForm.Meta):
        model = ParameterSet


@admin.register(ParameterSet)
class ParameterSetAdmin(VersionedParameterSetAdmin):
    """Versioned valuation parameters (the engine uses the active set when a job is created)."""

    form = ParameterSetForm

    def is_used(self, obj: ParameterSet) -> bool:
        return obj.is_frozen or obj.jobs.exists() or Valuation.objects.filter(parameter_set=obj.version).exists()

    def create_version(self, *, source: ParameterSet, version: str, data: dict | None, request: HttpRequest) -> Any:
        return services.parameter_set_create_version(
            source=source, version=version, data=data, actor=request.user.as_actor, user=request.user
        )

    def make_active(self, *, parameter_set: ParameterSet, request: HttpRequest) -> Any:
        return services.parameter_set_activate(parameter_set=parameter_set, actor=request.user.as_actor)


class InnovationParameterSetForm(VersionedParameterSetForm):
    parser = InnovationParameters

    class Meta(VersionedParameterSetForm.Meta):
        model = InnovationParameterSet


@admin.register(InnovationParameterSet)
class InnovationParameterSetAdmin(VersionedParameterSetAdmin):
    """Versioned innovation-points parameters (scoring uses the active set)."""

    form = InnovationParameterSetForm

    def is_used(self, obj: InnovationParameterSet) -> bool:
        return obj.is_frozen or obj.scores.exists()

    def create_version(
        self, *, source: InnovationParameterSet, version: str, data: dict | None, request: HttpRequest
    ) -> Any:
        created = innovation.innovation_parameters_create_version(
            source=source, version=version, data=data, actor=request.user.as_actor
        )
        type(created).objects.filter(pk=created.pk).update(created_by=request.user)
        created.created_by = request.user
        return created

    def make_active(self, *, parameter_set: InnovationParameterSet, request: HttpRequest) -> Any:
        return innovation.innovation_parameters_activate(parameter_set=parameter_set, actor=request.user.as_actor)


@admin.register(InnovationScore)
class InnovationScoreAdmin(admin.ModelAdmin):
    list_display = ("firm", "year", "stage", "total_points", "tier", "parameter_set", "computed_at")
    list_filter = ("year", "tier", "stage")
    search_fields = ("firm__uscc", "firm__name")
    list_select_related = ("firm", "parameter_set")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in InnovationScore._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
