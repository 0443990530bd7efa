import json
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, F, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from common.admin import ReviewAdminMixin, StatusQueueFilter
from registry import services
from registry.models import (
    Asset,
    AssetReview,
    Bank,
    BankApiKey,
    Consent,
    Document,
    Firm,
    FirmIndicator,
    ImportJob,
    ImportRowError,
    Industry,
    User,
)
from registry.versioning import content_diff, content_of

admin.site.site_header = _("Soft-asset registry back office")
admin.site.site_title = _("Soft-asset registry")
admin.site.unregister(APIKey)  # banks' keys are BankApiKey


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "role", "firm", "bank", "is_active", "last_login")
    list_filter = ("role", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Organisation"), {"fields": ("role", "firm", "bank", "language")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("Organisation"), {"fields": ("role", "firm", "bank")}))
    raw_id_fields = ("firm", "bank")


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "gbt4754_codes")
    search_fields = ("code", "name_zh", "name_en")


class FirmIndicatorInline(ReadOnlyInline):
    model = FirmIndicator
    fields = (
        "year",
        "revenue",
        "rd_expense",
        "staff_count",
        "rd_staff_count",
        "invention_applications",
        "pct_applications",
        "tech_contract_turnover",
        "hightech_product_revenue",
        "net_assets",
    )
    readonly_fields = fields


@admin.register(Firm)
class FirmAdmin(admin.ModelAdmin):
    list_display = ("uscc", "name", "industry", "region_code", "specialised_level", "is_active", "created_at")
    list_filter = ("industry", "specialised_level", "is_active")
    search_fields = ("uscc", "name")
    inlines = [FirmIndicatorInline]


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")
    search_fields = ("code", "name")


@admin.register(BankApiKey)
class BankApiKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "bank")
    list_filter = ("bank", "revoked")
    search_fields = ("prefix", "name", "bank__code")


class AssetReviewInline(ReadOnlyInline):
    model = AssetReview
    fields = ("version", "reviewer", "decision", "reason", "created_at")
    readonly_fields = fields
    verbose_name = _("review decision")
    verbose_name_plural = _("review decisions")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AssetReview]:
        return super().get_queryset(request).select_related("reviewer")


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("kind", "original_name", "content_type", "size", "sha256", "uploaded_by", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).select_related("uploaded_by")


class SubmittedForFilter(admin.SimpleListFilter):
    title = _("waiting")
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("1", _("more than a day")), ("7", _("more than a week")), ("30", _("more than a month"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> QuerySet[Asset]:
        if self.value() in ("1", "7", "30"):
            return queryset.filter(
                status=Asset.Status.SUBMITTED, submitted_at__lte=timezone.now() - timedelta(days=int(self.value()))
            )
        return queryset


class AssetStatusFilter(StatusQueueFilter):
    default_status = Asset.Status.SUBMITTED


def _shown(value: Any) -> str:
    """A diff value as text: lists and objects as compact JSON, a missing value as an empty string."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def asset_version_diffs(*, asset: Asset) -> list[dict[str, Any]]:
    """The asset's versions, newest first, each with the field-level changes from the version before it."""
    versions = list(asset.versions.select_related("created_by").order_by("number"))
    rows: list[dict[str, Any]] = []
    previous = None
    for version in versions:
        before = content_of(title=previous.title, details=previous.details) if previous else None
        changes = content_diff(before, content_of(title=version.title, details=version.details))
        rows.append(
            {
                "version": version,
                "changes": [
                    {"field": c["field"], "before": _shown(c["before"]), "after": _shown(c["after"])} for c in changes
                ],
            }
        )
        previous = version
    return rows[::-1]


@admin.register(Asset)
class AssetAdmin(ReviewAdminMixin, admin.ModelAdmin):
    """The asset review queue. By default it lists what awaits review, oldest first; filter by kind, industry,
    firm, status and submitted date; search by firm name or USCC and asset title or identifier. Approve and reject
    (selected rows or the buttons on an asset's page) go through registry.services, as the review API does, so the
    four-eyes rules are the same; only reviewers and platform administrators decide."""

    list_display = (
        "id",
        "title",
        "kind",
        "status",
        "firm",
        "industry",
        "version",
        "approvals",
        "submitted_at",
    )
    list_filter = (
        AssetStatusFilter,
        "kind",
        ("firm__industry", admin.RelatedOnlyFieldListFilter),
        ("firm", admin.RelatedOnlyFieldListFilter),
        ("submitted_at", admin.DateFieldListFilter),
        SubmittedForFilter,
    )
    search_fields = ("title", "identifier", "firm__uscc", "firm__name")
    search_help_text = _("Search by asset title or registered identifier, firm name or USCC.")
    list_select_related = ("firm", "firm__industry")
    ordering = (F("submitted_at").asc(nulls_last=True), "id")  # the oldest submission first
    readonly_fields = (
        "firm",
        "kind",
        "title",
        "details",
        "status",
        "version",
        "approved_version",
        "required_approvals",
        "identifier",
        "content_hash",
        "created_by",
        "submitted_by",
        "submitted_at",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "created_at",
        "updated_at",
    )
    inlines = [AssetReviewInline, DocumentInline]
    actions = ["approve_selected", "reject_selected"]
    change_list_template = "backoffice/review_change_list.html"
    change_form_template = "backoffice/review_change_form.html"
    review_awaiting_status = Asset.Status.SUBMITTED

    class Media:
        css = {"all": ("backoffice/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Asset]:
        approved_now = Q(reviews__decision=AssetReview.Decision.APPROVED, reviews__version=F("version"))
        return super().get_queryset(request).annotate(approvals_count=Count("reviews", filter=approved_now))

    def get_urls(self) -> list:
        return [*self.get_review_urls(), *super().get_urls()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # firms register assets; the back office decides them

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("industry"), ordering="firm__industry")
    def industry(self, obj: Asset) -> str:
        return obj.firm.industry.name_zh

    @admin.display(description=_("approvals"))
    def approvals(self, obj: Asset) -> str:
        return f"{getattr(obj, 'approvals_count', 0)}/{obj.required_approvals}"

    # -- review --------------------------------------------------------------------------------------------------

    def review_approve(self, *, obj: Asset, user: User) -> Asset:
        return services.asset_approve(asset=obj, reviewer=user)

    def review_reject(self, *, obj: Asset, user: User, reason: str) -> Asset:
        return services.asset_reject(asset=obj, reviewer=user, reason=reason)

    def review_outcome(self, *, obj: Asset) -> str:
        if obj.status == Asset.Status.SUBMITTED:
            approvals = AssetReview.objects.filter(
                asset=obj, version=obj.version, decision=AssetReview.Decision.APPROVED
            ).count()
            return gettext("approval recorded (%(approvals)d of %(required)d); another reviewer must approve it") % {
                "approvals": approvals,
                "required": obj.required_approvals,
            }
        return str(obj.get_status_display())

    @admin.action(description=_("Approve the selected submitted assets"), permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Asset]) -> None:
        self.review_approve_selected(request, queryset)

    @admin.action(description=_("Reject the selected submitted assets (asks for a reason)"), permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Asset]) -> HttpResponse | None:
        return self.review_reject_selected(request, queryset)

    # -- pages ---------------------------------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        waiting = Q(status=Asset.Status.SUBMITTED)
        counts = Asset.objects.aggregate(
            awaiting=Count("id", filter=waiting),
            two_reviewers=Count("id", filter=waiting & Q(required_approvals__gt=1)),
            oldest=Min("submitted_at", filter=waiting),
        )
        return super().changelist_view(request, {**(extra_context or {}), "queue_counts": counts})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = {**(extra_context or {}), "review_testid": "asset"}
        if obj is not None:
            context.update(self.review_change_context(request, obj))
            context["asset_versions"] = asset_version_diffs(asset=obj)
        return super().change_view(request, object_id, form_url, context)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("id", "firm", "bank", "expires_at", "revoked_at")
    list_filter = ("bank",)
    list_select_related = ("firm", "bank")
    search_fields = ("firm__uscc", "firm__name", "bank__code")
    readonly_fields = ("firm", "bank", "scopes", "expires_at", "granted_by", "revoked_by", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only the firm grants consent


class ImportRowErrorInline(ReadOnlyInline):
    model = ImportRowError
    fields = ("row", "field", "message")
    readonly_fields = fields


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "firm",
        "kind",
        "format",
        "dry_run",
        "status",
        "processed",
        "total",
        "created_count",
        "unchanged_count",
        "failed_count",
        "created_at",
    )
    list_filter = ("status", "kind", "format", "dry_run")
    list_select_related = ("firm",)
    inlines = [ImportRowErrorInline]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("id", "asset", "kind", "original_name", "content_type", "size", "created_at")
    list_filter = ("kind", "content_type")
    search_fields = ("sha256", "original_name", "asset__title")
    list_select_related = ("asset",)
    exclude = ("file",)  # never linked directly: downloads go through the access-checked API

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Document._meta.fields if f.name != "file"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
