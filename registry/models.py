from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from common.audit import Actor
from common.models import AuditEvent, BaseModel
from common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
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


class SpecialisedLevel(models.TextChoices):
    NONE = "none", _("none")
    PROVINCIAL = "provincial", _("provincial specialised and sophisticated SME")
    NATIONAL = "national", _("national little giant")


class Firm(BaseModel):
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc])
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    region_code = models.CharField(_("administrative division"), max_length=6, validators=[region_code_validator])
    industry = models.ForeignKey(Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="firms")
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    high_tech_certificate_number = models.CharField(_("high-tech enterprise certificate"), max_length=40, blank=True)
    high_tech_certificate_expires_on = models.DateField(_("high-tech certificate expires on"), null=True, blank=True)
    specialised_level = models.CharField(
        _("specialised and sophisticated level"),
        max_length=20,
        choices=SpecialisedLevel.choices,
        default=SpecialisedLevel.NONE,
    )
    tech_sme_number = models.CharField(_("tech-SME number"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("firm")
        verbose_name_plural = _("firms")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"


def _indicator_money(verbose_name: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]


class FirmIndicator(BaseModel):
    """A firm's yearly innovation indicators, read by the innovation points of the valuation app."""

    firm = models.ForeignKey(Firm, verbose_name=_("firm"), on_delete=models.CASCADE, related_name="indicators")
    year = models.PositiveSmallIntegerField(_("year"))
    revenue = _indicator_money(_("revenue"))
    rd_expense = _indicator_money(_("R&D expense"))
    staff_count = models.PositiveIntegerField(_("staff"))
    rd_staff_count = models.PositiveIntegerField(_("R&D staff"))
    invention_applications = models.PositiveIntegerField(_("invention patent applications"), default=0)
    pct_applications = models.PositiveIntegerField(_("PCT applications"), default=0)
    tech_contract_turnover = _indicator_money(_("technology-contract turnover"), default=0)
    hightech_product_revenue = _indicator_money(_("high-tech product revenue"), default=0)
    net_assets = _indicator_money(_("net assets"), null=True, blank=True)

    class Meta:
        verbose_name = _("firm indicator")
        verbose_name_plural = _("firm indicators")
        ordering = ("firm", "-year")
        constraints = [
            models.UniqueConstraint(fields=["firm", "year"], name="firm_indicator_one_per_year"),
            models.CheckConstraint(name="firm_indicator_year_range", condition=Q(year__gte=1980) & Q(year__lte=2100)),
            models.CheckConstraint(
                name="firm_indicator_money_non_negative",
                condition=Q(revenue__gte=0)
                & Q(rd_expense__gte=0)
                & Q(tech_contract_turnover__gte=0)
                & Q(hightech_product_revenue__gte=0),
            ),
            models.CheckConstraint(
                name="firm_indicator_rd_staff_within_staff", condition=Q(rd_staff_count__lte=F("staff_count"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.firm_id} {self.year}"


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
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Used for this person's pages after sign-in and for the e-mails sent to them."),
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

    # No index of its own: asset_firm_id_idx (firm, id) serves every lookup by firm, and a second, narrower one
    # tempts the planner to read all of a firm's assets and sort them for page 1 of its list.
    firm = models.ForeignKey(
        Firm, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="assets", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    details = models.JSONField(_("details"), default=dict)
    # The registered identifier (patent, trademark, software or data registration number), normalised and
    # prefixed by kind: one asset per identifier in the whole registry.
    identifier = models.CharField(_("registered identifier"), max_length=120, null=True, blank=True)
    # The version that credit decisions and valuations use: the last one a reviewer approved.
    approved_version = models.PositiveIntegerField(_("approved version"), null=True, blank=True)
    required_approvals = models.PositiveSmallIntegerField(_("approvals required"), default=1)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True, db_index=True)
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
        indexes = [
            models.Index(fields=["firm", "status"], name="asset_firm_status_idx"),
            # Keyset pages (newest first by id) of one firm's assets and of the review queue: a range scan of the
            # index, not a walk down the primary key past every other firm's newer rows.
            models.Index(fields=["firm", "id"], name="asset_firm_id_idx"),
            models.Index(fields=["status", "id"], name="asset_status_id_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class AssetVersion(models.Model):
    """Every state of an asset's content, in order; never edited. ``number`` matches ``Asset.version``."""

    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    details = models.JSONField(_("details"))
    identifier = models.CharField(_("registered identifier"), max_length=120, null=True, blank=True)
    change = models.CharField(_("change"), max_length=20)  # created, edited, imported
    diff = models.JSONField(_("changes from the previous version"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("asset version")
        verbose_name_plural = _("asset versions")
        ordering = ("asset", "-number")
        constraints = [models.UniqueConstraint(fields=["asset", "number"], name="asset_version_unique")]

    def __str__(self) -> str:
        return f"asset #{self.asset_id} v{self.number}"


class AssetReview(models.Model):
    """One reviewer's decision on one version of an asset."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="reviews")
    version = models.PositiveIntegerField(_("version"))
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("asset review")
        verbose_name_plural = _("asset reviews")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "version", "reviewer"], name="asset_review_one_per_reviewer_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"asset #{self.asset_id} v{self.version} {self.decision}"


def document_upload_to(instance: object, filename: str) -> str:
    # Random names, grouped by month; the original name is kept in the row, never in the path.
    import uuid

    from django.utils import timezone as tz

    return f"evidence/{tz.now():%Y/%m}/{uuid.uuid4().hex}"


class Document(models.Model):
    """An evidence file on an asset: stored through Django's storage API, hashed, type sniffed from content."""

    class Kind(models.TextChoices):
        RIGHTS_CERTIFICATE = "rights_certificate", _("rights certificate")
        REGISTRATION_CERTIFICATE = "registration_certificate", _("registration certificate")
        LICENCE = "licence", _("licence")
        AUDIT_REPORT = "audit_report", _("audit report")
        CONTRACT = "contract", _("contract")
        OTHER = "other", _("other")

    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=255)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("evidence document")
        verbose_name_plural = _("evidence documents")
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=["asset", "sha256"], name="document_once_per_asset")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"


class ImportJob(BaseModel):
    """A bulk import of assets from a CSV, XLSX or JSON file, processed row by row by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        JSON = "json", "JSON"

    firm = models.ForeignKey(Firm, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("asset kind"), max_length=16, choices=Asset.Kind.choices)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=255)
    original_name = models.CharField(_("original name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    message = models.TextField(_("message"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(
                name="import_counts_within_processed",
                condition=Q(created_count__lte=F("processed"))
                & Q(failed_count__lte=F("processed"))
                & Q(unchanged_count__lte=F("processed")),
            ),
        ]
        indexes = [models.Index(fields=["firm", "id"], name="import_job_firm_id_idx")]  # keyset pages of a firm

    def __str__(self) -> str:
        return f"import #{self.pk} {self.kind} {self.status} {self.processed}/{self.total}"


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=200, blank=True)
    message = models.TextField()

    class Meta:
        verbose_name = _("import row error")
        verbose_name_plural = _("import row errors")
        ordering = ("job", "row", "id")
        indexes = [models.Index(fields=["job", "row"], name="import_error_job_row_idx")]

    def __str__(self) -> str:
        return f"import #{self.job_id} row {self.row}: {self.field} {self.message}"


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
        indexes = [
            models.Index(fields=["bank", "firm", "revoked_at", "expires_at"], name="consent_lookup_idx"),
            models.Index(fields=["bank", "id"], name="consent_bank_id_idx"),  # keyset pages of a bank's consents
        ]

    def __str__(self) -> str:
        return f"{self.firm_id} → {self.bank_id} until {self.expires_at:%Y-%m-%d}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class EmailSent(models.Model):
    """One e-mail sent to one person under an idempotency key, so a retried task does not send it twice."""

    key = models.CharField(_("key"), max_length=120)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail sent")
        verbose_name_plural = _("e-mails sent")
        constraints = [models.UniqueConstraint(fields=["key", "recipient"], name="email_sent_once_per_recipient")]

    def __str__(self) -> str:
        return f"{self.key} → {self.recipient_id}"
