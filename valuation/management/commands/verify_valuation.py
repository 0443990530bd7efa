import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from valuation.models import Valuation
from valuation.services import valuation_verify


class Command(BaseCommand):
    help = (
        "Recompute a stored valuation from its inputs snapshot, parameter set and seed. Exit status 0 when it "
        "matches to the cent (and the fingerprint matches), 1 with the differences otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("valuation_id", type=int)

    def handle(self, *args: Any, **opts: Any) -> None:
        valuation = Valuation.objects.filter(pk=opts["valuation_id"]).first()
        if valuation is None:
            raise CommandError(f"No valuation {opts['valuation_id']}.")
        report = valuation_verify(valuation=valuation)
        if report["ok"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"valuation {valuation.pk} verified: value {valuation.value} low {valuation.low} high "
                    f"{valuation.high} {valuation.currency}, fingerprint {valuation.fingerprint[:16]}…"
                )
            )
            return
        self.stdout.write(json.dumps(report["differences"], indent=2, ensure_ascii=False))
        raise CommandError(f"valuation {valuation.pk} does not recompute to the stored figures")
