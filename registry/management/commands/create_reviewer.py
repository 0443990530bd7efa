from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.audit import system_actor
from registry.models import User
from registry.services import user_create


class Command(BaseCommand):
    help = "Create a platform reviewer (back office) who can sign in to the admin and the review API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--platform-admin", action="store_true", help="a platform administrator instead")

    def handle(self, *args: Any, **opts: Any) -> None:
        role = User.Role.PLATFORM_ADMIN if opts["platform_admin"] else User.Role.REVIEWER
        if User.objects.filter(username=opts["username"]).exists():
            raise CommandError(f"User {opts['username']} already exists.")
        try:
            user_create(
                username=opts["username"],
                password=opts["password"],
                role=role,
                actor=system_actor("manage.py create_reviewer"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"{role} {opts['username']}"))
