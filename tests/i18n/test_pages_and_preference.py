"""Pages come in Chinese by default and in English on request; a signed-in person's choice is saved on their account
and comes back at their next sign-in, on any device."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from common.exceptions import ValidationFailed
from registry.models import User
from registry.services import user_language_set
from tests.factories.registry import ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # UserFactory's


def test_the_language_field_defaults_to_the_site_language() -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert UserFactory().language == "zh-hans"
    assert [code for code, _name in User._meta.get_field("language").choices] == ["zh-hans", "en"]


@pytest.mark.parametrize(
    ("headers", "lang", "texts"),
    [
        ({}, "zh-hans", ["湖北软资产登记与信贷转化平台", "API 文档（Swagger UI）"]),
        ({"accept-language": "en"}, "en", ["Hubei soft-asset registry and credit conversion", "API documentation"]),
    ],
)
def test_the_home_page_in_both_languages(headers, lang, texts) -> None:  # type: ignore[no-untyped-def]
    response = Client(headers=headers).get(reverse("home"))
    assert response.status_code == 200
    assert f'lang="{lang}"' in response.text
    for text in texts:
        assert text in response.text


@pytest.mark.parametrize(
    ("headers", "texts", "absent"),
    [
        ({}, ["登录", "湖北软资产登记平台", "切换"], "Sign out"),
        ({"accept-language": "en"}, ["Sign in", "Hubei soft-asset registry", "Switch"], "登录"),
    ],
)
def test_the_sign_in_page_in_both_languages(headers, texts, absent) -> None:  # type: ignore[no-untyped-def]
    body = Client(headers=headers).get(reverse("portal:login")).text
    for text in texts:
        assert text in body
    assert absent not in body


def test_the_back_office_labels_are_translated() -> None:
    client = Client()
    client.force_login(ReviewerFactory(is_superuser=True))
    zh = client.get(reverse("admin:index"))
    assert zh.status_code == 200
    assert "资产登记" in zh.text  # the registry app's verbose name
    en = client.get(reverse("admin:index"), headers={"accept-language": "en"})
    assert "Registry" in en.text


def test_switching_language_while_signed_in_saves_it_on_the_account() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert user.language == "en"
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_an_unknown_language_or_an_anonymous_switch_saves_nothing() -> None:
    user = UserFactory(language="en")
    client = Client()
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    anonymous = Client().post(reverse("set_language"), {"language": "en", "next": "/"})
    assert anonymous.status_code == 302
    assert anonymous.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_the_saved_language_comes_back_at_sign_in_on_another_device() -> None:
    user = UserFactory(language="en")
    device = Client(headers={"accept-language": "zh-CN,zh;q=0.9"})  # a browser that asks for Chinese
    response = device.post(reverse("portal:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert 'lang="en"' in device.get(reverse("portal_firm:dashboard")).text


def test_the_language_service_refuses_an_unknown_language() -> None:
    user = UserFactory()
    with pytest.raises(ValidationFailed):
        user_language_set(user=user, language="xx")
    assert user_language_set(user=user, language="en").language == "en"
    assert User.objects.get(pk=user.pk).language == "en"
