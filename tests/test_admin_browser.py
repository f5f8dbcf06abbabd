"""The admin dashboard in a real headless Chromium (Debian's, installed by `make browser`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.store.db import SessionFactory
from tests.admin_server import TOKEN, add_sample_usage, serve_admin

pytestmark = pytest.mark.db

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "chromium/chromedriver missing: run `make browser` "
            "(scripts/install-system-deps.sh browser installs them from Debian)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def click_and_wait(browser: WebDriver, element: WebElement) -> None:
    """Click something that loads a new page and wait until the new page has loaded.

    The old page is marked with a window variable that the next document does not have.
    Selenium's `staleness_of` is not used: while Chromium swaps documents, asking the old
    node anything can fail with a plain WebDriverException ("Node with given id does not
    belong to the document") rather than StaleElementReferenceException, which failed CI.
    Every command sent mid-navigation may hit that, so the wait ignores those errors.
    """
    browser.execute_script("window.__wxocrOldPage = true;")
    element.click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return window.__wxocrOldPage === undefined && document.readyState === 'complete'"
        )
    )


def sign_in(browser: WebDriver, base: str, token: str) -> None:
    browser.get(base + "/")
    field = browser.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#login-form button"))


def test_login_filter_and_chart_in_a_real_browser(
    browser: WebDriver, sessions: SessionFactory
) -> None:
    counts = add_sample_usage(sessions)
    with serve_admin(sessions) as base:
        sign_in(browser, base, "wrong-" + TOKEN)
        assert "wrong token" in browser.find_element(By.ID, "login-error").text
        with pytest.raises(NoSuchElementException):
            browser.find_element(By.ID, "chart-kind")

        sign_in(browser, base, TOKEN)
        chart = browser.find_element(By.ID, "chart-kind")
        assert chart.is_displayed()
        assert int(chart.get_attribute("data-total") or 0) == sum(counts.values())
        bars = chart.find_elements(By.CSS_SELECTOR, "rect[data-series]")
        assert sum(int(bar.get_attribute("data-count") or 0) for bar in bars) == sum(
            counts.values()
        )
        assert browser.find_element(By.ID, "chart-outcome").is_displayed()

        Select(browser.find_element(By.ID, "f-kind")).select_by_value("bankcard")
        click_and_wait(browser, browser.find_element(By.ID, "apply"))
        assert "kind=bankcard" in browser.current_url
        rows = browser.find_elements(By.CSS_SELECTOR, "#groups tbody tr")
        kinds = {row.find_elements(By.TAG_NAME, "td")[1].text for row in rows}
        assert kinds == {"bankcard"}
        filtered = browser.find_element(By.ID, "chart-kind")
        assert int(filtered.get_attribute("data-total") or 0) == counts["bankcard"]

        # The session is a cookie: a fresh visit stays signed in until logout.
        browser.get(base + "/")
        assert browser.find_element(By.ID, "chart-kind").is_displayed()
        click_and_wait(browser, browser.find_element(By.LINK_TEXT, "退出"))
        assert browser.find_element(By.ID, "token").is_displayed()
