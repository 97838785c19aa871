"""With LKG_AUTH=required the page asks for an API key once, then works with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from lineage_kg.api.auth import KeyStore, Scope, keys_path
from tests.browser.test_web import wait_view
from tests.conftest import ServiceProcess


def test_page_asks_for_a_key_then_answers(
    service_factory: Callable[..., ServiceProcess],
    page: Page,
    tmp_path: Path,
    expected_console: list[str],
) -> None:
    expected_console.append("status of 401")  # the first, keyless request
    data_dir = tmp_path / "data"  # the service's (service_factory)
    data_dir.mkdir()
    store = KeyStore(keys_path(data_dir))  # what `lkg keys create --scope read` does
    _, key = store.create("web-page", [Scope.READ])
    store.close()
    service = service_factory(LKG_DEMO="true", LKG_AUTH="required").start()
    assert service.data_dir == data_dir

    page.goto(service.url + "/")
    page.wait_for_selector("[data-testid=api-key]")
    assert "authentication required" in page.inner_text("[data-testid=error]")
    page.fill("[data-testid=api-key]", key)
    page.press("[data-testid=api-key]", "Enter")
    wait_view(page, "home")
    assert "nodes" in page.inner_text("main")
    page.goto(service.url + "/#/owner/alice%40example.com")
    wait_view(page, "owner")
    assert page.inner_text("[data-testid=owner-title]") == "alice@example.com"
