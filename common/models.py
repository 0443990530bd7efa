from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(Exception):
    pass


class AuditEvent(models.Model):
    """One row per state change or sensitive read. Append-only: rows are never updated or deleted (the model
    refuses it, and so do database triggers installed by migration 0002). Each row carries the hash of the row
    before it (``prev_hash``) and its own (``hash``): see common/audit_chain.py."""

    class ActorType(models.TextChoices):
        USER = "user", _("person")
        API_KEY = "api_key", _("bank API key")
        SYSTEM = "system", _("system job")

    class Result(models.TextChoices):
        SUCCESS = "success", _("success")
        REFUSED = "refused", _("refused")
        FAILED = "failed", _("failed")

    # Set by audit_record before hashing (not auto_now_add, which would overwrite the hashed value).
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)
    actor_type = models.CharField(_("actor type"), max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(_("actor id"), max_length=64)
    actor_label = models.CharField(_("actor"), max_length=200)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.CharField(_("client address"), max_length=64, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    prev_hash = models.CharField(_("previous event's hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor_type", "actor_id"], name="audit_actor_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(actor_type="") & ~models.Q(actor_id="") & ~models.Q(action=""),
                name="audit_actor_and_action_required",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
        )

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise AppendOnlyError("Audit events are append-only.")
        if not self.hash:
            raise AppendOnlyError("Write audit events with common.audit.audit_record (it links them into the chain).")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError("Audit events are append-only.")


class IdempotencyRecord(models.Model):
    """A claim on an Idempotency-Key, then the first successful response to it, replayed for 24 hours.

    A request claims its key first, in a short transaction of its own (``in_progress``, with a lease); the
    handler's transaction stores the response (``completed``) together with the side effect. A failed handler
    deletes the claim; a claim whose lease has run out belonged to a crashed process and may be taken over."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")

    scope = models.CharField(max_length=100)  # who sent it: "user:12" or "api_key:AbCd1234"
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.COMPLETED)
    owner = models.CharField(max_length=32, blank=True)  # the claiming request's token
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(encoder=DjangoJSONEncoder, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
