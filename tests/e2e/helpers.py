"""What a person does on every page: sign in, switch the language. Shared by the browser tests."""

from __future__ import annotations

from typing import Any

PASSWORD = "e2e-pass-2026-hubei"


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in on /login/ the way a person does: type the name and password, press the button."""
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()


def sign_out(page: Any) -> None:
    with page.expect_navigation():
        page.locator("header .session form button[type=submit]").last.click()


def switch_language(page: Any, code: str) -> None:
    """Use the language menu in the page header (it submits itself on change) and wait for the new page."""
    with page.expect_navigation():
        page.locator("#language-select").select_option(code)
    page.wait_for_selector(f"html[lang='{code}']", state="attached")
