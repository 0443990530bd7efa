from django.contrib import admin
from django.http import HttpRequest

from common.models import AuditEvent, IdempotencyRecord


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id", "request_id")
    list_filter = ("actor_type", "object_type", "action")
    search_fields = ("actor_label", "object_id", "action", "request_id")
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

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
