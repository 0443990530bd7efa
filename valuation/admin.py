from django.contrib import admin
from django.http import HttpRequest

from valuation.models import Valuation, ValuationJob, ValuationJobItem


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


@admin.register(Valuation)
class ValuationAdmin(admin.ModelAdmin):
    list_display = ("id", "asset", "status", "value", "low", "high", "currency", "method", "computed_at")
    list_filter = ("status", "method", "parameter_set")
    search_fields = ("asset__title", "fingerprint")
    list_select_related = ("asset",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # Valuations are immutable: decisions go through the review API and its four-eyes rule.
        return [f.name for f in Valuation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
