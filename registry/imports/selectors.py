"""Reads of import jobs that imply permission: a firm sees its own jobs, reviewers all; anything else is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from registry.models import ImportJob, ImportRowError

ERRORS_SHOWN = 200  # row errors inlined in a job's body; the full list is paginated


def import_job_qs_for_user(*, user: Any) -> QuerySet[ImportJob]:
    errors_total = (
        ImportRowError.objects.filter(job=OuterRef("pk")).order_by().values("job").annotate(n=Count("pk")).values("n")
    )
    qs = ImportJob.objects.annotate(
        errors_total=Coalesce(Subquery(errors_total, output_field=IntegerField()), Value(0))
    )
    if getattr(user, "is_reviewer", False):
        return qs
    if getattr(user, "is_firm_user", False):
        return qs.filter(firm_id=user.firm_id)
    return qs.none()


def import_job_get_for_user(*, user: Any, job_id: int) -> ImportJob:
    try:
        return import_job_qs_for_user(user=user).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Import job not found.")) from None


def import_row_errors(*, job: ImportJob) -> QuerySet[ImportRowError]:
    """The row errors of a job the caller may already see, in row order."""
    return ImportRowError.objects.filter(job_id=job.pk).order_by("row", "id")


def import_row_errors_first(*, job: ImportJob) -> list[ImportRowError]:
    return list(import_row_errors(job=job)[:ERRORS_SHOWN])
