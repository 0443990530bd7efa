from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.audit_chain import chain_verify


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain in id order and recompute every hash. Exit status 0 when the chain is "
        "intact; otherwise name the first broken link and exit with 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=2000, help="events read per database round trip")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        report = chain_verify(chunk_size=opts["chunk_size"])
        if not report.intact:
            raise CommandError(f"BROKEN at event {report.broken_id}: {report.problem}", returncode=1)
        self.stdout.write(f"OK: {report.count} events, chain intact, head {report.head or '(none)'}")
