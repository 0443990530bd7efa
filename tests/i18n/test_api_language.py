"""API errors come in the request's language (Accept-Language; Chinese by default); the machine-readable code never
changes. Holds for token and API-key authentication alike (no session is involved)."""

from __future__ import annotations

import pytest

from tests.factories.registry import UserFactory, patent_details

pytestmark = pytest.mark.django_db


def _get(client, url: str, language: str | None):  # type: ignore[no-untyped-def]
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return client.get(url, **headers)


@pytest.mark.parametrize(
    ("language", "title", "detail"),
    [
        (None, "未找到", "未找到该资产。"),
        ("zh-hans", "未找到", "未找到该资产。"),
        ("zh-CN,zh;q=0.9", "未找到", "未找到该资产。"),
        ("en", "Not found", "Asset not found."),
        ("en-US,en;q=0.9", "Not found", "Asset not found."),
    ],
)
def test_a_domain_error_is_in_the_request_language_with_the_same_code(client_for, language, title, detail) -> None:  # type: ignore[no-untyped-def]
    response = _get(client_for(UserFactory()), "/api/v1/assets/987654/", language)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body["title"], body["detail"]) == ("not_found", title, detail)
    assert body["type"] == "urn:problem-type:softasset:not_found"


@pytest.mark.parametrize(
    ("language", "detail"),
    [("zh-hans", "身份认证信息未提供。"), ("en", "Authentication credentials were not provided.")],
)
def test_drf_own_messages_follow_the_request_language(api_client, language, detail) -> None:  # type: ignore[no-untyped-def]
    body = _get(api_client, "/api/v1/assets/", language).json()
    assert body["code"] == "not_authenticated"
    assert body["detail"] == detail
    assert body["title"] == {"zh-hans": "需要身份认证", "en": "Authentication required"}[language]


@pytest.mark.parametrize(
    ("language", "message", "title"),
    [("zh-hans", "该字段是必填项。", "输入无效"), ("en", "This field is required.", "Invalid input")],
)
def test_validation_errors_translate_messages_but_not_field_names(client_for, language, message, title) -> None:  # type: ignore[no-untyped-def]
    response = client_for(UserFactory()).post("/api/v1/assets/", {}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert body["title"] == title
    assert "kind" in body["errors"]  # field paths are never translated
    assert message in body["errors"]["kind"]


@pytest.mark.parametrize(
    ("language", "detail"),
    [("zh-hans", "API 密钥无效或已被吊销。"), ("en", "The API key is not valid or has been revoked.")],
)
def test_a_bad_api_key_is_refused_in_the_request_language(client_for, language, detail) -> None:  # type: ignore[no-untyped-def]
    response = _get(client_for(api_key="nope.not-a-real-key"), "/api/v1/consenting-firms/", language)
    assert response.status_code in (401, 403)
    body = response.json()
    assert body["code"] == "authentication_failed"
    assert body["detail"] == detail


@pytest.mark.parametrize(
    ("language", "detail"),
    [("zh-hans", "没有使用该代码的企业向贵行授权。"), ("en", "No firm with this code has given your bank consent.")],
)
def test_a_bank_system_with_a_valid_api_key_gets_its_language_without_a_session(  # type: ignore[no-untyped-def]
    client_for, bank_key, language, detail
) -> None:
    response = _get(client_for(api_key=bank_key), "/api/v1/credit/limits/91420100MA4K1A2B3Q/?product=NOPE", language)
    assert response.status_code == 404
    assert "sessionid" not in response.cookies
    assert response["Content-Language"] == language
    assert (response.json()["code"], response.json()["detail"]) == ("not_found", detail)


def test_an_unknown_endpoint_is_a_problem_in_the_request_language(client) -> None:  # type: ignore[no-untyped-def]
    zh = client.get("/api/v1/no-such-thing/")
    en = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.json()["code"] == en.json()["code"] == "not_found"
    assert (zh.json()["detail"], en.json()["detail"]) == ("不存在该接口。", "No such endpoint.")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-hans", "校验码应为 {expected}，而不是 {given}。"),
        ("en", "The check character should be {expected}, not {given}."),
    ],
)
def test_identifier_refusals_from_the_pure_checks_are_translated(client_for, language, message) -> None:  # type: ignore[no-untyped-def]
    details = patent_details()
    digits, check = details["number"].split(".")
    wrong = "0" if check != "0" else "1"
    details["number"] = f"{digits}.{wrong}"
    response = client_for(UserFactory()).post(
        "/api/v1/assets/",
        {"kind": "patent", "title": "Lens", "details": details},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["details.number"] == [message.format(expected=check, given=wrong)]
