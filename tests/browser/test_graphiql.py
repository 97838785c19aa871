"""GraphiQL at /graphql works with the network cut: every request not to the service is
aborted, and the IDE still renders, loads the schema and runs a query (its React, GraphiQL and
CSS are bundled from npm into api/static, not fetched from a CDN)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, Route

from lineage_kg.api.auth import KeyStore, Scope, keys_path
from tests.conftest import ServiceProcess

QUERY = "{ stats { nodeCount edgeCount } version }"


def cut_the_network(page: Page, service: ServiceProcess) -> list[str]:
    """Abort every request that is not to the service; the aborted URLs are returned."""
    aborted: list[str] = []

    def only_the_service(route: Route) -> None:
        url = route.request.url
        if url.startswith(service.url + "/") or url.startswith("data:"):
            route.continue_()
        else:
            aborted.append(url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_the_service)
    return aborted


def run_in_graphiql(page: Page, query: str, answered: str = "nodeCount") -> str:
    """Type `query` into the loaded IDE, run it, and return the response pane's text once it
    holds `answered` (a field the answer must have)."""
    page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror")
    editor = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
    page.evaluate(f"(q) => {editor}.setValue(q)", query)
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        """(answered) => {
          const cm = document.querySelector('.graphiql-response .CodeMirror');
          return cm && cm.CodeMirror.getValue().includes(answered);
        }""",
        arg=answered,
    )
    return str(
        page.evaluate(
            "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
        )
    )


def test_graphiql_runs_a_query_offline(
    demo: ServiceProcess, page: Page, screenshot: Callable
) -> None:
    aborted = cut_the_network(page, demo)
    page.goto(demo.url + "/graphql")
    shown = run_in_graphiql(page, QUERY)
    assert json.loads(shown) == {"data": demo.graphql(QUERY)}
    assert aborted == [], f"GraphiQL reached outside the service: {aborted}"
    screenshot("graphiql-offline")


def test_graphiql_page_links_only_packaged_assets(demo: ServiceProcess, page: Page) -> None:
    """What a browser gets at GET /graphql names no other host (a CDN would be one)."""
    response = page.request.get(demo.url + "/graphql", headers={"accept": "text/html"})
    assert response.status == 200
    html = response.text()
    assert "unpkg.com" not in html and "https://" not in html and "http://" not in html
    assert "static/graphiql-" in html


def test_graphiql_with_auth_required_uses_the_pages_key(
    service_factory: Callable[..., ServiceProcess], page: Page, tmp_path: Path
) -> None:
    """The IDE's page loads without a key (it is static); its queries carry the read key the
    web page keeps, pre-filled in GraphiQL's headers editor."""
    data_dir = tmp_path / "data"  # the service's (service_factory)
    data_dir.mkdir()
    store = KeyStore(keys_path(data_dir))  # what `lkg keys create --scope read` does
    _, key = store.create("graphiql", [Scope.READ])
    store.close()
    service = service_factory(LKG_AUTH="required").start()
    aborted = cut_the_network(page, service)
    page.goto(service.url + "/healthz")  # the service's origin, for its storage
    page.evaluate("(k) => sessionStorage.setItem('lkg.apiKey', k)", key)
    page.goto(service.url + "/graphql")
    shown = run_in_graphiql(page, QUERY)
    want = httpx.post(
        f"{service.url}/graphql",
        json={"query": QUERY},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    ).json()
    assert json.loads(shown) == want and "errors" not in want
    assert aborted == []
