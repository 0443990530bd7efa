"""The shared page frame: sign-in, the landing redirect by role, the language switch and page security headers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.registry import BankFactory, BankStaffFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple-9"


def _signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_login_page_renders_in_chinese_by_default_and_in_english_on_request() -> None:
    zh = Client().get(reverse("portal:login"))
    assert zh.status_code == 200
    assert 'lang="zh-hans"' in zh.text
    en = Client(headers={"accept-language": "en"}).get(reverse("portal:login"))
    assert 'lang="en"' in en.text
    assert "Sign in" in en.text


def test_sign_in_with_a_password_then_land_on_the_firm_portal() -> None:
    user = UserFactory()
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    response = client.post(reverse("portal:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("portal:dashboard")).url == reverse("portal_firm:dashboard")


def test_a_wrong_password_is_refused_with_a_message() -> None:
    user = UserFactory()
    response = Client(headers={"accept-language": "en"}).post(
        reverse("portal:login"), {"username": user.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "correct username and password" in response.text


@pytest.mark.parametrize(
    ("make_user", "landing"),
    [
        (lambda: UserFactory(), "portal_firm:dashboard"),
        (lambda: BankStaffFactory(bank=BankFactory()), "portal_bank:dashboard"),
        (lambda: ReviewerFactory(), "admin:index"),
    ],
)
def test_the_landing_page_sends_each_role_to_its_own_surface(make_user, landing) -> None:  # type: ignore[no-untyped-def]
    assert _signed_in(make_user()).get(reverse("portal:dashboard")).url == reverse(landing)


def test_surfaces_refuse_the_wrong_role_and_send_strangers_to_sign_in() -> None:
    bank_staff = _signed_in(BankStaffFactory(bank=BankFactory()))
    assert bank_staff.get(reverse("portal_firm:dashboard")).status_code == 403
    assert _signed_in(UserFactory()).get(reverse("portal_bank:dashboard")).status_code == 403
    anonymous = Client().get(reverse("portal_firm:dashboard"))
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("portal:login"))


def test_switching_the_language_sticks_for_later_pages() -> None:
    client = _signed_in(UserFactory())
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("portal_firm:dashboard")})
    assert response.status_code == 302
    assert 'lang="en"' in client.get(reverse("portal_firm:dashboard")).text
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert 'lang="zh-hans"' in client.get(reverse("portal_firm:dashboard")).text


def test_pages_load_scripts_from_files_only_under_the_csp() -> None:
    response = _signed_in(UserFactory()).get(reverse("portal_firm:dashboard"))
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = response.text
    assert "<script>" not in body
    assert "htmx-2.min.js" in body


def test_the_back_office_has_the_language_menu_and_it_switches() -> None:
    client = _signed_in(ReviewerFactory())
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200
    assert 'id="admin-language-select"' in page.text
    assert 'lang="zh-hans"' in page.text
    client.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")})
    assert 'lang="en"' in client.get(reverse("admin:index")).text
