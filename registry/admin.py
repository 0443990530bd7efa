from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from registry.models import Asset, Bank, BankApiKey, Consent, Firm, Industry, User

admin.site.site_header = _("Soft-asset registry back office")
admin.site.site_title = _("Soft-asset registry")
admin.site.unregister(APIKey)  # banks' keys are BankApiKey


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


@admin.register(Firm)
class FirmAdmin(admin.ModelAdmin):
    list_display = ("uscc", "name", "industry", "region_code", "is_active", "created_at")
    list_filter = ("industry", "is_active")
    search_fields = ("uscc", "name")


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")
    search_fields = ("code", "name")


@admin.register(BankApiKey)
class BankApiKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "bank")
    list_filter = ("bank", "revoked")
    search_fields = ("prefix", "name", "bank__code")


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "kind", "status", "firm", "version", "submitted_at", "decided_at")
    list_filter = ("kind", "status")
    search_fields = ("title", "identifier", "firm__uscc", "firm__name")
    list_select_related = ("firm",)
    readonly_fields = (
        "status",
        "version",
        "identifier",
        "created_by",
        "submitted_by",
        "submitted_at",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("firm",)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("id", "firm", "bank", "expires_at", "revoked_at")
    list_filter = ("bank",)
    list_select_related = ("firm", "bank")
    search_fields = ("firm__uscc", "firm__name", "bank__code")
    readonly_fields = ("granted_by", "revoked_by", "revoked_at")
