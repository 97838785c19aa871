"""Browser tests: Debian's Chromium driven by the Python `playwright` package, against a real
`lkg serve`. No browser download: Playwright launches /usr/bin/chromium, installed here with
apt-get if missing (as `make test` does). Screenshots go to the test output dir,
`<pytest basetemp>/browser/`, and, with LKG_UPDATE_SCREENSHOTS=1, to docs/screenshots/ (linked
from the README): a plain test run leaves the checkout clean."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.conftest import ServiceProcess

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 1000}
# every wait and action of a page (Playwright's default: 30 s): a bound on a hang, not a speed
# check; each wait returns once its condition holds, however loaded the machine
WAIT_MS = 120_000


def _install_chromium() -> None:
    """The test setup's own way to get Debian's chromium (root only, as in CI containers)."""
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(f"{CHROMIUM} missing: run `apt-get install -y chromium` as root", pytrace=False)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    _install_chromium()
    # --no-sandbox: the tests run as root in containers, where Chromium's sandbox cannot start
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture
def expected_console() -> list[str]:
    """Console errors a test expects (substrings), e.g. the 401 of a service wanting a key."""
    return []


@pytest.fixture
def page(browser: Browser, expected_console: list[str]) -> Iterator[Page]:
    """A fresh tab; any uncaught script error or unexpected console error fails the test."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(e in message.text for e in expected_console):
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture(scope="session")
def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "browser"


@pytest.fixture
def screenshot(page: Page, output_dir: Path) -> Callable[..., Path]:
    """Save the page (whole, or the window only) as NAME.png in the test output dir (and in
    docs/screenshots/ with LKG_UPDATE_SCREENSHOTS=1)."""
    update_docs = os.environ.get("LKG_UPDATE_SCREENSHOTS") == "1"

    def take(name: str, *, full_page: bool = True) -> Path:
        output_dir.mkdir(parents=True, exist_ok=True)
        path = output_dir / f"{name}.png"
        page.screenshot(path=path, full_page=full_page)
        if update_docs:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")
        return path

    return take


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One `lkg serve --demo` for the browser tests that only read (what
    service_factory(LKG_DEMO="true") starts): starting it takes seconds. test_web.py's last test
    logs one decision that no other test looks at."""
    service = ServiceProcess(
        tmp_path_factory.mktemp("web") / "data", {"NEO4J_URI": "", "LKG_DEMO": "true"}
    ).start()
    yield service
    service.stop()
