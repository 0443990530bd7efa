from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from common.audit import system_actor
from registry.models import Bank
from registry.services import bank_api_key_create


class Command(BaseCommand):
    help = "Create an API key for a bank's systems. The key is printed once, as the last line; keep it safe."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bank", required=True, help="the bank's code")
        parser.add_argument("--name", default="bank system", help="what the key is for")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        bank = Bank.objects.filter(code=opts["bank"]).first()
        if bank is None:
            raise CommandError(f"No bank with code {opts['bank']}.")
        expires = None
        if opts["expires_in_days"] is not None:
            if opts["expires_in_days"] <= 0:
                raise CommandError("--expires-in-days must be positive.")
            expires = timezone.now() + timedelta(days=opts["expires_in_days"])
        api_key, key = bank_api_key_create(
            bank=bank, name=opts["name"], expires_at=expires, actor=system_actor("manage.py create_api_key")
        )
        self.stderr.write(f"API key {api_key.prefix} for bank {bank.code} (shown once; stored hashed):")
        self.stdout.write(key)
