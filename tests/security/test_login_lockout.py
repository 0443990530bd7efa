"""Login attempts are limited (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from one
address, that pair is refused, right password or not, until the cool-off has passed or an operator resets it."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories.registry import UserFactory

PASSWORD = "pw-for-tests-1"  # UserFactory's
TOKEN_URL = "/api/v1/auth/token/"


def login(username: str, password: str, addr: str = "10.9.8.7") -> Any:
    body = {"username": username, "password": password}
    return APIClient().post(TOKEN_URL, body, format="json", REMOTE_ADDR=addr)


def fail(username: str, times: int, addr: str = "10.9.8.7") -> list[int]:
    return [login(username, "wrong-password", addr).status_code for _ in range(times)]


@pytest.fixture
def alice(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="bob")


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesBackend"


def test_five_wrong_passwords_lock_the_username_from_that_address(alice, bob):
    assert fail("alice", 5) == [400, 400, 400, 400, 429]

    refused = login("alice", PASSWORD)
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("application/problem+json")
    body = refused.json()
    assert body["code"] == "login_locked_out"
    assert "token" not in body
    assert 15 * 60 - 5 <= int(refused["Retry-After"]) <= 15 * 60
    assert body["retry_after"] == int(refused["Retry-After"])

    assert login("bob", PASSWORD).status_code == 200  # another user from the same address
    assert login("alice", PASSWORD, addr="10.9.8.8").status_code == 200  # the same user from elsewhere


def test_the_lock_ends_after_the_cool_off(alice):
    fail("alice", 5)
    assert login("alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert login("alice", PASSWORD).status_code == 200


def test_axes_reset_unlocks(alice):
    fail("alice", 5)
    assert login("alice", PASSWORD).status_code == 429
    call_command("axes_reset_username", "alice", stdout=io.StringIO())
    assert login("alice", PASSWORD).status_code == 200


def test_a_successful_login_forgets_earlier_failures(alice):
    assert fail("alice", 4) == [400] * 4
    assert login("alice", PASSWORD).status_code == 200
    assert fail("alice", 4) == [400] * 4  # counting starts again: not locked at the 5th failure overall
    assert login("alice", PASSWORD).status_code == 200


def test_unknown_usernames_are_locked_the_same_way(db):
    """No difference between an existing and a made-up username (no account enumeration by lockout)."""
    assert fail("ghost", 5) == [400, 400, 400, 400, 429]


def test_the_admin_login_is_locked_too(db, client):
    UserFactory(username="staffer", firm=None, role="reviewer", is_staff=True)
    url = "/admin/login/?next=/admin/"
    codes = [
        client.post(url, {"username": "staffer", "password": "wrong"}, REMOTE_ADDR="10.0.0.9").status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 200, 429]  # 200: the form again, with an error
    locked = client.post(url, {"username": "staffer", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 429
    assert "too many login attempts" in locked.content.decode().lower()
    assert "_auth_user_id" not in client.session

    call_command("axes_reset", stdout=io.StringIO())
    ok = client.post(url, {"username": "staffer", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert ok.status_code == 302
    assert "_auth_user_id" in client.session
