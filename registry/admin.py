from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from common.exceptions import ApplicationError
from registry import services
from registry.models import (
    Asset,
    AssetReview,
    AssetVersion,
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
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Organisation"), {"fields": ("role", "firm", "bank")}))
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


class AssetVersionInline(ReadOnlyInline):
    model = AssetVersion
    fields = ("number", "change", "title", "diff", "created_by", "created_at")
    readonly_fields = fields
    ordering = ("-number",)


class AssetReviewInline(ReadOnlyInline):
    model = AssetReview
    fields = ("version", "reviewer", "decision", "reason", "created_at")
    readonly_fields = fields


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("kind", "original_name", "content_type", "size", "sha256", "uploaded_by", "created_at")
    readonly_fields = fields


class SubmittedForFilter(admin.SimpleListFilter):
    title = _("waiting")
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("1", _("more than a day")), ("7", _("more than a week")), ("30", _("more than a month"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> QuerySet[Asset]:
        if self.value():
            from datetime import timedelta

            from django.utils import timezone

            return queryset.filter(
                status=Asset.Status.SUBMITTED, submitted_at__lte=timezone.now() - timedelta(days=int(self.value()))
            )
        return queryset


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    """The review queue: filter by status, kind, firm and waiting time; approve selected assets with the same
    four-eyes rules as the API (rejections, which need a reason, go through the review API)."""

    list_display = (
        "id",
        "title",
        "kind",
        "status",
        "firm",
        "version",
        "approved_version",
        "required_approvals",
        "submitted_at",
    )
    list_filter = ("status", "kind", SubmittedForFilter, "firm__industry")
    search_fields = ("title", "identifier", "firm__uscc", "firm__name")
    list_select_related = ("firm",)
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
    inlines = [AssetReviewInline, AssetVersionInline, DocumentInline]
    actions = ["approve_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # firms register assets; the back office decides them

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Approve the selected submitted assets"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Asset]) -> None:
        for asset in queryset:
            try:
                asset = services.asset_approve(asset=asset, reviewer=request.user)
                self.message_user(request, f"#{asset.pk}: {asset.get_status_display()}", messages.SUCCESS)
            except ApplicationError as exc:
                self.message_user(request, f"#{asset.pk}: {exc.message}", messages.ERROR)


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
