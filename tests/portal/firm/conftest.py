"""Fixtures of the firm portal tests: signed-in clients of a firm's administrator and member, media in tmp."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from registry.models import User
from tests.factories.registry import FirmFactory, UserFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def signed_in() -> Callable[..., Client]:
    def make(user, *, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
        client = Client(headers={"accept-language": language})
        client.force_login(user)
        return client

    return make


@pytest.fixture
def firm(db):  # type: ignore[no-untyped-def]
    return FirmFactory()


@pytest.fixture
def admin(firm):  # type: ignore[no-untyped-def]
    return UserFactory(firm=firm, role=User.Role.FIRM_ADMIN)


@pytest.fixture
def member(firm):  # type: ignore[no-untyped-def]
    return UserFactory(firm=firm, role=User.Role.FIRM_MEMBER)


@pytest.fixture
def admin_client(admin, signed_in) -> Client:  # type: ignore[no-untyped-def]
    return signed_in(admin)
