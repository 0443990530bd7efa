"""Every API error is an RFC 9457 problem details body (api.md, Conventions; style.md 3.6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common.models import AuditEvent
from registry.models import Asset, AssetVersion, BankApiKey
from tests.factories.registry import data_details, patent_details

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:problem-type:softasset:{code}"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def _bad_patent_number() -> str:
    good = patent_details()["number"]  # e.g. "202110000001.7"
    wrong_check = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong_check


# --- not found ------------------------------------------------------------------------------------


def test_unknown_api_path_is_a_json_problem_not_an_html_page(api_client, firm_user, client_for):
    # given an authenticated caller and an anonymous one
    for client in (api_client, client_for(firm_user)):
        # when they ask for a path that does not exist under /api/
        r = client.get("/api/v1/no-such-endpoint/")

        # then a 404 problem, with every RFC 9457 member and no HTML
        body = assert_problem(r, 404, "not_found")
        assert b"<html" not in r.content.lower()
        assert body["request_id"] == r["X-Request-ID"]


def test_unknown_object_is_a_404_problem(client_for, firm_user):
    r = client_for(firm_user).get("/api/v1/assets/999999/")
    assert_problem(r, 404, "not_found")


# --- authentication -------------------------------------------------------------------------------


def test_no_credentials_is_401_not_authenticated(api_client):
    # when nobody authenticates
    r = api_client.get("/api/v1/assets/")

    # then 401 (not 403) and the scheme to use is announced
    assert_problem(r, 401, "not_authenticated")
    assert r["WWW-Authenticate"] == "Token"


def test_no_credentials_on_a_write_is_401_and_writes_nothing(api_client):
    r = api_client.post("/api/v1/assets/", {"kind": "patent", "title": "x", "details": patent_details()}, format="json")
    assert_problem(r, 401, "not_authenticated")
    assert Asset.objects.count() == 0


def test_bad_token_is_401_authentication_failed(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    r = api_client.get("/api/v1/assets/")
    assert_problem(r, 401, "authentication_failed")


def test_bad_api_key_is_401_authentication_failed(api_client, bank_key):
    # given a well-formed key whose secret part is wrong, and a key with an unknown prefix
    prefix, _dot, _secret = bank_key.partition(".")
    for key in (f"{prefix}.not-the-secret", "nosuchpf.whatever"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

        r = api_client.get("/api/v1/credit/products/")

        assert_problem(r, 401, "authentication_failed")


def test_a_valid_api_key_is_accepted(client_for, bank_key):
    # the control for the refusals below: the same key, untouched, works
    r = client_for(api_key=bank_key).get("/api/v1/credit/products/")
    assert r.status_code == 200, r.content


def test_revoked_api_key_is_refused(client_for, bank_key):
    # given a key the bank revoked
    BankApiKey.objects.filter(prefix=bank_key.partition(".")[0]).update(revoked=True)

    # when the bank's system still uses it
    r = client_for(api_key=bank_key).get("/api/v1/credit/products/")

    # then it is refused as bad credentials
    assert_problem(r, 401, "authentication_failed")


def test_expired_api_key_is_refused(client_for, bank_key):
    BankApiKey.objects.filter(prefix=bank_key.partition(".")[0]).update(
        expiry_date=timezone.now() - timedelta(minutes=1)
    )
    r = client_for(api_key=bank_key).get("/api/v1/credit/products/")
    assert_problem(r, 401, "authentication_failed")


def test_api_key_of_an_inactive_bank_is_refused(client_for, bank, bank_key):
    bank.is_active = False
    bank.save(update_fields=["is_active"])
    r = client_for(api_key=bank_key).get("/api/v1/credit/products/")
    assert_problem(r, 401, "authentication_failed")


def test_authenticated_but_wrong_role_is_403(client_for, firm_user):
    # a firm user on a bank-only endpoint
    r = client_for(firm_user).get("/api/v1/credit/products/")
    assert_problem(r, 403, "permission_denied")


# --- malformed and invalid input ------------------------------------------------------------------


def test_malformed_json_is_400_malformed_request_and_writes_nothing(client_for, firm_user):
    r = client_for(firm_user).post(
        "/api/v1/assets/", data='{"kind": "patent", "title": ', content_type="application/json"
    )
    assert_problem(r, 400, "malformed_request")
    assert Asset.objects.count() == 0


def test_validation_error_on_a_nested_details_field_is_flattened(client_for, firm_user):
    # given a patent whose application number has a wrong check character
    details = patent_details(number=_bad_patent_number())

    # when the firm registers it
    r = client_for(firm_user).post(
        "/api/v1/assets/", {"kind": "patent", "title": "x", "details": details}, format="json"
    )

    # then the error is reported under the dotted path, and only there
    body = assert_problem(r, 400, "validation_failed")
    assert list(body["errors"]) == ["details.number"]
    assert len(body["errors"]["details.number"]) == 1
    assert body["detail"].startswith("details.number: ")
    assert Asset.objects.count() == 0
    assert AssetVersion.objects.count() == 0


def test_validation_errors_deeper_in_details_keep_their_whole_path(client_for, firm_user):
    # given a data asset with a negative cost component and an unknown field in its registration
    details = data_details(
        cost={"acquisition": "-1.00"},
        registration={"registry": "Hubei data exchange", "number": "HB-1", "issued_on": "2025-01-01", "colour": "x"},
    )

    r = client_for(firm_user).post("/api/v1/assets/", {"kind": "data", "title": "x", "details": details}, format="json")

    body = assert_problem(r, 400, "validation_failed")
    assert set(body["errors"]) == {"details.cost.acquisition", "details.registration.colour"}


def test_top_level_validation_errors_use_the_field_name(client_for, firm_user):
    r = client_for(firm_user).post("/api/v1/assets/", {"kind": "vehicle", "title": ""}, format="json")
    body = assert_problem(r, 400, "validation_failed")
    assert set(body["errors"]) == {"kind", "title", "details"}


def test_an_unsupported_media_type_is_a_415_problem(client_for, firm_user):
    r = client_for(firm_user).post("/api/v1/assets/", data="kind=patent", content_type="text/plain")
    assert_problem(r, 415, "unsupported_media_type")
    assert Asset.objects.count() == 0


def test_method_not_allowed_is_a_problem(client_for, firm_user):
    r = client_for(firm_user).delete("/api/v1/assets/")
    assert_problem(r, 405, "method_not_allowed")


# --- request id -----------------------------------------------------------------------------------


def test_incoming_request_id_is_echoed_and_quoted_in_the_problem(api_client):
    # given a caller that sends its own request id
    r = api_client.get("/api/v1/assets/", HTTP_X_REQUEST_ID="bank-trace-0001")

    # then the response header and the problem body carry it
    assert r["X-Request-ID"] == "bank-trace-0001"
    assert assert_problem(r, 401, "not_authenticated")["request_id"] == "bank-trace-0001"


def test_request_id_of_a_validation_problem(client_for, firm_user):
    r = client_for(firm_user).post(
        "/api/v1/assets/", {"kind": "patent", "title": "x", "details": {}}, format="json", HTTP_X_REQUEST_ID="req-42"
    )
    assert (r["X-Request-ID"], assert_problem(r, 400, "validation_failed")["request_id"]) == ("req-42", "req-42")


def test_a_malformed_request_id_is_replaced_by_a_fresh_one(api_client):
    # given a header that could inject into logs
    r = api_client.get("/api/v1/assets/", HTTP_X_REQUEST_ID="evil id\nwith newline")

    # then the service mints its own id and uses it consistently
    rid = r["X-Request-ID"]
    assert rid != "evil id\nwith newline"
    assert len(rid) == 32
    assert all(c in "0123456789abcdef" for c in rid)
    assert assert_problem(r, 401, "not_authenticated")["request_id"] == rid


def test_every_request_gets_its_own_id(api_client):
    ids = {api_client.get("/api/v1/assets/")["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_request_id_is_written_to_the_audit_row_of_the_change(client_for, firm_user):
    r = client_for(firm_user).post(
        "/api/v1/assets/",
        {"kind": "patent", "title": "x", "details": patent_details()},
        format="json",
        HTTP_X_REQUEST_ID="trace-audit-1",
    )
    assert r.status_code == 201, r.content
    assert list(AuditEvent.objects.filter(action="asset.created").values_list("request_id", flat=True)) == [
        "trace-audit-1"
    ]


def test_problem_bodies_carry_no_stack_trace(api_client):
    r = api_client.post("/api/v1/auth/token/", data="{", content_type="application/json")
    body = assert_problem(r, 400, "malformed_request")
    assert "Traceback" not in r.content.decode()
    assert set(body) <= PROBLEM_KEYS | {"errors", "request_id"}
