"""The issue's path in a real browser. The firm and the bank work in English (chosen with the language menu, each
after a first page in Chinese, the default); the reviewer keeps the back office in Chinese.

1. a firm's finance officer signs in, registers a patent with a wrong check character and sees the error under
   the number, fixes it, saves and submits the patent for review;
2. the officer uploads an import file and watches its job page (htmx polling) until the job has finished;
3. a reviewer opens the patent in the back office and approves it;
4. set-up, as no page of this issue starts a valuation: the valuation job runs through the service (in-process);
   the reviewer approves the valuation on its back-office page;
5. the firm sees the valuation on the asset page, downloads its PDF report (read back with pypdf) and gives the
   bank consent on its consent page;
6. the bank's credit officer finds the firm and reads the limit of the product.

Every page visited is saved as build/e2e/test_firm_registers_.../NN-name.png.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation
from playwright.sync_api import expect
from pypdf import PdfReader

from common.audit import system_actor
from registry.identifiers import patent_check_char
from registry.imports import services as import_services
from registry.models import Asset, AssetReview, ImportJob, User
from registry.services import asset_create, asset_submit, user_create, user_language_set
from tests.e2e.helpers import PASSWORD, sign_in, switch_language
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, FirmFactory, UserFactory, next_patent_number, patent_details
from valuation.models import Valuation
from valuation.services import valuation_job_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PRODUCT = "IP_PLEDGE"
TITLE = "Silicon photonics modulator package"
PLEDGE_RATE = Decimal("0.25")


def _amount(text: str) -> Decimal:
    """The amount shown on a page ("¥ 1,234,567.80", "1,234,567.80 元") as a Decimal."""
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?", text)
    assert match, f"no amount in {text!r}"
    return Decimal(match.group().replace(",", ""))


def _import_csv(path: Path) -> Path:
    """Two patents as a finance officer fills the template: one good, one whose grant precedes its filing."""
    header = ["title", "number", "patent_type", "filing_date", "legal_status", "grant_date", "claims"]
    rows = [
        ["Laser welding head", next_patent_number("1"), "invention", "2021-03-15", "valid", "2022-09-20", "8"],
        ["Granted before filing", next_patent_number("1"), "invention", "2022-05-01", "valid", "2021-01-01", ""],
    ]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_firm_registers_a_patent_imports_a_file_reviewer_approves_bank_sees_the_limit(
    new_page, shots, artifacts, monkeypatch
) -> None:
    firm_user = UserFactory(username="e2e-officer", password=PASSWORD)
    firm = firm_user.firm
    system = system_actor("e2e-setup")  # the operator's commands create reviewers and bank staff
    reviewer = user_create(username="e2e-reviewer", password=PASSWORD, role=User.Role.REVIEWER, actor=system)
    bank = BankFactory(code="E2E_BANK", name="Hubei e2e bank")
    user_create(username="e2e-banker", password=PASSWORD, role=User.Role.BANK_STAFF, bank=bank, actor=system)
    CreditProductFactory(
        bank=bank, code=PRODUCT, name="IP pledge loan", pledge_rates={"patent": str(PLEDGE_RATE)}, max_amount="5E7"
    )

    # 1. The firm signs in (Chinese by default), switches to English and registers a patent.
    officer = new_page("firm")
    sign_in(officer, firm_user.username)
    expect(officer.get_by_test_id("firm-dashboard")).to_be_visible()
    shots(officer, "firm-dashboard-zh")
    switch_language(officer, "en")
    expect(officer.get_by_test_id("firm-dashboard")).to_be_visible()

    good_number = next_patent_number("1")
    digits, check = good_number.split(".")
    wrong = "0" if check != "0" else "1"
    officer.goto("/firm/assets/new/patent/")
    officer.get_by_label("Title").fill(TITLE)
    officer.locator("#id_number").fill(f"{digits}.{wrong}")
    officer.locator("#id_patent_type").select_option("invention")
    officer.locator("#id_filing_date").fill("2021-03-15")
    officer.locator("#id_legal_status").select_option("valid")
    officer.locator("#id_grant_date").fill("2022-09-20")
    officer.locator("#id_claims").fill("12")
    # Revenue under the four-eyes threshold (5 m CNY): one reviewer decides.
    officer.locator("#id_revenue_history").fill("2024:2500000.00;2025:3000000.00")
    shots(officer, "register-patent-form")
    officer.get_by_test_id("save-asset").click()

    # The API's own message, under the number field; what was typed is kept; nothing is saved.
    message = f"The check character should be {patent_check_char(digits)}, not {wrong}."
    expect(officer.locator(".field", has=officer.locator("#id_number")).locator(".error")).to_have_text(message)
    expect(officer.locator("#id_title")).to_have_value(TITLE)
    assert not Asset.objects.filter(firm=firm).exists()
    shots(officer, "register-patent-bad-number")

    officer.locator("#id_number").fill(good_number)
    officer.get_by_test_id("save-asset").click()
    expect(officer).to_have_url(re.compile(r"/firm/assets/\d+/$"))
    asset = Asset.objects.get(firm=firm)
    assert (asset.kind, asset.status, asset.details["number"]) == ("patent", "draft", good_number)
    expect(officer.get_by_test_id("asset-title")).to_contain_text(TITLE)
    shots(officer, "patent-saved")

    officer.get_by_test_id("submit-asset").click()
    expect(officer.get_by_test_id("asset-status")).to_have_text("submitted")
    asset.refresh_from_db()
    assert (asset.status, asset.required_approvals) == ("submitted", 1)
    shots(officer, "patent-submitted")

    # 2. The firm uploads an import file and watches the job page until the job has finished. The job is held
    # back at first (as when no worker has taken it yet), so the page polls; then it runs as a worker would run
    # it and the page shows the end by itself, without a reload.
    held: list[int] = []
    monkeypatch.setattr(import_services, "import_job_enqueue", lambda *, job_id: held.append(job_id))
    officer.goto("/firm/imports/new/")
    officer.locator("#id_kind").select_option("patent")
    officer.locator("#id_file").set_input_files(str(_import_csv(artifacts / "patents.csv")))
    shots(officer, "import-upload")
    officer.get_by_test_id("upload-import").click()
    expect(officer).to_have_url(re.compile(r"/firm/imports/\d+/$"))
    progress = officer.get_by_test_id("import-progress")
    expect(progress).to_be_visible()
    expect(officer.get_by_test_id("import-status")).to_have_attribute("class", re.compile(r"\bqueued\b"))
    expect(officer.get_by_test_id("import-finished")).to_have_count(0)
    expect(officer.locator("#import-progress")).to_have_attribute("hx-trigger", "every 1s")
    shots(officer, "import-queued")

    job = ImportJob.objects.get(firm=firm)
    assert held == [job.pk]
    officer.evaluate("window.e2eSamePage = true")  # gone if the page were reloaded
    import_services.import_job_run(job_id=job.pk)  # what the worker does with the queued job

    finished = officer.get_by_test_id("import-finished")
    expect(finished).to_have_attribute("data-status", "succeeded")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(officer.locator("#import-progress")).not_to_have_attribute("hx-trigger", re.compile("."))  # polling ends
    assert officer.evaluate("window.e2eSamePage") is True
    job.refresh_from_db()
    assert (job.status, job.total, job.created_count, job.failed_count) == ("succeeded", 2, 1, 1)
    with translation.override("en"):
        expect(finished).to_contain_text(job.get_status_display())
    # Row errors are stored by the job in the service's language (registry/imports/services.py), not the reader's.
    with translation.override(settings.LANGUAGE_CODE):
        grant_message = translation.gettext("The grant date cannot be before the filing date.")
    expect(officer.get_by_test_id("import-errors").locator("tbody tr")).to_have_text(
        [re.compile(rf"^\s*3\s*grant_date\s*{re.escape(grant_message)}\s*$")]
    )
    shots(officer, "import-finished")
    monkeypatch.undo()

    # 3. A reviewer approves the patent in the back office (in Chinese, the language saved on the account).
    back_office = new_page("reviewer")
    sign_in(back_office, reviewer.username)  # the back office has no language menu: the reviewer's is Chinese
    back_office.goto(f"/admin/registry/asset/{asset.pk}/change/")
    shots(back_office, "review-asset")
    back_office.get_by_test_id("approve-asset").click()
    expect(back_office.locator("ul.messagelist li.success")).to_be_visible()
    shots(back_office, "review-asset-approved")
    asset.refresh_from_db()
    assert asset.status == "approved"

    # 4. Set-up: no page of this issue starts a valuation, so the firm's request goes through the service (the
    # job runs in-process); the reviewer approves the valuation on its back-office page.
    valuation_job_create(assets=[asset], user=firm_user, actor=firm_user.as_actor)
    valuation = Valuation.objects.get(asset=asset)
    back_office.goto(f"/admin/valuation/valuation/{valuation.pk}/change/")
    back_office.get_by_test_id("approve-valuation").click()
    expect(back_office.locator("ul.messagelist li.success")).to_be_visible()
    shots(back_office, "review-valuation-approved")
    valuation.refresh_from_db()
    assert valuation.status == "approved"

    # 5. The firm reads the valuation on the asset page, downloads its PDF report and consents to the bank.
    officer.goto(f"/firm/assets/{asset.pk}/")
    expect(officer.get_by_test_id("valuation")).to_be_visible()
    shots(officer, "asset-valued")
    _check_report(officer, asset_title=TITLE, valuation=valuation, folder=artifacts)

    officer.goto("/firm/consents/")
    officer.locator("#id_bank").select_option(bank.code)
    officer.locator("#id_expires_on").fill((timezone.localdate() + timedelta(days=90)).isoformat())
    officer.get_by_test_id("grant-consent").click()
    expect(officer.get_by_test_id("consent-table")).to_contain_text(bank.name)
    shots(officer, "consent-given")
    officer.goto("/firm/")
    expect(officer.get_by_test_id("assets-total")).to_have_text("2")  # the registered patent and the imported one
    expect(officer.get_by_test_id("consents-active")).to_have_text("1")
    assert _amount(officer.get_by_test_id("approved-value").inner_text()) == valuation.value
    shots(officer, "firm-dashboard-en")

    # 6. The bank's credit officer finds the firm and reads the explained limit of the product.
    banker = new_page("bank")
    sign_in(banker, "e2e-banker")
    expect(banker.get_by_test_id("bank-portfolio")).to_be_visible()
    shots(banker, "bank-portfolio-zh")
    switch_language(banker, "en")
    banker.goto("/bank/firms/")
    stranger = FirmFactory(name="武汉未授权科技有限公司")  # never consented: the bank cannot find it
    banker.locator("#id_q").fill(stranger.uscc)
    banker.get_by_test_id("firm-search").click()
    expect(banker.get_by_test_id("no-firms")).to_be_visible()
    banker.locator("#id_q").fill(firm.uscc)
    banker.get_by_test_id("firm-search").click()
    expect(banker.get_by_test_id(f"firm-row-{firm.uscc}")).to_be_visible()
    expect(banker.get_by_test_id("firm-results").locator("tbody tr")).to_have_count(1)
    shots(banker, "bank-firm-search")
    banker.get_by_role("link", name=firm.name).click()
    limit = banker.get_by_test_id(f"limit-{PRODUCT}")
    expect(limit).to_be_visible()
    expected = (valuation.low * PLEDGE_RATE).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    assert expected > 0
    assert _amount(limit.inner_text()) == expected
    shots(banker, "bank-firm-limit")

    assert new_page.page_errors == []  # no script error or CSP violation on any page


def _check_report(page, *, asset_title: str, valuation: Valuation, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Download the valuation report from the asset page and read its text back."""
    with page.expect_download() as download_info:
        page.get_by_test_id("valuation-report").click()
    path = folder / "valuation-report.pdf"
    download_info.value.save_as(path)
    text = "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)
    flat = text.replace(",", "")
    assert asset_title in text
    for amount in (valuation.low, valuation.value, valuation.high):
        assert str(amount) in flat, f"{amount} not in the report"


def test_an_asset_above_the_threshold_needs_two_different_reviewers_in_the_back_office(new_page, shots) -> None:
    firm_user = UserFactory(username="e2e-firm-4eyes", password=PASSWORD)
    system = system_actor("e2e-setup")
    reviewers = []
    for username in ("e2e-reviewer-a", "e2e-reviewer-b"):
        person = user_create(username=username, password=PASSWORD, role=User.Role.REVIEWER, actor=system)
        reviewers.append(user_language_set(user=person, language="en"))  # their saved choice: English
    # Yearly revenue of 10 m CNY, above the 5 m four-eyes threshold.
    asset = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="Wafer-level optical coupler",
        details=patent_details(),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    asset = asset_submit(asset=asset, actor=firm_user.as_actor, user=firm_user)
    assert asset.required_approvals == 2

    first = new_page("reviewer-a")
    sign_in(first, reviewers[0].username)
    first.goto(f"/admin/registry/asset/{asset.pk}/change/")
    first.get_by_test_id("approve-asset").click()
    expect(first.locator("ul.messagelist li.success")).to_contain_text("approval recorded (1 of 2)")
    asset.refresh_from_db()
    assert asset.status == "submitted"
    shots(first, "first-approval")

    # The same reviewer cannot give the second approval: the service refuses and nothing changes.
    first.goto(f"/admin/registry/asset/{asset.pk}/change/")
    first.get_by_test_id("approve-asset").click()
    expect(first.locator("ul.messagelist li.error")).to_contain_text("a different reviewer must add theirs")
    shots(first, "same-reviewer-refused")
    assert AssetReview.objects.filter(asset=asset).count() == 1

    second = new_page("reviewer-b")
    sign_in(second, reviewers[1].username)
    second.goto(f"/admin/registry/asset/{asset.pk}/change/")
    second.get_by_test_id("approve-asset").click()
    expect(second.locator("ul.messagelist li.success")).to_be_visible()
    shots(second, "second-approval")
    asset.refresh_from_db()
    assert (asset.status, asset.approved_version) == ("approved", 1)
    assert new_page.page_errors == []
