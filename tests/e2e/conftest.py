"""Browser tests: Playwright drives Debian's Chromium (headless) against pytest-django's live server.

The browser is started once for this package and closed when its last test ends. Without /usr/bin/chromium the
tests skip and say why, unless REQUIRE_SERVICES=1 (CI), where a missing browser is a failure. Every test gets a
fresh browser context (no cookies shared between tests) and a `shots` helper that writes numbered full-page
screenshots to build/e2e/<test>/NN-name.png; a failing test also leaves failure.png and failure.html there.

While Playwright's synchronous API is active an asyncio loop runs in the main thread, which Django takes for an
async context: it refuses ORM calls and keeps separate connections there. The tests' own set-up and checks are
plain synchronous code, so for as long as the browser is up the package declares DJANGO_ALLOW_ASYNC_UNSAFE and
hands Django the thread's own connections (both undone when the browser closes).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "e2e"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # without these Chromium keeps calling home on a closed network
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000  # a step that takes longer than this is a failure, not a slow pass


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _artifact_dir(nodeid_name: str) -> Path:
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid_name).strip("_")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the package (Debian's, not Playwright's own download)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(f"browser tests need Chromium: {message}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a pinned dev dependency
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but Playwright is not installed ({exc})", pytrace=False)
        pytest.skip(f"browser tests need Playwright: {exc}")

    from django.db import connections

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    shared = {alias: connections[alias] for alias in connections}
    playwright = sync_playwright().start()
    # With an event loop running in this thread, Django looks its connections up per async context instead of per
    # thread, and would open new ones that lack the test database's state (the serialized contents that
    # serialized_rollback restores). Keep using the thread's own connections.
    for alias, connection in shared.items():
        connections[alias] = connection
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """build/e2e/<test>/, emptied first so a run never mixes its screenshots with an older run's."""
    path = _artifact_dir(request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


class Screenshots:
    """Numbered full-page screenshots of one test: shots(page, "login") -> build/e2e/<test>/01-login.png."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(artifacts: Path) -> Screenshots:
    return Screenshots(artifacts)


@pytest.fixture
def new_page(
    browser: Any, live_server: Any, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh browser contexts (one per person, so sessions never mix), pointed at the live server.
    The browser asks for Chinese first, like a user in Hubei. Script errors and Content-Security-Policy
    violations are collected in ``new_page.page_errors``. On failure every open page is saved (PNG + HTML)."""
    contexts: list[Any] = []
    pages: list[tuple[str, Any]] = []

    def open_page(label: str = "page", *, locale: str = "zh-CN") -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: page_errors.append(f"{label}: {exc}"))
        page.on(
            "console",
            lambda msg: (
                page_errors.append(f"{label}: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        pages.append((label, page))
        return page

    page_errors: list[str] = []
    open_page.page_errors = page_errors  # type: ignore[attr-defined]
    try:
        yield open_page
    finally:
        failed = any(
            getattr(request.node, f"rep_{phase}", None) is not None and getattr(request.node, f"rep_{phase}").failed
            for phase in ("setup", "call")
        )
        if failed:
            for label, page in pages:
                if page.is_closed():
                    continue
                try:
                    page.screenshot(path=str(artifacts / f"failure-{label}.png"), full_page=True)
                    (artifacts / f"failure-{label}.html").write_text(page.content(), encoding="utf-8")
                except Exception as exc:  # saving the evidence must not hide the real failure
                    (artifacts / f"failure-{label}.txt").write_text(f"could not save the page: {exc!r}")
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A single page for tests that play one person."""
    return new_page("page")
