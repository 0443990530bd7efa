"""Append-only records (the audit trail, credit-line movements and events, webhook traffic) share one read-only
admin (common.admin.ReadOnlyRecordAdmin): a superuser may view them, never add, change or delete them."""

from __future__ import annotations

import pytest
from django.contrib import admin

from common.admin import ReadOnlyRecordAdmin
from common.models import AuditEvent
from credit.models import (
    CreditLineEvent,
    CreditLineMovement,
    PledgeEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)

pytestmark = pytest.mark.django_db

RECORDS = [AuditEvent, CreditLineMovement, CreditLineEvent, PledgeEvent, WebhookEvent, WebhookDelivery, WebhookAttempt]


@pytest.mark.parametrize("model", RECORDS)
def test_records_are_viewed_never_edited_in_the_admin(rf, admin_user, admin_client, model):
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user
    assert isinstance(model_admin, ReadOnlyRecordAdmin)
    assert model_admin.has_view_permission(request) is True
    assert (
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request),
        model_admin.has_delete_permission(request),
    ) == (False, False, False)
    opts = model._meta
    assert admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/").status_code == 200
    assert admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/add/").status_code == 403
