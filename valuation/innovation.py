"""Innovation points: the services and selectors around the pure maths of ``valuation.points`` (domain.md 3.3).

A year is always scored as a whole: a firm's percentile scores depend on every other firm of its stage cohort,
so a change to one firm's indicators recomputes the year (the registry triggers ``INNOVATION_SCORES_COMPUTE_TASK``
on commit). The computation locks the active parameter set's row, reads, scores and upserts in one transaction:
two computations of a year never interleave, and the later one reads what the earlier one could not see.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import Actor, audit_record
from common.exceptions import ValidationFailed
from registry.models import Firm, FirmIndicator
from valuation.models import InnovationParameterSet, InnovationScore
from valuation.parameter_sets import parameter_set_copy, parameter_set_make_active
from valuation.points import (
    DEFAULT_INNOVATION_PARAMETERS,
    Credentials,
    IndicatorRow,
    InnovationParameters,
    score_cohort,
)

# The Celery task that recomputes a year; lower apps (registry) send it by name: they may not import valuation.
INNOVATION_SCORES_COMPUTE_TASK = "valuation.tasks.innovation_scores_compute"
INNOVATION_SCORES_COMPUTE_YEARLY_TASK = "valuation.tasks.innovation_scores_compute_yearly"

_BULK_BATCH = 1000
_SCORE_FIELDS = ("stage", "base_points", "bonus_points", "total_points", "tier", "cohort_size", "breakdown")
_INDICATOR_FIELDS = (
    "firm_id",
    "revenue",
    "rd_expense",
    "staff_count",
    "rd_staff_count",
    "invention_applications",
    "pct_applications",
    "tech_contract_turnover",
    "hightech_product_revenue",
    "net_assets",
    "firm__founded_on",
    "firm__high_tech_certificate_number",
    "firm__high_tech_certificate_expires_on",
    "firm__specialised_level",
    "firm__tech_sme_number",
)


class InnovationYearOutOfRange(ValidationFailed):
    code = "innovation_year_out_of_range"


# --- parameter sets ---------------------------------------------------------------------------------------


def innovation_parameters_active() -> InnovationParameterSet:
    """The active parameter set, locked until the caller's transaction ends, and marked used (frozen).

    Migration 0003 installs the defaults of ``valuation.points`` as the active set "2026.1"; should no set be
    active (a flushed test database), those defaults become the active set here.
    """
    with transaction.atomic():
        active = InnovationParameterSet.objects.select_for_update().filter(is_active=True).first()
        if active is None:
            InnovationParameterSet.objects.get_or_create(
                version=DEFAULT_INNOVATION_PARAMETERS.version,
                defaults={
                    "data": DEFAULT_INNOVATION_PARAMETERS.as_dict(),
                    "description": "Innovation-points defaults (valuation.points, domain.md 3.3)",
                },
            )
            if not InnovationParameterSet.objects.filter(is_active=True).exists():
                InnovationParameterSet.objects.filter(version=DEFAULT_INNOVATION_PARAMETERS.version).update(
                    is_active=True
                )
            active = InnovationParameterSet.objects.select_for_update().get(is_active=True)
        if active.first_used_at is None:
            InnovationParameterSet.objects.filter(pk=active.pk, first_used_at__isnull=True).update(
                first_used_at=timezone.now()
            )
            active.refresh_from_db(fields=["first_used_at"])
    return active


def innovation_parameters_of(parameter_set: InnovationParameterSet) -> InnovationParameters:
    """The stored set as ``InnovationParameters``; the row's ``version`` is the authority."""
    return InnovationParameters.from_dict({**parameter_set.data, "version": parameter_set.version})


# --- computing a year -------------------------------------------------------------------------------------


def _cohort_indicators(*, year: int) -> QuerySet[FirmIndicator]:
    """The indicator rows that make up a year's cohort: every active firm that reported that year."""
    return FirmIndicator.objects.filter(year=year, firm__is_active=True)


def innovation_rows_for_year(*, year: int) -> list[IndicatorRow]:
    """The cohort's rows for ``valuation.points``, with the previous year's revenue and R&D when reported."""
    previous = {
        firm_id: (revenue, rd_expense)
        for firm_id, revenue, rd_expense in FirmIndicator.objects.filter(year=year - 1)
        .values_list("firm_id", "revenue", "rd_expense")
        .iterator(chunk_size=5000)
    }
    rows = []
    for values in (
        _cohort_indicators(year=year).values(*_INDICATOR_FIELDS).order_by("firm_id").iterator(chunk_size=5000)
    ):
        prev_revenue, prev_rd = previous.get(values["firm_id"], (None, None))
        rows.append(
            IndicatorRow(
                firm_id=values["firm_id"],
                year=year,
                revenue=values["revenue"],
                rd_expense=values["rd_expense"],
                staff_count=values["staff_count"],
                rd_staff_count=values["rd_staff_count"],
                invention_applications=values["invention_applications"],
                pct_applications=values["pct_applications"],
                tech_contract_turnover=values["tech_contract_turnover"],
                hightech_product_revenue=values["hightech_product_revenue"],
                net_assets=values["net_assets"],
                net_profit=None,  # not collected by the registry: return on net assets is reported missing
                previous_revenue=prev_revenue,
                previous_rd_expense=prev_rd,
                founded_on=values["firm__founded_on"],
                credentials=Credentials(
                    high_tech_certificate_number=values["firm__high_tech_certificate_number"],
                    high_tech_certificate_expires_on=values["firm__high_tech_certificate_expires_on"],
                    specialised_level=values["firm__specialised_level"],
                    tech_sme_number=values["firm__tech_sme_number"],
                ),
            )
        )
    return rows


@transaction.atomic
def innovation_scores_compute(*, year: int, actor: Actor) -> int:
    """Score every firm that reported indicators for ``year`` and upsert their ``InnovationScore`` rows.

    Idempotent: the same data gives the same rows (one per firm, year and parameter set). Scores of firms that
    left the cohort (indicators removed, firm deactivated) are deleted: their percentiles no longer hold.
    Returns the number of firms scored.
    """
    if not 1980 <= year <= 2100:
        raise InnovationYearOutOfRange(_("The year must be between 1980 and 2100."), errors={"year": [str(year)]})
    parameter_set = innovation_parameters_active()  # locked: computations under one set run one at a time
    params = innovation_parameters_of(parameter_set)
    results = score_cohort(innovation_rows_for_year(year=year), params)
    InnovationScore.objects.bulk_create(
        [
            InnovationScore(
                firm_id=result.firm_id,
                year=year,
                parameter_set=parameter_set,
                stage=result.stage,
                base_points=result.base_points,
                bonus_points=result.bonus_points,
                total_points=result.total_points,
                tier=result.tier,
                cohort_size=result.cohort_size,
                breakdown=result.breakdown(),
            )
            for result in results
        ],
        batch_size=_BULK_BATCH,
        update_conflicts=True,
        unique_fields=["firm", "year", "parameter_set"],
        update_fields=[*_SCORE_FIELDS, "computed_at"],
    )
    removed, _per_model = (
        InnovationScore.objects.filter(year=year, parameter_set=parameter_set)
        .exclude(firm_id__in=_cohort_indicators(year=year).values("firm_id"))
        .delete()
    )
    audit_record(
        actor=actor,
        action="innovation_scores.computed",
        object_type="innovation_scores",
        object_id=year,
        data={
            "year": year,
            "count": len(results),
            "parameter_set": parameter_set.version,
            "removed": removed,
            "tiers": dict(sorted(Counter(r.tier for r in results).items())),
            "stages": dict(sorted(Counter(r.stage for r in results).items())),
        },
    )
    return len(results)


# --- selectors --------------------------------------------------------------------------------------------


def innovation_score_list_for_firm(*, firm: Firm) -> QuerySet[InnovationScore]:
    """The firm's scores under the active parameter set, newest year first."""
    return (
        InnovationScore.objects.filter(firm=firm, parameter_set__is_active=True)
        .select_related("parameter_set")
        .order_by("-year")
    )


def innovation_score_latest_for_firm(*, firm: Firm) -> InnovationScore | None:
    """The firm's score for the latest year scored under the active parameter set, or None."""
    return innovation_score_list_for_firm(firm=firm).first()


def firm_tier(*, firm: Firm) -> str | None:
    """The firm's innovation tier (A-E) of its latest scored year, or None when it has no score."""
    score = innovation_score_latest_for_firm(firm=firm)
    return score.tier if score is not None else None


def innovation_score_as_dict(score: InnovationScore) -> dict[str, Any]:
    """A score as the APIs show it: the indicators as ``breakdown``, the credentials as ``bonus_items``."""
    stored = score.breakdown or {}
    return {
        "year": score.year,
        "stage": score.stage,
        "base_points": score.base_points,
        "bonus_points": score.bonus_points,
        "total_points": score.total_points,
        "tier": score.tier,
        "parameter_set": score.parameter_set.version,
        "cohort_size": score.cohort_size,
        "computed_at": score.computed_at,
        "stage_basis": stored.get("stage", {}),
        "breakdown": stored.get("indicators", []),
        "bonus_items": stored.get("bonus", []),
    }


def innovation_parameters_create_version(
    *, source: InnovationParameterSet, version: str, actor: Actor, data: dict[str, Any] | None = None
) -> InnovationParameterSet:
    """A new version from ``source`` (a used set is never edited in place), validated by the scoring code."""
    return parameter_set_copy(
        source=source, version=version, data=data, check=InnovationParameters.from_dict, actor=actor
    )


def innovation_parameters_activate(*, parameter_set: InnovationParameterSet, actor: Actor) -> InnovationParameterSet:
    return parameter_set_make_active(parameter_set=parameter_set, check=InnovationParameters.from_dict, actor=actor)
