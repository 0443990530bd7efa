"""A malformed-input corpus against every write route (issue 6, robustness).

Every POST, PUT and PATCH of the URL configuration must have a row in WRITES (a valid body template and a role
allowed to write there) or in MULTIPART; a new write route fails ``test_every_write_route_has_a_template``
until it has one. Each route gets the corpus built from its template: invalid JSON text, JSON that is not an
object, wrong types for each field, 1 MB strings, 100,000-item arrays, NaN/Infinity as bare tokens and as
strings, 40-digit numbers and 1e400, negative and zero money, unicode edge cases (NUL, lone surrogates, RTL
override, zero-width joiner, 4-byte emoji, combining marks), SQL and HTML text.

Each case runs in a savepoint that is rolled back, against a snapshot of the row count of every project table
(audit events counted except audited refusals). Expectation per case:

- REFUSED: a 4xx, ``application/problem+json`` with type/title/status/code, and no row written;
- AS_TEMPLATE (valid data: SQL, HTML or unicode text in a free-text field, zero money where zero is allowed):
  the template's own status. When that is a 2xx, the value is stored verbatim (looked up in the model named
  by the route's ``text`` entry) and returned verbatim in a JSON (not HTML) body; when it is a 4xx, it is a
  refusal as above, for the same reason as the template's.

Routes whose view reads no body (``BODYLESS``: they take none in the OpenAPI schema) are listed explicitly:
what they are sent is never parsed, so a malformed body there neither fails nor changes what they do.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common.models import AuditEvent
from registry.models import Asset, Bank, Firm
from tests.factories.registry import BankStaffFactory, patent_details
from tests.security.matrix_world import World, api_routes, build_world, concrete

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
MB = 1024 * 1024
REFUSED, AS_TEMPLATE = "refused", "as_template"


@dataclass(frozen=True)
class Write:
    role: str
    body: dict[str, Any]
    ok: int  # the valid template's status in the matrix world
    money: dict[str, str] = dataclasses.field(default_factory=dict)  # field -> "positive" | "non_negative"
    # free-text fields -> (model label, model field) where the text is stored verbatim; None: stored, not echoed
    text: dict[str, tuple[str, str] | None] = dataclasses.field(default_factory=dict)
    idempotency_key: bool = False


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    expect: str = REFUSED
    field: str | None = None
    value: str | None = None  # the text to find stored verbatim (AS_TEMPLATE)
    content_type: str = "application/json"
    extra: dict[str, str] = dataclasses.field(default_factory=dict)


def _future() -> str:
    return (timezone.now() + timedelta(days=90)).isoformat()


def writes(params: dict[str, str]) -> dict[tuple[str, str], Write]:
    asset_id = int(params["<int:asset_id>"])
    uscc = params["<str:uscc>"]
    return {
        ("POST", "/api/v1/assets/"): Write(
            "a_admin",
            {"kind": "patent", "title": "Optical coupler", "details": patent_details()},
            201,
            text={"title": ("registry.Asset", "title")},
        ),
        ("PATCH", "/api/v1/assets/<int:asset_id>/"): Write(
            "a_admin", {"title": "Renamed"}, 200, text={"title": ("registry.Asset", "title")}
        ),
        ("POST", "/api/v1/assets/<int:asset_id>/retire/"): Write(
            "a_admin",
            {"reason": "sold"},
            409,
            text={"reason": None},  # pledged: 409 whatever the reason
        ),
        ("POST", "/api/v1/auth/token/"): Write("anon", {"username": "a-admin", "password": "pw-for-tests-1"}, 200),
        ("POST", "/api/v1/consents/"): Write(
            "a_admin", {"bank": "NONE", "expires_at": _future(), "scopes": ["credit_limit"]}, 201
        ),
        ("POST", "/api/v1/credit-lines/"): Write(
            "bank_live",
            {"firm": uscc, "product": "P1", "amount": "100.00", "assets": [asset_id], "term_months": 12},
            409,  # the world's asset is pledged already
            money={"amount": "positive"},
            idempotency_key=True,
        ),
        ("POST", "/api/v1/credit-lines/<int:credit_line_id>/draws/"): Write(
            "bank_live", {"amount": "10.00"}, 201, money={"amount": "positive"}, idempotency_key=True
        ),
        ("POST", "/api/v1/credit-lines/<int:credit_line_id>/repayments/"): Write(
            "bank_live", {"amount": "10.00"}, 422, money={"amount": "positive"}, idempotency_key=True
        ),
        ("POST", "/api/v1/credit/api-keys/"): Write(
            "bank_staff", {"name": "core banking"}, 201, text={"name": ("registry.BankApiKey", "name")}
        ),
        ("POST", "/api/v1/credit/products/"): Write(
            "bank_live",
            {"code": "P2", "name": "IP pledge", "pledge_rates": {"patent": "0.25"}, "max_term_months": 24},
            201,
            text={"name": ("credit.CreditProduct", "name")},
        ),
        ("PATCH", "/api/v1/firms/me/"): Write(
            "a_admin",
            {"name": "Optics Ltd", "legal_representative": "Li Lei"},
            200,
            text={"name": ("registry.Firm", "name"), "legal_representative": ("registry.Firm", "legal_representative")},
        ),
        ("PUT", "/api/v1/firms/me/indicators/<int:year>/"): Write(
            "a_admin",
            {"revenue": "1000.00", "rd_expense": "100.00", "staff_count": 10, "rd_staff_count": 2},
            200,
            money={"revenue": "non_negative", "rd_expense": "non_negative"},
        ),
        ("POST", "/api/v1/firms/me/members/"): Write(
            "a_admin",
            {"username": "new-member", "password": "a-long-password-1", "role": "firm_member"},
            201,
            text={"password": None},  # any text is a password; stored hashed, never echoed
        ),
        ("PATCH", "/api/v1/pledges/<int:pledge_id>/"): Write(
            "bank_live",
            {"external_registration_number": "CNIPA-2026-001"},
            200,
            text={"external_registration_number": ("credit.Pledge", "external_registration_number")},
        ),
        ("POST", "/api/v1/review/assets/<int:asset_id>/reject/"): Write(
            "reviewer",
            {"reason": "incomplete"},
            409,
            text={"reason": None},  # approved already: 409
        ),
        ("POST", "/api/v1/review/valuations/<int:valuation_id>/reject/"): Write(
            "reviewer", {"reason": "stale inputs"}, 200, text={"reason": ("valuation.Valuation", "rejection_reason")}
        ),
        ("POST", "/api/v1/valuation-jobs/"): Write("a_admin", {"assets": [asset_id]}, 202, idempotency_key=True),
        ("POST", "/api/v1/webhooks/"): Write(
            "bank_live", {"url": "https://bank.example/hooks/2", "events": ["credit_line.at_risk"]}, 201
        ),
    }


# Views that read no body (request=None in the schema): the body is not parsed, so it cannot be malformed.
BODYLESS = {
    ("POST", "/api/v1/assets/<int:asset_id>/submit/"),
    ("POST", "/api/v1/credit-lines/<int:credit_line_id>/close/"),
    ("POST", "/api/v1/credit-lines/<int:credit_line_id>/margin-check/"),
    ("POST", "/api/v1/review/assets/<int:asset_id>/approve/"),
    ("POST", "/api/v1/review/valuations/<int:valuation_id>/approve/"),
    ("POST", "/api/v1/webhooks/deliveries/<int:delivery_id>/replay/"),
}
MULTIPART = {
    ("POST", "/api/v1/assets/<int:asset_id>/documents/"),
    ("POST", "/api/v1/imports/"),
}
WRITE_ROUTES = sorted((m, r) for m, r in api_routes() if m in ("POST", "PUT", "PATCH"))


# --- the corpus ----------------------------------------------------------------------------------------------

SQL = ("'; DROP TABLE registry_asset; --", "1' OR '1'='1' /* union select */")
HTML = ("<script>alert('x')</script>", '<img src=x onerror="alert(1)"> &amp; <b>bold</b>')
VALID_UNICODE = (
    "right-to-left \u202eoverride\u202c text",
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467 joined",
    "four-byte emoji \U0001f600 \U0001d54f",
    "combining e\u0301\u0302 and a\u0308 marks",
)
BAD_UNICODE = ("nul \u0000 inside", "lone \ud800 surrogate", "low \udfff first")


def _dump(body: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \\ud800 escapes, exactly as a client would send them
    return json.dumps(body).encode()


def _with_token(template: dict[str, Any], name: str, token: str) -> bytes:
    marker = "__TOKEN__"
    return _dump({**template, name: marker}).replace(f'"{marker}"'.encode(), token.encode())


def _wrong_types(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return ["yes", [], {}, None]
    if isinstance(value, int):
        return ["abc", True, 1.5, [], {}, None]
    if isinstance(value, str):
        return [True, [], {}, None]
    if isinstance(value, list):
        return ["x", {}, 1, None, True, [None], [{}], [[]]]
    if isinstance(value, dict):
        return ["x", [], 1, None, True]
    return []


def corpus(w: Write) -> Iterator[Case]:
    tpl = w.body
    yield Case("truncated JSON", b'{"a": ')
    yield Case("single-quoted JSON", b"{'a': 1}")
    yield Case("trailing comma", _dump(tpl)[:-1] + b",}")
    yield Case("not UTF-8", b'{"a": "\xff\xfe"}')
    yield Case("deep nesting", b"[" * 100_000 + b"]" * 100_000)
    yield Case("body above the size limit", _dump({"x": "a" * (6 * MB)}))
    for name, value in (("list", [tpl]), ("empty list", []), ("string", "text"), ("null", None), ("number", 42)):
        yield Case(f"not an object: {name}", _dump(value))
    yield Case("NUL in an unknown nested field", _dump({**tpl, "extra": {"deep": ["a\u0000b"]}}))
    yield Case("NUL in a key", _dump({**tpl, "k\u0000": 1}))
    yield Case("lone surrogate in an unknown field", _dump({**tpl, "extra": "\ud800"}))
    yield Case(
        "form-encoded body with too many fields",
        b"&".join(b"f%d=1" % i for i in range(1500)),
        content_type="application/x-www-form-urlencoded",
    )

    for name, value in tpl.items():
        numeric = name in w.money or (isinstance(value, int) and not isinstance(value, bool))
        for wrong in _wrong_types(value):
            yield Case(f"{name}: wrong type {json.dumps(wrong)}", _dump({**tpl, name: wrong}), field=name)
        yield Case(f"{name}: 1 MB string", _dump({**tpl, name: "x" * MB}), field=name)
        yield Case(f"{name}: 100,000-item array", _dump({**tpl, name: [1] * 100_000}), field=name)
        if isinstance(value, list) and value:
            yield Case(f"{name}: 100,000 items", _dump({**tpl, name: value[:1] * 100_000}), field=name)
            yield Case(f"{name}: 1 MB string item", _dump({**tpl, name: ["x" * MB]}), field=name)
            if isinstance(value[0], int):
                for item in (10**40, -(10**40), -1, 0, 1.5, "abc", True):
                    yield Case(f"{name}: item {item!r}", _dump({**tpl, name: [item]}), field=name)
        for token in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400"):
            yield Case(f"{name}: bare {token}", _with_token(tpl, name, token), field=name)
        if numeric:
            for text in ("NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 39, "0." + "0" * 39 + "1"):
                yield Case(f"{name}: string {text[:12]}", _dump({**tpl, name: text}), field=name)
            for number in (10**40, -(10**40)):
                yield Case(f"{name}: 40-digit number {number:.0e}", _dump({**tpl, name: number}), field=name)
        if name in w.money:
            for amount in ("-0.01", "-100.00", -5):
                yield Case(f"{name}: negative money {amount}", _dump({**tpl, name: amount}), field=name)
            zero = AS_TEMPLATE if w.money[name] == "non_negative" else REFUSED
            for amount in ("0", "0.00", 0):
                yield Case(f"{name}: zero money {amount!r}", _dump({**tpl, name: amount}), expect=zero, field=name)
        if isinstance(value, str) and not numeric:
            for bad in BAD_UNICODE:
                yield Case(f"{name}: {bad[:5]!r} text", _dump({**tpl, name: bad}), field=name)
            for text in (*VALID_UNICODE, *SQL, *HTML):
                expect = AS_TEMPLATE if name in w.text else REFUSED
                yield Case(f"{name}: text {text[:20]!r}", _dump({**tpl, name: text}), expect, name, text)


# --- checking ------------------------------------------------------------------------------------------------


def _table_counts() -> tuple[int, ...]:
    """The row count of every project table in one query; audit events except audited refusals."""
    audit = AuditEvent._meta.db_table
    # the login lockout's record of failed attempts is written on a refusal by design, as are refused audit rows
    lockout = {m._meta.db_table for m in apps.get_models() if m._meta.app_label == "axes"}
    tables = sorted(
        t for t in connection.introspection.django_table_names(only_existing=True) if t != audit and t not in lockout
    )
    q = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {q(t)})" for t in tables)  # noqa: S608 - introspected names
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    return (*row, AuditEvent.objects.exclude(result=AuditEvent.Result.REFUSED).count())


def _contains(data: Any, text: str) -> bool:
    if isinstance(data, str):
        return data == text
    if isinstance(data, dict):
        return any(_contains(v, text) for v in data.values())
    if isinstance(data, list):
        return any(_contains(v, text) for v in data)
    return False


def _problem_failure(response: Any) -> str | None:
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}"
    if response["Content-Type"] != PROBLEM:
        return f"{response.status_code} with Content-Type {response['Content-Type']}"
    body = response.json()
    missing = [k for k in ("type", "title", "status", "code") if k not in body]
    if missing or body["status"] != response.status_code:
        return f"{response.status_code}: not problem details ({body})"
    return None


def _send(client: APIClient, method: str, path: str, case: Case, key: str | None) -> Any:
    extra = dict(case.extra)
    if key:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.generic(method, path, case.raw, content_type=case.content_type, **extra)


def _stored(w: Write, case: Case) -> bool | None:
    """Whether the case's text is in the column its field is stored in; None where that is not looked up."""
    target = w.text.get(case.field or "")
    if target is None or case.value is None:
        return None
    label, column = target
    return apps.get_model(label).objects.filter(**{column: case.value}).exists()


def _run(world: World, method: str, route: str, w: Write, case: Case, n: int) -> str | None:
    path = concrete(route, world.params)
    valid_write = case.expect == AS_TEMPLATE and 200 <= w.ok < 300
    cache.clear()  # throttling state is no part of this test
    with transaction.atomic():
        before = _table_counts()
        response = _send(world.clients[w.role], method, path, case, f"corpus-{n}" if w.idempotency_key else None)
        after = _table_counts()
        stored = _stored(w, case) if valid_write else None
        transaction.set_rollback(True)
    if valid_write:
        if response.status_code != w.ok:
            return f"status {response.status_code}, expected {w.ok}: {response.content[:300]!r}"
        if response["Content-Type"] != "application/json":
            return f"Content-Type {response['Content-Type']}"
        if stored is False:
            return "the text is not stored verbatim"
        if stored and not _contains(response.json(), case.value):  # type: ignore[arg-type]
            return "the text is not returned verbatim"
        return None
    if case.expect == AS_TEMPLATE and response.status_code != w.ok:
        return f"status {response.status_code}, expected the template's {w.ok}"
    failure = _problem_failure(response)
    if failure:
        return failure
    if before != after:
        return "rows were written"
    return None


@pytest.fixture
def world() -> World:
    world = build_world()
    staff = BankStaffFactory(bank=Bank.objects.get(code="LIVE"), firm=None, username="live-staff")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    world.clients["bank_staff"] = client
    return world


def test_every_write_route_has_a_template():
    templates = set(writes(dict.fromkeys(("<int:asset_id>", "<str:uscc>"), "1")))
    missing = [mr for mr in WRITE_ROUTES if mr not in templates | BODYLESS | MULTIPART]
    assert missing == [], "give these write routes a body template in WRITES (or list them in BODYLESS/MULTIPART)"
    assert not (templates | BODYLESS | MULTIPART) - set(WRITE_ROUTES), "a listed route no longer exists"


@pytest.mark.parametrize(("method", "route"), [mr for mr in WRITE_ROUTES if mr not in BODYLESS | MULTIPART])
def test_malformed_bodies_are_refused_with_problem_details_and_write_nothing(world, method, route):
    w = writes(world.params)[(method, route)]

    # the template itself behaves as declared, so each case below differs from it only by what it breaks
    template = Case("the template", _dump(w.body), AS_TEMPLATE)
    assert _run(world, method, route, w, template, 0) is None, "the template does not give its declared status"

    failures = []
    for n, case in enumerate(corpus(w), start=1):
        problem = _run(world, method, route, w, case, n)
        if problem:
            failures.append(f"{case.name}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("method", "route"), sorted(BODYLESS))
def test_routes_without_a_body_never_parse_one(world, method, route):
    # a malformed body changes nothing: the same status as with no body at all, and never a server error
    path = concrete(route, world.params)
    client = world.clients["reviewer" if "/review/" in route else ("a_admin" if "/assets/" in route else "bank_live")]
    statuses = set()
    for raw in (b"", b'{"a": ', b'{"a": "\\u0000"}', b"[" * 100_000):
        cache.clear()
        with transaction.atomic():
            response = client.generic(method, path, raw, content_type="application/json")
            transaction.set_rollback(True)
        assert response.status_code < 500, (raw[:10], response.content[:300])
        statuses.add(response.status_code)
    assert len(statuses) == 1


# --- multipart uploads ---------------------------------------------------------------------------------------


def _upload_cases(route: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, client.post keyword arguments, extra headers) for one upload route; every one must be refused."""
    kind = {"kind": "rights_certificate"} if "documents" in route else {"kind": "patent", "dry_run": "true"}

    def upload(name: str, content: bytes, content_type: str = "text/csv") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, content, content_type=content_type)

    yield "JSON instead of multipart", {"data": {"kind": "x"}, "format": "json"}, {}
    yield "text/plain body", {"data": b"hello", "content_type": "text/plain"}, {}
    yield "no file", {"data": kind, "format": "multipart"}, {}
    yield "empty file", {"data": {**kind, "file": upload("a.csv", b"")}, "format": "multipart"}, {}
    yield "file as a text field", {"data": {**kind, "file": "not a file"}, "format": "multipart"}, {}
    yield "unknown kind", {"data": {"kind": "nope", "file": upload("a.csv", b"x")}, "format": "multipart"}, {}
    yield (
        "NUL in the kind",
        {"data": {"kind": "pat\u0000ent", "file": upload("a.csv", b"x")}, "format": "multipart"},
        {},
    )
    yield (
        "multipart without a boundary",
        {"data": b"--x\r\n", "content_type": "multipart/form-data"},
        {},
    )
    yield (
        "too many fields",
        {"data": {**{f"f{i}": "1" for i in range(1500)}, **kind}, "format": "multipart"},
        {},
    )
    yield (
        "huge declared size",
        {"data": b"", "content_type": "multipart/form-data; boundary=x"},
        {"CONTENT_LENGTH": str(10 * 1024**3)},
    )
    if "documents" not in route:
        return  # an import's content is checked row by row in the background (GET the job for its errors)
    yield (
        "executable content",
        {
            "data": {**kind, "file": upload("a.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")},
            "format": "multipart",
        },
        {},
    )


@pytest.mark.parametrize("route", sorted(r for _, r in MULTIPART))
def test_malformed_uploads_are_refused_with_problem_details_and_write_nothing(world, route, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    path = concrete(route, world.params)
    client = world.clients["a_admin"]
    failures = []
    for n, (name, kwargs, headers) in enumerate(_upload_cases(route)):
        cache.clear()
        with transaction.atomic():
            before = _table_counts()
            response = client.post(path, HTTP_IDEMPOTENCY_KEY=f"upload-{n}", **kwargs, **headers)
            after = _table_counts()
            transaction.set_rollback(True)
        problem = _problem_failure(response) or ("rows were written" if before != after else None)
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, "\n".join(failures)
    assert not list(tmp_path.rglob("*.*")), "a refused upload left a file behind"


def test_sql_and_html_text_in_an_asset_title_is_data_returned_as_json(world):
    # the explicit version of the corpus's AS_TEMPLATE case: stored as sent, echoed as JSON text, never rendered
    client = world.clients["a_admin"]
    title = "<script>alert(1)</script>'; DROP TABLE registry_asset; --"
    r = client.post("/api/v1/assets/", {"kind": "patent", "title": title, "details": patent_details()}, format="json")
    assert (r.status_code, r["Content-Type"]) == (201, "application/json")
    assert r.json()["title"] == title
    assert Asset.objects.get(pk=r.json()["id"]).title == title
    assert b"<script>" in r.content  # JSON text, not escaped into HTML entities
    assert Firm.objects.count() >= 2  # and the tables named in the text are still there
