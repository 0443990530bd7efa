from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from common.models import AuditEvent, IdempotencyRecord


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only (and hash-chained; `manage.py verify_audit` checks it)."""

    list_display = ("id", "occurred_at", "actor_label", "action", "object_type", "object_id", "result", "short_hash")
    list_filter = ("result", "actor_type", "object_type", "action")
    search_fields = ("action", "object_type", "object_id", "actor_label", "actor_id", "request_id", "ip", "=hash")
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    ordering = ("-id",)

    @admin.display(description=_("hash"))
    def short_hash(self, obj: AuditEvent) -> str:
        return obj.hash[:12]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "scope", "key", "response_status")
    search_fields = ("scope", "key")
    readonly_fields = ("scope", "key", "request_hash", "response_status", "response_body", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
