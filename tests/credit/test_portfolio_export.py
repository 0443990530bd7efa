"""GET /api/v1/credit/portfolio/export.xlsx and .csv: one row per credit line of the caller's bank, exact money."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from credit import exports
from credit.models import CreditLine
from tests.factories.registry import BankStaffFactory, FirmFactory, UserFactory
from tests.portal.bank.conftest import issue_line, make_estate

pytestmark = pytest.mark.django_db
CSV_URL = "/api/v1/credit/portfolio/export.csv"
XLSX_URL = "/api/v1/credit/portfolio/export.xlsx"
KEYS = [c.key for c in exports.COLUMNS]


@pytest.fixture
def estate(db):  # type: ignore[no-untyped-def]
    return make_estate()


@pytest.fixture
def staff_api(estate, client_for):  # type: ignore[no-untyped-def]
    return client_for(estate.staff)


def expected_rows(estate) -> dict[int, dict[str, object]]:  # type: ignore[no-untyped-def]
    rows = {}
    for line in CreditLine.objects.filter(bank=estate.bank).select_related("firm", "product"):
        collateral = sum((p.collateral_value for p in line.pledges.filter(status="active")), Decimal("0.00"))
        drawn = sum((m.amount for m in line.movements.filter(kind="draw")), Decimal("0.00"))
        rows[line.pk] = {
            "firm_name": line.firm.name,
            "firm_uscc": line.firm.uscc,
            "industry": line.firm.industry_id,
            "product": line.product.code,
            "limit": line.amount,
            "drawn": drawn,
            "outstanding": line.drawn_amount,
            "available": line.amount - line.drawn_amount,
            "collateral_value": collateral,
            "status": line.status,
            "matures_on": line.matures_on.isoformat(),
        }
    return rows


def parse_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    header = next(reader)
    return [dict(zip(KEYS, row, strict=True)) for row in reader], header  # type: ignore[return-value]


def test_csv_has_one_row_per_line_of_the_bank_with_exact_decimal_strings(estate, staff_api):
    response = staff_api.get(CSV_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="portfolio-HBTEST-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows, header = parse_csv(response.content)
    assert header[:3] == ["Credit line", "Firm", "Unified social credit code"]
    expected = expected_rows(estate)
    assert {int(r["id"]) for r in rows} == set(expected) == {line.pk for line in estate.lines}
    for row in rows:
        want = expected[int(row["id"])]
        for key in ("limit", "drawn", "outstanding", "available", "collateral_value"):
            assert row[key] == str(want[key])  # exact decimal string, two places
            assert Decimal(row[key]) == want[key]
        for key in ("firm_name", "firm_uscc", "industry", "product", "status", "matures_on"):
            assert row[key] == want[key]
    second = next(r for r in rows if int(r["id"]) == estate.lines[1].pk)
    assert (second["limit"], second["drawn"], second["outstanding"], second["available"]) == (
        "1500.50",
        "600.25",
        "600.25",
        "900.25",
    )
    assert second["collateral_value"] == "8000.00"
    assert estate.other_firm.uscc not in response.content.decode("utf-8-sig")


def test_xlsx_opens_with_numeric_money_cells_and_the_same_values(estate, staff_api):
    response = staff_api.get(XLSX_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content), read_only=False).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [str(c.header) for c in exports.COLUMNS]
    expected = expected_rows(estate)
    assert len(values) == 1 + len(expected)
    money_columns = [i for i, c in enumerate(exports.COLUMNS) if c.kind == "money"]
    for excel_row, cells in zip(sheet.iter_rows(min_row=2), values[1:], strict=True):
        row = dict(zip(KEYS, cells, strict=True))
        want = expected[row["id"]]
        for key in ("limit", "drawn", "outstanding", "available", "collateral_value"):
            assert isinstance(row[key], int | float)  # a number, not text
            assert Decimal(str(row[key])).quantize(Decimal("0.01")) == want[key]
        for i in money_columns:
            assert excel_row[i].number_format == "0.00"
        assert row["firm_uscc"] == want["firm_uscc"]
        assert row["status"] == want["status"]
        assert isinstance(row["matures_on"], datetime)
        assert row["matures_on"].date().isoformat() == want["matures_on"]


def test_header_row_follows_the_request_language(estate, staff_api):
    zh_rows, zh_header = parse_csv(staff_api.get(CSV_URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content)
    en_rows, en_header = parse_csv(staff_api.get(CSV_URL, HTTP_ACCEPT_LANGUAGE="en").content)
    assert en_header[0] == "Credit line"
    assert len(zh_header) == len(en_header) == len(exports.COLUMNS)
    assert zh_rows == [{**r, "industry_name": zh["industry_name"]} for r, zh in zip(en_rows, zh_rows, strict=True)]
    xlsx = load_workbook(io.BytesIO(staff_api.get(XLSX_URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content)).active
    assert [c.value for c in xlsx[1]] == zh_header


def test_an_api_key_gets_its_own_banks_lines_only_and_status_filters(estate, client_for):
    from tests.factories.registry import api_key_for

    other = client_for(api_key=api_key_for(estate.other_bank))
    rows, _ = parse_csv(other.get(CSV_URL).content)
    assert [int(r["id"]) for r in rows] == [estate.other_line.pk]
    CreditLine.objects.filter(pk=estate.lines[0].pk).update(status="at_risk", coverage=Decimal("0.8765"))
    mine = client_for(api_key=api_key_for(estate.bank))
    at_risk, _ = parse_csv(mine.get(CSV_URL, {"status": "at_risk"}).content)
    assert [int(r["id"]) for r in at_risk] == [estate.lines[0].pk]
    assert at_risk[0]["coverage"] == "0.8765"
    assert mine.get(CSV_URL, {"status": "nonsense"}).status_code == 400
    assert mine.get(XLSX_URL, {"status": "nonsense"}).status_code == 400


def test_only_banks_may_export(estate, client_for, api_client):
    for url in (CSV_URL, XLSX_URL):
        assert api_client.get(url).status_code == 401
        assert client_for(UserFactory()).get(url).status_code == 403
        empty_bank_staff = BankStaffFactory()  # a bank with no lines: an empty file, not an error
        response = client_for(empty_bank_staff).get(url)
        assert response.status_code == 200


def test_export_runs_a_constant_number_of_queries(estate, staff_api, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        staff_api.get(CSV_URL)
    firm = FirmFactory()
    from tests.factories.registry import ConsentFactory

    ConsentFactory(firm=firm, bank=estate.bank)
    for _ in range(5):
        issue_line(estate.bank, estate.staff, firm, low="8000.00", amount="100.00", drawn="10.00")
    with django_assert_max_num_queries(4):
        response = staff_api.get(XLSX_URL)
    assert len(list(load_workbook(io.BytesIO(response.content)).active.iter_rows())) == 1 + 8


def test_the_web_session_of_bank_staff_downloads_the_export(estate):
    from django.test import Client

    client = Client()
    client.force_login(estate.staff)
    response = client.get(CSV_URL)
    assert response.status_code == 200
    rows, _ = parse_csv(response.content)
    assert len(rows) == 3


def test_text_that_looks_like_a_formula_stays_text(estate, staff_api):
    estate.firm.name = '=HYPERLINK("http://evil.example","x")'
    estate.firm.save(update_fields=["name"])
    rows, _ = parse_csv(staff_api.get(CSV_URL).content)
    assert {r["firm_name"] for r in rows} == {"'" + estate.firm.name}
    sheet = load_workbook(io.BytesIO(staff_api.get(XLSX_URL).content)).active
    cell = sheet.cell(row=2, column=KEYS.index("firm_name") + 1)
    assert cell.data_type == "s"
    assert cell.value == "'" + estate.firm.name
