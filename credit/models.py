from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from common.money import (
    CURRENCY_LENGTH,
    DEFAULT_CURRENCY,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
)
from registry.models import Asset, Bank, Firm
from valuation.models import Valuation


def money(verbose_name: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]


class CreditProduct(BaseModel):
    class Kind(models.TextChoices):
        PLEDGE = "pledge", _("pledge loan")
        UNSECURED = "unsecured", _("innovation-points unsecured loan")
        BOTH = "both", _("pledge plus unsecured")

    bank = models.ForeignKey(Bank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="products")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PLEDGE)
    pledge_rates = models.JSONField(
        _("pledge rates"), default=dict, help_text=_('Asset kind to rate as a decimal string, e.g. {"patent": "0.25"}')
    )
    unsecured_by_tier = models.JSONField(_("unsecured amount by tier"), default=dict, blank=True)
    max_amount = money(_("maximum amount"), null=True, blank=True)
    max_term_months = models.PositiveSmallIntegerField(_("maximum term (months)"), default=36)
    max_valuation_age_days = models.PositiveSmallIntegerField(_("maximum valuation age (days)"), default=365)
    currency = models.CharField(_("currency"), max_length=CURRENCY_LENGTH, default=DEFAULT_CURRENCY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("credit product")
        verbose_name_plural = _("credit products")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="credit_product_code_unique_per_bank"),
            models.CheckConstraint(
                name="credit_product_max_amount_positive", condition=Q(max_amount__isnull=True) | Q(max_amount__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CreditLine(BaseModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        AT_RISK = "at_risk", _("at risk")
        CLOSED = "closed", _("closed")

    bank = models.ForeignKey(Bank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="credit_lines")
    firm = models.ForeignKey(Firm, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="credit_lines")
    product = models.ForeignKey(
        CreditProduct, verbose_name=_("product"), on_delete=models.PROTECT, related_name="credit_lines"
    )
    amount = money(_("amount"))
    drawn_amount = money(_("drawn"), default=0)
    secured_amount = money(_("secured part"), default=0)
    unsecured_amount = money(_("unsecured part"), default=0)
    currency = models.CharField(_("currency"), max_length=CURRENCY_LENGTH, default=DEFAULT_CURRENCY)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    matures_on = models.DateField(_("matures on"))
    issued_by = models.CharField(_("issued by"), max_length=200)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Margin watch: pledged collateral over the secured exposure; null while nothing secured is drawn.
    coverage = models.DecimalField(_("coverage"), max_digits=24, decimal_places=4, null=True, blank=True)
    coverage_computed_at = models.DateTimeField(_("coverage computed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(name="credit_line_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="credit_line_drawn_within_amount",
                condition=Q(drawn_amount__gte=0) & Q(drawn_amount__lte=F("amount")),
            ),
        ]
        indexes = [  # keyset pages (newest first by id) of a bank's and of a firm's lines
            models.Index(fields=["bank", "id"], name="credit_line_bank_id_idx"),
            models.Index(fields=["firm", "id"], name="credit_line_firm_id_idx"),
        ]

    def __str__(self) -> str:
        return f"line #{self.pk} {self.amount} {self.currency} ({self.status})"


class Pledge(BaseModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        RELEASED = "released", _("released")

    credit_line = models.ForeignKey(
        CreditLine, verbose_name=_("credit line"), on_delete=models.PROTECT, related_name="pledges"
    )
    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="pledges")
    valuation = models.ForeignKey(
        Valuation, verbose_name=_("valuation"), on_delete=models.PROTECT, related_name="pledges"
    )
    collateral_value = money(_("collateral value"))
    pledge_rate = models.DecimalField(_("pledge rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
    secured_amount = money(_("secured amount"))
    currency = models.CharField(_("currency"), max_length=CURRENCY_LENGTH, default=DEFAULT_CURRENCY)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    external_registration_number = models.CharField(_("external registration number"), max_length=100, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        ordering = ("-id",)
        constraints = [
            # The heart of the register: an asset backs at most one active loan, whoever asks.
            models.UniqueConstraint(fields=["asset"], condition=Q(status="active"), name="pledge_one_active_per_asset"),
            models.CheckConstraint(
                name="pledge_rate_within_cap", condition=Q(pledge_rate__gt=0) & Q(pledge_rate__lte="0.5")
            ),
        ]

    def __str__(self) -> str:
        return f"pledge #{self.pk} asset #{self.asset_id} → line #{self.credit_line_id} ({self.status})"


class CreditLineMovement(models.Model):
    """One draw or repayment, with the balance it left. Append-only."""

    class Kind(models.TextChoices):
        DRAW = "draw", _("draw")
        REPAYMENT = "repayment", _("repayment")

    credit_line = models.ForeignKey(
        CreditLine, verbose_name=_("credit line"), on_delete=models.PROTECT, related_name="movements"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = money(_("amount"))
    currency = models.CharField(_("currency"), max_length=CURRENCY_LENGTH, default=DEFAULT_CURRENCY)
    drawn_after = money(_("drawn after"))
    actor = models.CharField(_("actor"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("credit line movement")
        verbose_name_plural = _("credit line movements")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(name="credit_line_movement_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="credit_line_movement_drawn_after_nonneg", condition=Q(drawn_after__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} on line #{self.credit_line_id}"


class CreditLineEvent(models.Model):
    """Append-only history of a credit line, written in the transaction of the change it records."""

    class Type(models.TextChoices):
        ISSUED = "issued", _("issued")
        DRAW = "draw", _("draw")
        REPAYMENT = "repayment", _("repayment")
        AT_RISK = "at_risk", _("at risk")
        RECOVERED = "recovered", _("recovered")
        CLOSED = "closed", _("closed")
        PLEDGE_RELEASED = "pledge_released", _("pledge released")

    credit_line = models.ForeignKey(
        CreditLine, verbose_name=_("credit line"), on_delete=models.PROTECT, related_name="events"
    )
    type = models.CharField(_("type"), max_length=32, choices=Type.choices)
    data = models.JSONField(_("data"), default=dict, blank=True)
    actor = models.CharField(_("actor"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("credit line event")
        verbose_name_plural = _("credit line events")
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"line #{self.credit_line_id} {self.type}"


class PledgeEvent(models.Model):
    class Type(models.TextChoices):
        CREATED = "created", _("created")
        REGISTRATION_NUMBER_SET = "registration_number_set", _("registration number set")
        RELEASED = "released", _("released")

    pledge = models.ForeignKey(Pledge, verbose_name=_("pledge"), on_delete=models.PROTECT, related_name="events")
    type = models.CharField(_("type"), max_length=32, choices=Type.choices)
    data = models.JSONField(_("data"), default=dict, blank=True)
    actor = models.CharField(_("actor"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("pledge event")
        verbose_name_plural = _("pledge events")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"pledge #{self.pledge_id} {self.type}"


class WebhookSubscription(BaseModel):
    """A bank's URL subscribed to event types. The secret signs every delivery (HMAC-SHA256)."""

    bank = models.ForeignKey(Bank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("event types"), default=list)
    secret = models.CharField(_("signing secret"), max_length=128)
    created_by = models.CharField(_("created by"), max_length=200)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"webhook #{self.pk} {self.url}"


class WebhookEvent(models.Model):
    """The outbox: one row per event for one bank, written in the transaction of the change."""

    bank = models.ForeignKey(Bank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="webhook_events")
    type = models.CharField(_("type"), max_length=40, db_index=True)
    payload = models.JSONField(_("payload"), default=dict)
    # Makes tasks that announce an event idempotent (e.g. "consent.revoked:12"); empty for others.
    key = models.CharField(_("deduplication key"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["bank", "key"], condition=~Q(key=""), name="webhook_event_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} for bank #{self.bank_id}"


class WebhookDelivery(BaseModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(
        WebhookEvent, verbose_name=_("event"), on_delete=models.PROTECT, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("subscription"), on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once_per_subscription"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["subscription", "id"], name="webhook_delivery_sub_id_idx"),  # keyset pages
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    created_at = models.DateTimeField(_("attempted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}"
