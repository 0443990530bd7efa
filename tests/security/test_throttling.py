"""Rate limits: per bank API key on the credit-limit query, per caller on writes and reads, per address for
anonymous callers; a 429 is problem details with Retry-After. The suite runs with unreachable rates
(config/settings/test.py); these tests set low ones and move the throttle's clock instead of waiting."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from common.api.throttling import PrincipalRateThrottle, client_ip, principal_ident
from config.settings import base
from tests.factories.registry import api_key_for
from tests.security.matrix_world import World, build_world

RATES = {"limit": "3/min", "write": "2/min", "read": "5/min"}


@pytest.fixture
def low_rates(settings):  # type: ignore[no-untyped-def]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db, low_rates) -> World:  # type: ignore[no-untyped-def]
    return build_world()


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The throttle's clock, moved by hand."""
    now = [1_000_000.0]
    monkeypatch.setattr(PrincipalRateThrottle, "timer", lambda self: now[0])
    return now


def limit_url(world: World) -> str:
    return f"/api/v1/credit/limits/{world.objects['firm_a'].uscc}/"


def assert_throttled(response: Any, *, at_most: int) -> int:
    assert response.status_code == 429, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "throttled"
    assert body["status"] == 429
    assert body["type"].endswith(":throttled")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= at_most
    assert body["retry_after"] == retry_after
    return retry_after


def test_limit_queries_are_counted_per_api_key(world, clock):
    bank_client = world.clients["bank_live"]
    for _ in range(3):
        assert bank_client.get(limit_url(world)).status_code == 200
    retry_after = assert_throttled(bank_client.get(limit_url(world)), at_most=60)

    # Another key of the same bank, and another bank, have budgets of their own.
    second_key = APIClient()
    second_key.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(world.objects['banks']['bank_live'])}")
    assert second_key.get(limit_url(world)).status_code == 200
    assert world.clients["bank_none"].get(limit_url(world)).status_code == 404  # not throttled: no consent
    # Other reads of the throttled key spend the read budget, not the limit budget.
    assert bank_client.get("/api/v1/credit/products/").status_code == 200

    clock[0] += retry_after - 1
    assert bank_client.get(limit_url(world)).status_code == 429  # not yet
    clock[0] += 1
    assert bank_client.get(limit_url(world)).status_code == 200  # the window has moved on


def test_writes_are_counted_per_user_and_reads_are_not_affected(world, clock):
    firm_a = world.clients["a_admin"]
    for n in range(2):
        assert firm_a.patch("/api/v1/firms/me/", {"name": f"新名{n}"}, format="json").status_code == 200
    assert_throttled(firm_a.patch("/api/v1/firms/me/", {"name": "再来"}, format="json"), at_most=60)
    assert_throttled(firm_a.post("/api/v1/consents/", {}, format="json"), at_most=60)  # any write, any route

    assert firm_a.get("/api/v1/firms/me/").status_code == 200  # reads have their own budget
    assert world.clients["b_admin"].patch("/api/v1/firms/me/", {"name": "乙"}, format="json").status_code == 200
    world.objects["firm_a"].refresh_from_db()
    assert world.objects["firm_a"].name == "新名1"  # the refused write changed nothing


def test_bank_writes_are_counted_per_api_key(world, clock):
    bank_client = world.clients["bank_live"]
    for n in range(2):
        body = {"url": f"https://bank.example/h/{n}", "events": ["credit_line.at_risk"]}
        assert bank_client.post("/api/v1/webhooks/", body, format="json").status_code == 201
    assert_throttled(bank_client.post("/api/v1/webhooks/", {}, format="json"), at_most=60)
    assert world.clients["bank_none"].post("/api/v1/webhooks/", {}, format="json").status_code == 400


def test_reads_have_a_budget_too(world, clock):
    reviewer = world.clients["reviewer"]
    for _ in range(5):
        assert reviewer.get("/api/v1/assets/").status_code == 200
    assert_throttled(reviewer.get("/api/v1/assets/"), at_most=60)
    assert world.clients["platform"].get("/api/v1/assets/").status_code == 200


def test_anonymous_callers_are_counted_per_address_and_forwarded_for_is_not_trusted(world, clock):
    def login(addr: str, **headers: str) -> Any:
        body = {"username": "nobody", "password": "wrong-password"}
        return APIClient().post("/api/v1/auth/token/", body, format="json", REMOTE_ADDR=addr, **headers)

    assert login("10.0.0.1").status_code == 400
    assert login("10.0.0.1").status_code == 400
    assert_throttled(login("10.0.0.1"), at_most=60)
    # A client cannot buy a new budget by inventing X-Forwarded-For while no proxy is trusted.
    assert login("10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 429
    assert login("10.0.0.2").status_code == 400


def test_behind_a_trusted_proxy_the_forwarded_address_counts(world, clock, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    def login(client_addr: str) -> Any:
        body = {"username": "nobody", "password": "wrong-password"}
        return APIClient().post(
            "/api/v1/auth/token/",
            body,
            format="json",
            REMOTE_ADDR="172.16.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"198.51.100.9, {client_addr}",  # the first hop is the client's own claim
        )

    assert [login("203.0.113.5").status_code for _ in range(3)] == [400, 400, 429]
    assert login("203.0.113.6").status_code == 400


def test_principal_ident_keys_by_api_key_user_or_address(rf):
    class Key:
        prefix = "abc123"

    class BankCaller:
        api_key = Key()
        is_authenticated = True
        pk = None

    class Person:
        is_authenticated = True
        pk = 42

    class Anonymous:
        is_authenticated = False
        pk = None

    request = rf.get("/", REMOTE_ADDR="10.1.2.3")
    for user, ident in ((BankCaller(), "key:abc123"), (Person(), "user:42"), (Anonymous(), "ip:10.1.2.3")):
        request.user = user
        assert principal_ident(request) == ident


def test_client_ip_counts_trusted_proxies_from_the_right(rf, settings):
    request = rf.get("/", REMOTE_ADDR="172.16.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5, 10.0.0.3")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "172.16.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.3"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 9  # more proxies than hops: the leftmost hop, never REMOTE_ADDR's stand-in
    assert client_ip(request) == "6.6.6.6"


def test_production_defaults():
    """The documented defaults, unless the environment says otherwise."""
    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["common.api.throttling.PrincipalRateThrottle"]
    for scope, variable, default in (
        ("limit", "THROTTLE_RATE_LIMIT", "120/min"),
        ("write", "THROTTLE_RATE_WRITE", "60/min"),
        ("read", "THROTTLE_RATE_READ", "1200/min"),
    ):
        expected = base.env(variable, default=default) or None
        assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope] == expected
    assert base.CACHES["default"]["BACKEND"].endswith("RedisCache" if base.REDIS_URL else "LocMemCache")
