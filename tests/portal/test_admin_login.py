"""The back office's sign-in (/admin/login/) applies the language saved on the account, as /login/ does."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.factories.registry import ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # UserFactory's
URL = "/admin/login/"


def _device() -> Client:
    return Client(headers={"accept-language": "zh-CN,zh;q=0.9"})  # a browser that asks for Chinese


def test_the_saved_language_comes_back_at_the_back_office_sign_in() -> None:
    reviewer = ReviewerFactory(language="en")
    device = _device()
    response = device.post(f"{URL}?next=/admin/", {"username": reviewer.username, "password": PASSWORD})
    assert (response.status_code, response.url) == (302, "/admin/")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert 'lang="en"' in device.get("/admin/").text


@pytest.mark.parametrize(
    ("make_user", "password"),
    [(lambda: ReviewerFactory(language="en"), "wrong"), (lambda: UserFactory(language="en"), PASSWORD)],
    ids=["wrong-password", "not-staff"],
)
def test_a_refused_back_office_sign_in_sets_no_language(make_user, password) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    response = _device().post(URL, {"username": user.username, "password": password})
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.text
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_back_office_sign_in_page_is_still_the_admins() -> None:
    page = _device().get(URL)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/login.html"
    assert "no-cache" in page["Cache-Control"]
