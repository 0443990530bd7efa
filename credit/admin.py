from django.contrib import admin
from django.http import HttpRequest

from common.admin import ReadOnlyRecordAdmin
from credit.models import (
    CreditLine,
    CreditLineEvent,
    CreditLineMovement,
    CreditProduct,
    Pledge,
    PledgeEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


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


@admin.register(CreditLineMovement)
class CreditLineMovementAdmin(ReadOnlyRecordAdmin):
    list_display = ("id", "credit_line", "kind", "amount", "currency", "drawn_after", "actor", "created_at")
    list_filter = ("kind",)
    list_select_related = ("credit_line",)


@admin.register(CreditLineEvent)
class CreditLineEventAdmin(ReadOnlyRecordAdmin):
    list_display = ("id", "credit_line", "type", "actor", "created_at")
    list_filter = ("type",)
    list_select_related = ("credit_line",)


@admin.register(PledgeEvent)
class PledgeEventAdmin(ReadOnlyRecordAdmin):
    list_display = ("id", "pledge", "type", "actor", "created_at")
    list_filter = ("type",)
    list_select_related = ("pledge",)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "bank", "url", "created_at", "deleted_at")
    list_filter = ("bank",)
    exclude = ("secret",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in WebhookSubscription._meta.fields if f.name not in ("secret", "deleted_at")]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyRecordAdmin):
    list_display = ("id", "bank", "type", "created_at")
    list_filter = ("type", "bank")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "status_code", "error", "duration_ms", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyRecordAdmin):
    list_display = ("id", "event", "subscription", "status", "attempts", "next_attempt_at", "last_status_code")
    list_filter = ("status",)
    list_select_related = ("event", "subscription")
    inlines = [WebhookAttemptInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyRecordAdmin):
    list_display = ("id", "delivery", "number", "status_code", "duration_ms", "created_at")
