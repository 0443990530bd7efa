from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.audit import system_actor
from registry.models import Bank
from registry.services import bank_create


class Command(BaseCommand):
    help = "Register a bank by its code (capital letters, digits, underscores)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        if Bank.objects.filter(code=opts["code"]).exists():
            raise CommandError(f"A bank with code {opts['code']} already exists.")
        try:
            bank = bank_create(code=opts["code"], name=opts["name"], actor=system_actor("manage.py create_bank"))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Bank {bank.code} {bank.name}"))
