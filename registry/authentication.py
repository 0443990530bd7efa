"""Authentication for bank systems: ``Authorization: Api-Key <key>``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col
from django.db.models.fields import Field
from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from common.audit import Actor
from common.models import AuditEvent
from registry.models import Bank, BankApiKey

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class _KeySql:
    sql: str
    key_fields: list[Field]
    bank_fields: list[Field]
    converters: list[tuple[Col, list[Any]]]


_KEY_SQL: dict[str, _KeySql] = {}


def _key_sql(connection: BaseDatabaseWrapper) -> _KeySql:
    cached = _KEY_SQL.get(connection.vendor)
    if cached is None:
        key_fields = list(BankApiKey._meta.concrete_fields)
        bank_fields = list(Bank._meta.concrete_fields)
        # Identifiers only come from model metadata; every value is a parameter.
        sql = f"""
            SELECT {", ".join(f"k.{f.column}" for f in key_fields)}, {", ".join(f"b.{f.column}" for f in bank_fields)}
              FROM registry_bankapikey k INNER JOIN registry_bank b ON b.id = k.bank_id
             WHERE k.prefix = %s AND k.revoked = %s
        """  # noqa: S608
        converters = []
        for field, alias in [(f, "k") for f in key_fields] + [(f, "b") for f in bank_fields]:
            col = field.get_col(alias)
            converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
        cached = _KEY_SQL[connection.vendor] = _KeySql(sql, key_fields, bank_fields, converters)
    return cached


def bank_api_key_get_usable(*, prefix: str) -> BankApiKey | None:
    """The unrevoked key with ``prefix`` and its bank, read live (never cached: a revocation, an expiry or a
    bank's deactivation applies to the very next request) in one statement; what
    ``BankApiKey.objects.get_usable_keys().get(prefix=...)`` reads, without compiling a queryset per request."""
    connection = connections[BankApiKey.objects.db]
    statement = _key_sql(connection)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [prefix, False])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, (col, funcs) in enumerate(statement.converters):
        for func in funcs:
            values[i] = func(values[i], col, connection)
    n = len(statement.key_fields)
    api_key = BankApiKey.from_db(connection.alias, [f.attname for f in statement.key_fields], values[:n])
    api_key.bank = Bank.from_db(connection.alias, [f.attname for f in statement.bank_fields], values[n:])
    return api_key


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
        api_key = bank_api_key_get_usable(prefix=key.partition(".")[0])
        if api_key is None or not api_key.is_valid(key):
            raise AuthenticationFailed(_("The API key is not valid or has been revoked."))
        if api_key.has_expired:
            raise AuthenticationFailed(_("The API key has expired."))
        if not api_key.bank.is_active:
            raise AuthenticationFailed(_("The bank of this API key is not active."))
        return BankPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
