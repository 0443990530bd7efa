from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.exceptions import ApplicationError
from common.models import AuditEvent, IdempotencyRecord

# --- review queues (used by the registry and valuation admins) -----------------------------------------------


class ReviewReasonForm(forms.Form):
    """The reason a rejection needs: the firm reads it and must be able to act on it."""

    reason = forms.CharField(
        label=_("Reason for the rejection"),
        help_text=_("The firm sees this text; say what must change."),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80, "data-testid": "reject-reason"}),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(gettext("A rejection needs a reason."))
        return reason


class StatusQueueFilter(admin.SimpleListFilter):
    """A status filter whose default (no parameter) is the status that awaits review; ``?status=all`` shows all."""

    title = _("status")
    parameter_name = "status"
    default_status: str = ""
    ALL = "all"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        field = model_admin.model._meta.get_field("status")
        return [*((value, label) for value, label in field.choices), (self.ALL, gettext("All"))]

    def value(self) -> str:
        value = super().value()
        return value if value is not None else self.default_status

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == self.ALL:
            return queryset
        if value not in {str(v) for v, _label in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(status=value)

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class ReviewAdminMixin:
    """Approve and reject as admin actions and as buttons on the change page, through the same services the API
    uses (so four-eyes, audit and state rules are identical). Only reviewers and platform administrators act
    (``user.is_reviewer``); a refusal from the service is shown as an error and changes nothing.

    A subclass sets ``review_awaiting_status`` and implements ``review_approve``, ``review_reject`` and
    ``review_outcome``."""

    review_awaiting_status: str = ""
    review_reject_template = "backoffice/review_reject.html"

    # -- to implement ----------------------------------------------------------------------------------------

    def review_approve(self, *, obj: Any, user: Any) -> Any:
        raise NotImplementedError

    def review_reject(self, *, obj: Any, user: Any, reason: str) -> Any:
        raise NotImplementedError

    def review_outcome(self, *, obj: Any) -> str:
        raise NotImplementedError

    # -- permissions -----------------------------------------------------------------------------------------

    def has_review_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "is_reviewer", False))

    def _review_url(self, name: str, *args: Any) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{name}", args=args)  # type: ignore[attr-defined]

    # -- one object at a time --------------------------------------------------------------------------------

    def _review_one(self, request: HttpRequest, obj: Model, decide: Callable[[Model], Any]) -> bool:
        """Run one decision in the service's own transaction; report the outcome. True when it went through."""
        try:
            decided = decide(obj)
        except ApplicationError as exc:
            self.message_user(  # type: ignore[attr-defined]
                request,
                gettext("%(object)s: refused: %(reason)s") % {"object": obj, "reason": exc.message},
                messages.ERROR,
            )
            return False
        self.message_user(  # type: ignore[attr-defined]
            request,
            gettext("%(object)s: %(outcome)s") % {"object": decided, "outcome": self.review_outcome(obj=decided)},
            messages.SUCCESS,
        )
        return True

    def _review_each(self, request: HttpRequest, queryset: QuerySet, decide: Callable[[Model], Any]) -> None:
        done = failed = 0
        for obj in queryset:
            if self._review_one(request, obj, decide):
                done += 1
            else:
                failed += 1
        if done + failed > 1:
            self.message_user(  # type: ignore[attr-defined]
                request,
                gettext("%(done)d done, %(failed)d refused.") % {"done": done, "failed": failed},
                messages.WARNING if failed else messages.INFO,
            )

    # -- admin actions ---------------------------------------------------------------------------------------

    def review_approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        if not self.has_review_permission(request):
            raise PermissionDenied
        self._review_each(request, queryset, lambda obj: self.review_approve(obj=obj, user=request.user))

    def review_reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First an intermediate page asking for the reason; then each selected object is rejected with it."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        form = ReviewReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._review_each(
                request, queryset, lambda obj: self.review_reject(obj=obj, user=request.user, reason=reason)
            )
            return None
        return self._reject_page(request, form=form, objects=list(queryset), action=request.POST.get("action", ""))

    def _reject_page(self, request: HttpRequest, *, form: ReviewReasonForm, objects: list, action: str) -> HttpResponse:
        opts = self.model._meta  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": gettext("Reject %(what)s") % {"what": opts.verbose_name_plural if action else opts.verbose_name},
            "opts": opts,
            "form": form,
            "objects": objects,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "queue_url": self._review_url("changelist"),
        }
        return TemplateResponse(request, self.review_reject_template, context, status=200)

    # -- buttons on the change page --------------------------------------------------------------------------

    def get_review_urls(self) -> list:
        opts = self.model._meta  # type: ignore[attr-defined]
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/approve/",
                wrap(self.review_approve_view),
                name=f"{opts.app_label}_{opts.model_name}_approve",
            ),
            path(
                "<path:object_id>/reject/",
                wrap(self.review_reject_view),
                name=f"{opts.app_label}_{opts.model_name}_reject",
            ),
        ]

    def _review_object(self, request: HttpRequest, object_id: str) -> Model:
        if not self.has_review_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=object_id)  # type: ignore[attr-defined]

    def review_approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._review_object(request, object_id)
        if self._review_one(request, obj, lambda o: self.review_approve(obj=o, user=request.user)):
            return HttpResponseRedirect(self._review_url("changelist"))
        return HttpResponseRedirect(self._review_url("change", obj.pk))

    def review_reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._review_object(request, object_id)
        form = ReviewReasonForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            if self._review_one(request, obj, lambda o: self.review_reject(obj=o, user=request.user, reason=reason)):
                return HttpResponseRedirect(self._review_url("changelist"))
            return HttpResponseRedirect(self._review_url("change", obj.pk))
        return self._reject_page(request, form=form, objects=[obj], action="")

    def review_change_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        """What the change-page template needs to show the Approve and Reject buttons."""
        can = obj is not None and self.has_review_permission(request) and obj.status == self.review_awaiting_status
        return {
            "can_review": can,
            "approve_url": self._review_url("approve", obj.pk) if can else "",
            "reject_url": self._review_url("reject", obj.pk) if can else "",
        }


# --- the audit trail -----------------------------------------------------------------------------------------


class ReadOnlyRecordAdmin(admin.ModelAdmin):
    """Records (audit events, movements, attempts) are append-only: visible in the admin, never edited there."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyRecordAdmin):
    """Read-only: the trail is append-only (and hash-chained; `manage.py verify_audit` checks it)."""

    list_display = ("id", "occurred_at", "actor_label", "action", "object_type", "object_id", "result", "short_hash")
    list_filter = ("result", "actor_type", "object_type", "action")
    search_fields = ("action", "object_type", "=object_id", "actor_label", "actor_id", "request_id", "ip", "=hash")
    search_help_text = _("Search by object id (exact), actor, action, request id, client address or hash (exact).")
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    ordering = ("-id",)
    show_full_result_count = False  # the trail is large: no second COUNT(*) over the whole table

    @admin.display(description=_("hash"))
    def short_hash(self, obj: AuditEvent) -> str:
        return obj.hash[:12]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "scope", "key", "response_status")
    search_fields = ("scope", "key")
    readonly_fields = ("scope", "key", "request_hash", "response_status", "response_body", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
