import re
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.audit_chain import export_lines

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(option: str, value: str) -> date:
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date: give it as YYYY-MM-DD, e.g. 2026-12-01.") from None


class Command(BaseCommand):
    help = (
        "Export the audit events of a date range (both days included, in TIME_ZONE) as JSON lines, one event per "
        "line with every field and both hashes, in id order."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD", help="first day")
        parser.add_argument("--to", dest="last_day", required=True, metavar="YYYY-MM-DD", help="last day (included)")
        parser.add_argument("--output", metavar="FILE", help="write to FILE (UTF-8) instead of stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        first_day, last_day = _day("--from", opts["first_day"]), _day("--to", opts["last_day"])
        if first_day > last_day:
            raise CommandError(f"--from {first_day} is after --to {last_day}.")
        lines = export_lines(first_day=first_day, last_day=last_day)
        count = 0
        if opts["output"]:
            try:
                out = open(opts["output"], "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"cannot write {opts['output']}: {exc.strerror}") from None
            with out:
                for line in lines:
                    out.write(line + "\n")
                    count += 1
        else:
            for line in lines:
                self.stdout.write(line)
                count += 1
        where = opts["output"] or "stdout"
        message = f"Exported {count} audit events from {first_day} to {last_day} ({settings.TIME_ZONE}) to {where}."
        self.stderr.write(message)
