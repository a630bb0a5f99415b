"""The running dashboard in a real browser: Playwright driving Debian's chromium (`make chromium` installs it).

Starts `leakwatch dashboard` on a free port against the tiny run's serving.duckdb, loads every page, checks that
Streamlit shows no exception, and saves a screenshot per page in the test's tmp_path. A second test publishes
again (pipelines.publish, the same atomic os.replace the pipeline uses) while the browser keeps reloading.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards import app
from pipelines import publish
from tests.conftest import PROJECT_ROOT, free_port

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make chromium`"),
    pytest.mark.timeout(1200),  # the first test may build the session's tiny run
]
START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 90_000  # the first run of a page imports pandas and altair; CI machines can be slow
ERROR_SELECTOR = '[data-testid="stException"]'


def wait_until_healthy(url: str, process) -> None:  # noqa: ANN001 - subprocess.Popen
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dashboard exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"dashboard did not answer on {url} within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def dashboard_url(published_tiny) -> Iterator[str]:  # noqa: ANN001 - conftest.Published
    port = free_port()
    leakwatch = published_tiny.leakwatch
    # Own process group: `leakwatch dashboard` runs streamlit as a child, which must go down with it.
    process = subprocess.Popen(leakwatch.command("dashboard", "--port", str(port)), env=leakwatch.env,
                               cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        try:
            yield chromium
        finally:
            chromium.close()


def load(page, url: str, title: str) -> None:  # noqa: ANN001 - playwright Page
    """Open ``url`` and wait until Streamlit has drawn the page's title and finished running the script."""
    page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("heading", name=title).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=PAGE_TIMEOUT_MS)


def page_title(name: str, title: str) -> str:
    return "Leakwatch — refund leakage" if name == "overview.py" else title


def page_url(base: str, url_path: str) -> str:
    """The home page lives at the root; the others at their url path."""
    return f"{base}/" if url_path == app.PAGES[0][3] else f"{base}/{url_path}"


def test_every_page_loads_in_chromium(dashboard_url: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for name, title, _icon, url_path in app.PAGES:
        load(page, page_url(dashboard_url, url_path), page_title(name, title))
        assert page.locator(ERROR_SELECTOR).count() == 0, f"{title}: {page.locator(ERROR_SELECTOR).first.inner_text()}"
        assert page.get_by_text("Traceback").count() == 0, title
        shot = tmp_path / f"{url_path}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000, f"{title}: screenshot looks empty"
    page.close()


def test_filters_survive_in_the_shared_link(dashboard_url: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    load(page, f"{dashboard_url}/refunds?market=AU", "Refund leakage")

    assert "market=AU" in page.url
    assert page.locator(ERROR_SELECTOR).count() == 0
    page.screenshot(path=str(tmp_path / "refunds_market_au.png"), full_page=True)
    page.close()


def test_reload_while_a_publish_replaces_serving_db(dashboard_url: str, browser, published_tiny,  # noqa: ANN001
                                                    tmp_path: Path) -> None:
    errors: list[BaseException] = []
    published: list[int] = []
    stop = threading.Event()

    def publish_repeatedly() -> None:
        try:
            while not stop.is_set():
                publish.publish(published_tiny.warehouse, published_tiny.serving)
                published.append(published_tiny.serving.stat().st_ino)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    publisher = threading.Thread(target=publish_repeatedly, daemon=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    publisher.start()
    try:
        for round_ in range(6):
            for name, title, _icon, url_path in (app.PAGES[0], app.PAGES[1]):
                load(page, page_url(dashboard_url, url_path), page_title(name, title))
                assert page.locator(ERROR_SELECTOR).count() == 0, f"round {round_}: {title}"
                assert page.get_by_text("could not be read").count() == 0, f"round {round_}: {title}"
                assert page.get_by_text("does not exist").count() == 0, f"round {round_}: {title}"
    finally:
        stop.set()
        publisher.join(timeout=120)
    page.screenshot(path=str(tmp_path / "after_publish.png"), full_page=True)
    page.close()
    assert not errors, errors
    # (counted, not compared by inode: the file system may hand a freed inode number to a later publish)
    assert published, "no publish happened while the pages reloaded"
