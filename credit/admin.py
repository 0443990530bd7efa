from django.contrib import admin
from django.http import HttpRequest

from credit.models import CreditLine, CreditProduct, Pledge


@admin.register(CreditProduct)
class CreditProductAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "bank", "kind", "max_amount", "is_active")
    list_filter = ("bank", "kind", "is_active")
    search_fields = ("code", "name")


class PledgeInline(admin.TabularInline):
    model = Pledge
    extra = 0
    can_delete = False
    readonly_fields = (
        "asset",
        "valuation",
        "collateral_value",
        "pledge_rate",
        "secured_amount",
        "status",
        "external_registration_number",
        "released_at",
    )


@admin.register(CreditLine)
class CreditLineAdmin(admin.ModelAdmin):
    list_display = ("id", "bank", "firm", "product", "amount", "drawn_amount", "status", "matures_on")
    list_filter = ("status", "bank")
    list_select_related = ("bank", "firm", "product")
    search_fields = ("firm__uscc", "firm__name")
    inlines = [PledgeInline]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in CreditLine._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Pledge)
class PledgeAdmin(admin.ModelAdmin):
    list_display = ("id", "asset", "credit_line", "secured_amount", "status", "external_registration_number")
    list_filter = ("status",)
    list_select_related = ("asset", "credit_line")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Pledge._meta.fields if f.name != "external_registration_number"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
