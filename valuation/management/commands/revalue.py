from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from common.audit import system_actor
from registry.models import Firm
from valuation.services import valuation_job_create, valuation_job_run_inline


class Command(BaseCommand):
    help = (
        "Queue a revaluation of every approved asset (or one firm's); with --inline run it in this process "
        "instead of on the Celery workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--firm", help="USCC of one firm; default: the whole province")
        parser.add_argument("--inline", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = system_actor("manage.py revalue")
        if opts["firm"]:
            firm = Firm.objects.get(uscc=opts["firm"])
            job = valuation_job_create(firm=firm, user=None, actor=actor, trigger="command")
        else:
            job = valuation_job_create(everything=True, user=None, actor=actor, trigger="command")
        if opts["inline"]:
            job = valuation_job_run_inline(job_id=job.pk)
        self.stdout.write(f"job {job.pk}: {job.status}, {job.done}/{job.total} valued, {job.failed_count} failed")
