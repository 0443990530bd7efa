"""The OpenAPI document declares the refusals every operation can give (common/api/schema.py), and page_size is
read strictly (common/api/pagination.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(openapi: dict):  # type: ignore[no-untyped-def]
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_error_response_is_declared_as_problem_details(openapi):
    errors = 0
    for method, path, operation in _operations(openapi):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                errors += 1
                assert list(response["content"]) == [PROBLEM], (method, path, status)
                assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert errors > 200


def test_the_refusals_common_to_all_views_are_declared_everywhere(openapi):
    for method, path, operation in _operations(openapi):
        declared = set(operation["responses"])
        where = {p["in"] for p in operation.get("parameters", [])}
        label = f"{method} {path}"
        if path != "/api/v1/auth/token/":  # the login reads no credentials
            assert {"401", "403"} <= declared, label
        assert "429" in declared, label  # every view is throttled
        if "{" in path:
            assert "404" in declared, label
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= declared, label
        if "query" in where:
            assert "400" in declared, label


def test_optional_filters_may_be_sent_blank_but_page_size_may_not(openapi):
    parameters = {p["name"]: p for p in openapi["paths"]["/api/v1/valuations/"]["get"]["parameters"]}
    assert parameters["status"]["allowEmptyValue"] is True
    assert "allowEmptyValue" not in parameters["page_size"]
    assert parameters["page_size"]["schema"]["minimum"] == 1


@pytest.mark.parametrize("value", ["true", "0", "-1", "1.5", ""])
def test_a_page_size_that_is_not_a_whole_number_from_one_is_a_400(client_for, firm_user, value):
    response = client_for(firm_user).get("/api/v1/assets/", {"page_size": value}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == {"page_size": ["page_size must be a whole number from 1."]}
    in_chinese = client_for(firm_user).get("/api/v1/assets/", {"page_size": value})  # the default language
    assert in_chinese.json()["errors"] == {"page_size": ["page_size 必须是不小于 1 的整数。"]}


@pytest.mark.parametrize("value", ["1", "200", "5000"])
def test_a_whole_page_size_is_taken_even_above_the_maximum(client_for, firm_user, value):
    from tests.factories.registry import AssetFactory

    AssetFactory.create_batch(2, firm=firm_user.firm)
    response = client_for(firm_user).get("/api/v1/assets/", {"page_size": value})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == min(int(value), 2)
    assert (body["next"] is not None) == (value == "1")
