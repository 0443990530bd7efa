from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from common.audit import Actor
from common.models import AuditEvent, BaseModel
from registry.validators import validate_uscc

bank_code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]{1,31}$",
    _("A bank code is 2 to 32 capital letters, digits or underscores, starting with a letter."),
)
region_code_validator = RegexValidator(r"^\d{6}$", _("An administrative division code is 6 digits."))


class Industry(models.Model):
    """Hubei priority-industry taxonomy (editable reference data), mapped to GB/T 4754 codes."""

    code = models.CharField(_("code"), max_length=32, primary_key=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    gbt4754_codes = models.JSONField(_("GB/T 4754 codes"), default=list, blank=True)

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Firm(BaseModel):
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc])
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    region_code = models.CharField(_("administrative division"), max_length=6, validators=[region_code_validator])
    industry = models.ForeignKey(Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="firms")
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("firm")
        verbose_name_plural = _("firms")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"


class Bank(BaseModel):
    code = models.CharField(_("code"), max_length=32, unique=True, validators=[bank_code_validator])
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bank")
        verbose_name_plural = _("banks")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class User(AbstractUser):
    class Role(models.TextChoices):
        FIRM_ADMIN = "firm_admin", _("firm administrator")
        FIRM_MEMBER = "firm_member", _("firm member")
        BANK_STAFF = "bank_staff", _("bank staff")
        REVIEWER = "reviewer", _("reviewer")
        PLATFORM_ADMIN = "platform_admin", _("platform administrator")

    FIRM_ROLES = (Role.FIRM_ADMIN, Role.FIRM_MEMBER)

    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    firm = models.ForeignKey(
        Firm, verbose_name=_("firm"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    bank = models.ForeignKey(
        Bank, verbose_name=_("bank"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                name="user_role_matches_organisation",
                condition=(
                    (Q(role__in=["firm_admin", "firm_member"]) & Q(firm__isnull=False) & Q(bank__isnull=True))
                    | (Q(role="bank_staff") & Q(bank__isnull=False) & Q(firm__isnull=True))
                    | (Q(role__in=["reviewer", "platform_admin", ""]) & Q(firm__isnull=True) & Q(bank__isnull=True))
                ),
                violation_error_message=_("Firm roles need a firm, bank staff a bank, and other roles neither."),
            ),
        ]

    @property
    def is_firm_user(self) -> bool:
        return self.role in self.FIRM_ROLES

    @property
    def is_reviewer(self) -> bool:
        return self.role in (self.Role.REVIEWER, self.Role.PLATFORM_ADMIN)

    @property
    def is_bank_user(self) -> bool:
        return self.role == self.Role.BANK_STAFF

    @property
    def acting_bank(self) -> Bank | None:
        return self.bank if self.is_bank_user else None

    @property
    def as_actor(self) -> Actor:
        return Actor(type=AuditEvent.ActorType.USER, id=str(self.pk), label=f"user:{self.username}")

    @property
    def idempotency_scope(self) -> str:
        return f"user:{self.pk}"


class BankApiKeyManager(APIKeyManager):
    def get_usable_keys(self) -> models.QuerySet[BankApiKey]:
        return super().get_usable_keys().select_related("bank")


class BankApiKey(AbstractAPIKey):
    """A bank system's key: shown once, stored hashed, identified by its prefix, revocable, may expire."""

    objects = BankApiKeyManager()

    bank = models.ForeignKey(Bank, verbose_name=_("bank"), on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("bank API key")
        verbose_name_plural = _("bank API keys")


class Asset(BaseModel):
    class Kind(models.TextChoices):
        DATA = "data", _("data asset")
        PATENT = "patent", _("patent")
        TRADEMARK = "trademark", _("trademark")
        SOFTWARE = "software", _("software copyright")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        RETIRED = "retired", _("retired")

    firm = models.ForeignKey(Firm, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="assets")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    details = models.JSONField(_("details"), default=dict)
    # The registered identifier (patent, trademark, software or data registration number), normalised and
    # prefixed by kind: one asset per identifier in the whole registry.
    identifier = models.CharField(_("registered identifier"), max_length=120, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["identifier"], condition=Q(identifier__isnull=False), name="asset_identifier_unique"
            ),
            models.CheckConstraint(
                name="asset_kind_valid", condition=Q(kind__in=["data", "patent", "trademark", "software"])
            ),
            models.CheckConstraint(
                name="asset_status_valid",
                condition=Q(status__in=["draft", "submitted", "approved", "rejected", "retired"]),
            ),
        ]
        indexes = [models.Index(fields=["firm", "status"], name="asset_firm_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class ConsentQuerySet(models.QuerySet["Consent"]):
    def live(self, *, at: object = None) -> ConsentQuerySet:
        now = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class Consent(BaseModel):
    """A firm's permission for one bank to query its credit data, until it expires or is revoked."""

    class Scope(models.TextChoices):
        CREDIT_LIMIT = "credit_limit", _("query credit limits")
        CREDIT_LINE = "credit_line", _("issue credit lines")

    firm = models.ForeignKey(Firm, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="consents")
    bank = models.ForeignKey(Bank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="consents")
    scopes = models.JSONField(_("scopes"), default=list)
    expires_at = models.DateTimeField(_("expires at"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "bank"], condition=Q(revoked_at__isnull=True), name="consent_one_unrevoked_per_bank"
            ),
        ]
        indexes = [models.Index(fields=["bank", "firm", "revoked_at", "expires_at"], name="consent_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.firm_id} → {self.bank_id} until {self.expires_at:%Y-%m-%d}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
