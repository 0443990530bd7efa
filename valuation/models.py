from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from common.money import CURRENCY_LENGTH, DEFAULT_CURRENCY, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from registry.models import Asset, Firm


class ParameterSetBase(models.Model):
    """A versioned set of parameters. Once used it is frozen: a change makes a new version."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    description = models.TextField(_("description"), blank=True)
    data = models.JSONField(_("parameters"))
    is_active = models.BooleanField(_("active"), default=False, help_text=_("The set new computations use."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    first_used_at = models.DateTimeField(_("first used at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.version}{' (active)' if self.is_active else ''}"

    @property
    def is_frozen(self) -> bool:
        return self.first_used_at is not None


class ParameterSet(ParameterSetBase):
    """Valuation parameters: discount rates, royalty ranges, life caps, quality weights, distributions, paths."""

    class Meta(ParameterSetBase.Meta):
        verbose_name = _("valuation parameter set")
        verbose_name_plural = _("valuation parameter sets")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="valuation_parameter_set_one_active"
            )
        ]


class InnovationParameterSet(ParameterSetBase):
    """Innovation-points parameters: indicator weights per stage, winsorising, bonus points, tier cut-offs."""

    class Meta(ParameterSetBase.Meta):
        verbose_name = _("innovation-points parameter set")
        verbose_name_plural = _("innovation-points parameter sets")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="innovation_parameter_set_one_active"
            )
        ]


class InnovationScore(models.Model):
    """A firm's innovation points for one year under one parameter set, with the breakdown kept."""

    class Stage(models.TextChoices):
        STARTUP = "startup", _("start-up")
        GROWTH = "growth", _("growth")
        MATURE = "mature", _("mature")

    firm = models.ForeignKey(Firm, verbose_name=_("firm"), on_delete=models.CASCADE, related_name="innovation_scores")
    year = models.PositiveSmallIntegerField(_("year"))
    parameter_set = models.ForeignKey(
        InnovationParameterSet, verbose_name=_("parameter set"), on_delete=models.PROTECT, related_name="scores"
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    base_points = models.DecimalField(_("base points"), max_digits=6, decimal_places=2)
    bonus_points = models.DecimalField(_("bonus points"), max_digits=6, decimal_places=2)
    total_points = models.DecimalField(_("total points"), max_digits=6, decimal_places=2)
    tier = models.CharField(_("tier"), max_length=1)
    cohort_size = models.PositiveIntegerField(_("cohort size"))
    breakdown = models.JSONField(_("breakdown"))
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("innovation score")
        verbose_name_plural = _("innovation scores")
        ordering = ("-year", "firm")
        constraints = [
            models.UniqueConstraint(fields=["firm", "year", "parameter_set"], name="innovation_score_unique"),
            models.CheckConstraint(name="innovation_score_tier_valid", condition=Q(tier__in=["A", "B", "C", "D", "E"])),
            models.CheckConstraint(
                name="innovation_score_points_range",
                condition=Q(base_points__gte=0)
                & Q(base_points__lte=100)
                & Q(bonus_points__gte=0)
                & Q(bonus_points__lte=30),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.firm_id} {self.year}: {self.total_points} ({self.tier})"


class ValuationJob(BaseModel):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class Scope(models.TextChoices):
        ASSETS = "assets", _("listed assets")
        FIRM = "firm", _("a firm's portfolio")
        ALL = "all", _("every approved asset")

    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.ASSETS)
    firm = models.ForeignKey(
        Firm, verbose_name=_("firm"), null=True, blank=True, on_delete=models.PROTECT, related_name="valuation_jobs"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    parameter_set = models.ForeignKey(
        ParameterSet,
        verbose_name=_("parameter set"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
    )
    trigger = models.CharField(
        _("trigger"), max_length=32, default="request", help_text=_("request, nightly, approved_version_changed")
    )
    chunk_size = models.PositiveIntegerField(_("chunk size"), default=500)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("valuation job")
        verbose_name_plural = _("valuation jobs")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(name="valuation_job_done_le_total", condition=Q(done__lte=F("total"))),
            models.CheckConstraint(name="valuation_job_failed_le_done", condition=Q(failed_count__lte=F("done"))),
        ]
        indexes = [models.Index(fields=["firm", "id"], name="valuation_job_firm_id_idx")]  # keyset pages of a firm

    def __str__(self) -> str:
        return f"job #{self.pk} {self.status} {self.done}/{self.total}"


class ValuationJobItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    job = models.ForeignKey(ValuationJob, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    chunk = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("valuation job item")
        verbose_name_plural = _("valuation job items")
        constraints = [models.UniqueConstraint(fields=["job", "asset"], name="valuation_job_item_unique")]
        indexes = [models.Index(fields=["job", "chunk", "status"], name="valuation_item_chunk_idx")]

    def __str__(self) -> str:
        return f"job #{self.job_id} asset #{self.asset_id} {self.status}"


class Valuation(models.Model):
    """One immutable valuation of one asset version. Reviewers approve it before credit can use it."""

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("pending review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        SUPERSEDED = "superseded", _("superseded")

    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="valuations")
    # The asset's firm, copied on insert (an asset never changes firm), so "this firm's newest valuations" is one
    # range of the (firm, id) index instead of a walk down the primary key (docs/scaling.md, "Lists").
    # No index of its own: the (firm, id) index serves every lookup by firm, and a narrower one tempts the planner to
    # read all of a firm's valuations and sort them.
    firm = models.ForeignKey(
        Firm, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    asset_version = models.PositiveIntegerField(_("asset version"))
    job = models.ForeignKey(
        ValuationJob, verbose_name=_("job"), null=True, blank=True, on_delete=models.PROTECT, related_name="valuations"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING_REVIEW, db_index=True
    )
    value = models.DecimalField(_("value"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    low = models.DecimalField(_("low (P10)"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    high = models.DecimalField(_("high (P90)"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    currency = models.CharField(_("currency"), max_length=CURRENCY_LENGTH, default=DEFAULT_CURRENCY)
    method = models.CharField(_("method"), max_length=32)
    parameter_set = models.CharField(_("parameter set"), max_length=32)
    engine_version = models.CharField(_("engine version"), max_length=16)
    seed = models.BigIntegerField(_("seed"))
    inputs = models.JSONField(_("inputs"))
    explanation = models.JSONField(_("explanation"))
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    as_of = models.DateField(_("valuation date"), null=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    required_approvals = models.PositiveSmallIntegerField(_("approvals required"), default=1)

    class Meta:
        verbose_name = _("valuation")
        verbose_name_plural = _("valuations")
        ordering = ("-id",)
        constraints = [
            # A redelivered job task can never write the same asset twice.
            models.UniqueConstraint(
                fields=["job", "asset"], condition=Q(job__isnull=False), name="valuation_one_per_job_asset"
            ),
            # At most one approved valuation per asset: approving a newer one supersedes the older.
            models.UniqueConstraint(
                fields=["asset"], condition=Q(status="approved"), name="valuation_one_approved_per_asset"
            ),
            models.CheckConstraint(
                name="valuation_range_ordered",
                condition=Q(low__gte=0) & Q(low__lte=F("value")) & Q(value__lte=F("high")),
            ),
        ]
        indexes = [
            models.Index(fields=["asset", "status"], name="valuation_asset_status_idx"),
            models.Index(fields=["firm", "id"], name="valuation_firm_id_idx"),
        ]

    def __str__(self) -> str:
        return f"valuation #{self.pk} of asset #{self.asset_id}: {self.value} {self.currency} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        if self.firm_id is None and self.asset_id is not None:
            self.firm_id = Asset.objects.values_list("firm_id", flat=True).get(pk=self.asset_id)
        super().save(*args, **kwargs)


class ValuationReview(models.Model):
    """One reviewer's approval or rejection of a valuation (two different reviewers above a set value)."""

    valuation = models.ForeignKey(
        Valuation, verbose_name=_("valuation"), on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=16)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("valuation review")
        verbose_name_plural = _("valuation reviews")
        constraints = [models.UniqueConstraint(fields=["valuation", "reviewer"], name="valuation_review_once")]

    def __str__(self) -> str:
        return f"valuation #{self.valuation_id} {self.decision}"
