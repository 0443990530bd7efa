from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from common.audit import system_actor
from common.exceptions import ApplicationError
from registry.identifiers import InvalidIdentifier
from registry.models import Industry, User
from registry.services import firm_create, user_create


class Command(BaseCommand):
    help = "Register a firm (by its USCC) and its first user, a firm administrator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--uscc", required=True, help="18-character Unified Social Credit Code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--industry", default="OPTO_ELEC", help="industry code (see the Industry table)")
        parser.add_argument("--legal-representative", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = system_actor("manage.py create_firm")
        if not Industry.objects.filter(code=opts["industry"]).exists():
            codes = ", ".join(Industry.objects.values_list("code", flat=True))
            raise CommandError(f"Unknown industry {opts['industry']!r}; choose one of: {codes}")
        try:
            with transaction.atomic():
                firm = firm_create(
                    uscc=opts["uscc"],
                    name=opts["name"],
                    industry_code=opts["industry"],
                    legal_representative=opts["legal_representative"],
                    actor=actor,
                )
                user_create(
                    username=opts["username"],
                    password=opts["password"],
                    role=User.Role.FIRM_ADMIN,
                    firm=firm,
                    actor=actor,
                )
        except (InvalidIdentifier, ApplicationError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Firm {firm.uscc} {firm.name} with user {opts['username']}"))
