"""The page frame in a real browser: sign-in in Chinese by default, a refused password, the language menu, and
each role landing on its own surface (firm portal, bank dashboard, back office)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import PASSWORD, sign_in, switch_language
from tests.factories.registry import BankFactory, BankStaffFactory, ReviewerFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_sign_in_page_is_chinese_by_default_refuses_a_wrong_password_then_lands_on_the_firm_portal(page, shots) -> None:
    user = UserFactory(username="e2e-firm", password=PASSWORD)

    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language-select")).to_have_value("zh-hans")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(CJK)  # translated, not the English source
    shots(page, "login-zh")

    sign_in(page, user.username, "not-the-password")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("alert")).to_be_visible()
    shots(page, "login-refused-zh")

    sign_in(page, user.username)
    expect(page).to_have_url(re.compile(r"/firm/$"))
    expect(page.get_by_role("heading", level=1).first).to_contain_text(user.firm.name)
    shots(page, "firm-landing-zh")


def test_the_language_menu_switches_to_english_and_the_choice_follows_the_person(new_page, shots) -> None:
    user = UserFactory(username="e2e-lang", password=PASSWORD)

    page = new_page("first-device")
    page.goto("/login/")
    switch_language(page, "en")  # before signing in: this browser only
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.locator("#language-select")).to_have_value("en")
    shots(page, "login-en")

    sign_in(page, user.username)  # the language saved on the account (Chinese by default) wins at sign-in
    expect(page).to_have_url(re.compile(r"/firm/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    switch_language(page, "en")  # signed in: saved on the account
    expect(page).to_have_url(re.compile(r"/firm/$"))  # the menu brings you back to the same page
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shots(page, "firm-landing-en")
    user.refresh_from_db()
    assert user.language == "en"

    other = new_page("second-device")  # another browser, asking for Chinese: the person's choice still wins
    sign_in(other, user.username)
    expect(other.locator("html")).to_have_attribute("lang", "en")
    expect(other.get_by_role("button", name="Sign out")).to_be_visible()

    switch_language(page, "zh-hans")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shots(page, "firm-landing-zh")
    assert new_page.page_errors == []


def test_a_reviewer_lands_in_the_back_office_and_bank_staff_on_the_bank_dashboard(new_page, shots) -> None:
    reviewer = ReviewerFactory(username="e2e-reviewer", password=PASSWORD)
    staff = BankStaffFactory(username="e2e-bank", password=PASSWORD, bank=BankFactory(code="E2EBANK"))

    back_office = new_page("reviewer", locale="en-US")
    sign_in(back_office, reviewer.username)
    expect(back_office).to_have_url(re.compile(r"/admin/$"))
    expect(back_office.locator("#site-name, #header")).not_to_have_count(0)
    shots(back_office, "admin-index")

    # The admin's own sign-in page works too (a reviewer's bookmark).
    admin_login = new_page("admin-login", locale="en-US")
    admin_login.goto("/admin/login/?next=/admin/")
    admin_login.locator("#id_username").fill(reviewer.username)
    admin_login.locator("#id_password").fill(PASSWORD)
    with admin_login.expect_navigation():
        admin_login.locator("input[type=submit], button[type=submit]").last.click()
    expect(admin_login).to_have_url(re.compile(r"/admin/$"))

    bank = new_page("bank")
    sign_in(bank, staff.username)
    expect(bank).to_have_url(re.compile(r"/bank/$"))
    shots(bank, "bank-landing-zh")

    # A firm page is refused to bank staff (403), and nobody signed in is sent to sign in.
    response = bank.goto("/firm/")
    assert response is not None
    assert response.status == 403
    stranger = new_page("stranger")
    stranger.goto("/firm/")
    expect(stranger).to_have_url(re.compile(r"/login/\?next=/firm/$"))
