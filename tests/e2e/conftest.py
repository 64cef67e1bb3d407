"""Browser-test helpers: a page per test that is photographed when the test fails, a screenshot
helper for the main pages (tests/e2e/screenshots/, git-ignored), and a login step."""

import re
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 375, "height": 812}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as tests/e2e/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shoot():
    """shoot(page, "lead-list") saves a screenshot of a main page on every run."""
    return screenshot


def _context(browser, request, **options):
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            screenshot(page, f"FAILED-{request.node.name}")
        except Exception:  # noqa: BLE001  (a crashed page cannot be photographed; the failure itself is reported)
            pass
    context.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page (desktop width); a screenshot is saved if the test fails."""
    yield from _context(browser, request, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(browser, request):
    """The same at a phone's width (375 px)."""
    yield from _context(browser, request, viewport=PHONE, is_mobile=True, has_touch=True)


def log_in(page, base_url: str, username: str, password: str = "secret-pass-123") -> None:
    """Log in through the login form and wait for the landing page."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    assert "/accounts/login/" not in page.url, f"login failed for {username}"
