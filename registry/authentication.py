"""Authentication for bank systems: ``Authorization: Api-Key <key>``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from common.audit import Actor
from common.models import AuditEvent
from registry.models import Bank, BankApiKey

KEYWORD = "Api-Key"


class BankPrincipal:
    """The authenticated caller when a bank system presents an API key (``request.user``)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_firm_user = False
    is_reviewer = False
    is_bank_user = True
    pk = None
    id = None
    firm = None
    role = "bank_api_key"

    def __init__(self, api_key: BankApiKey) -> None:
        self.api_key = api_key
        self.bank: Bank = api_key.bank

    @property
    def acting_bank(self) -> Bank:
        return self.bank

    @property
    def username(self) -> str:
        return f"api_key:{self.api_key.prefix}"

    @property
    def as_actor(self) -> Actor:
        return Actor(
            type=AuditEvent.ActorType.API_KEY,
            id=self.api_key.prefix,
            label=f"api_key:{self.bank.code}/{self.api_key.prefix}",
        )

    @property
    def idempotency_scope(self) -> str:
        return f"bank:{self.bank.pk}"

    def __str__(self) -> str:
        return self.username


class BankApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BankPrincipal, BankApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise AuthenticationFailed(_("Send the header as 'Authorization: Api-Key <key>'."))
        try:
            key = header[1].decode()
        except UnicodeError:
            raise AuthenticationFailed(_("The API key contains invalid characters.")) from None
        try:
            api_key = BankApiKey.objects.get_from_key(key)
        except BankApiKey.DoesNotExist:
            raise AuthenticationFailed(_("The API key is not valid or has been revoked.")) from None
        if api_key.has_expired:
            raise AuthenticationFailed(_("The API key has expired."))
        if not api_key.bank.is_active:
            raise AuthenticationFailed(_("The bank of this API key is not active."))
        return BankPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
