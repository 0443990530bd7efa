"""Expired, lapsed or invalidated rights are accepted but marked (pure rules and through the API)."""

from datetime import date

import pytest

from registry.details import asset_marks
from tests.factories.registry import data_details, patent_details

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("kind", "details", "marks"),
    [
        ("patent", {"legal_status": "valid", "patent_type": "invention", "filing_date": "2021-03-15"}, []),
        ("patent", {"legal_status": "lapsed", "patent_type": "invention", "filing_date": "2021-03-15"}, ["lapsed"]),
        (
            "patent",
            {"legal_status": "invalidated", "patent_type": "design", "filing_date": "2020-01-01"},
            ["invalidated"],
        ),
        ("patent", {"legal_status": "pending", "patent_type": "invention", "filing_date": "2025-01-01"}, ["pending"]),
        # utility model filed 2016-12-01: 10-year term ends exactly today
        (
            "patent",
            {"legal_status": "valid", "patent_type": "utility_model", "filing_date": "2016-12-01"},
            ["term_ended"],
        ),
        ("patent", {"legal_status": "valid", "patent_type": "utility_model", "filing_date": "2016-12-02"}, []),
        (
            "patent",
            {"legal_status": "expired", "patent_type": "utility_model", "filing_date": "2010-01-01"},
            ["expired"],
        ),
        ("trademark", {"valid_until": "2026-11-30"}, ["expired"]),
        ("trademark", {"valid_until": "2026-12-01"}, []),
        ("software", {"completed_on": "1970-01-01"}, []),
        (
            "data",
            {"registration": {"valid_until": "2026-01-01"}, "contains_personal_info": True},
            ["registration_expired", "personal_info"],
        ),
        ("data", {}, []),
    ],
)
def test_asset_marks(kind, details, marks):
    assert asset_marks(kind=kind, details=details, today=TODAY) == marks


@pytest.mark.django_db
def test_a_lapsed_patent_is_accepted_and_marked(client_for, firm_user):
    r = client_for(firm_user).post(
        "/api/v1/assets/",
        {"kind": "patent", "title": "old", "details": patent_details(legal_status="lapsed")},
        format="json",
    )
    assert (r.status_code, r.json()["marks"]) == (201, ["lapsed"])


@pytest.mark.django_db
def test_an_expired_data_registration_is_marked_in_lists(client_for, firm_user):
    details = data_details(
        registration={"registry": "HB", "number": "R-1", "issued_on": "2020-01-01", "valid_until": "2021-01-01"}
    )
    client = client_for(firm_user)
    assert (
        client.post("/api/v1/assets/", {"kind": "data", "title": "d", "details": details}, format="json").status_code
        == 201
    )
    [asset] = client.get("/api/v1/assets/").json()["results"]
    assert asset["marks"] == ["registration_expired"]
