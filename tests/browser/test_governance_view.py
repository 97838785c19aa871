"""The Governance view in Chromium against a real `lkg serve`: the demo estate (its decision
point and a KPI have no owner, so the default policy reports an error and a warning) and an
empty service. The oracle is the GraphQL `governance` field asked with the same arguments: the
rows shown, their severity, path and evidence must be its answer; the severity filter and the
cursor pages must follow it; a subject link opens that node's page; no violations, an empty
state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlencode

from playwright.sync_api import Page

from tests.browser.test_web import wait_view
from tests.conftest import ServiceProcess

QUERY = """query ($asOf: String, $severity: String, $first: Int!, $after: String) {
  governance(asOf: $asOf, severity: $severity, first: $first, after: $after) {
    violations { rule severity subject { id } path { id } evidence since }
    pageInfo { hasNextPage endCursor } total truncated } }"""

# each row as the page shows it: the values a user reads, and where its links go
SHOWN = """() => {
  const target = (a) => decodeURIComponent(a.hash.replace("#/node/", ""));
  const rows = document.querySelectorAll("[data-testid=gov-violations] tbody tr");
  return [...rows].map((tr) => {
    const cells = [...tr.cells];
    return {
      rule: cells[0].textContent,
      severity: cells[1].textContent,
      subject: target(cells[2].querySelector("a")),
      path: [...cells[4].querySelectorAll("a")].map(target),
      since: cells[5].textContent,
      evidence: [...cells[7].querySelectorAll("a.evidence")].map(
        (a) => [a.textContent, new URL(a.href).pathname]),
    };
  });
}"""


def ask(service: ServiceProcess, **variables: Any) -> dict[str, Any]:
    variables.setdefault("first", 50)
    return service.graphql(QUERY, **variables)["governance"]


def expected(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "rule": v["rule"],
            "severity": v["severity"],
            "subject": v["subject"]["id"],
            "path": [n["id"] for n in v["path"]],
            "since": v["since"] or "",
            "evidence": [[e, f"/api/v1/events/{quote(e, safe='')}"] for e in v["evidence"]],
        }
        for v in answer["violations"]
    ]


def open_view(page: Page, service: ServiceProcess, **args: Any) -> None:
    page.goto(f"{service.url}/#/governance/{quote(urlencode(args), safe='')}")
    wait_view(page, "governance")


def rerendered(page: Page, action: Callable[[], None]) -> None:
    """Do `action` (a hash change) and wait for the view drawn anew: the old summary is marked, so
    the old page's ready flag is not taken for the new one."""
    page.eval_on_selector("[data-testid=gov-summary]", "(el) => { el.dataset.stale = '1'; }")
    action()
    page.wait_for_selector(
        "body[data-view=governance][data-ready=true] [data-testid=gov-summary]:not([data-stale])"
    )
    wait_view(page, "governance")


def test_violations_are_the_graphql_answer(
    demo: ServiceProcess, page: Page, screenshot: Callable
) -> None:
    page.goto(demo.url + "/")
    wait_view(page, "home")
    page.click("[data-testid=nav-governance]")
    wait_view(page, "governance")
    everything = ask(demo)
    assert {v["severity"] for v in everything["violations"]} >= {"error", "warning"}
    assert not everything["pageInfo"]["hasNextPage"]
    assert page.evaluate(SHOWN) == expected(everything)
    assert page.locator("[data-testid=gov-truncated]").count() == int(everything["truncated"])
    assert f"{everything['total']} violation(s)" in page.inner_text("[data-testid=gov-summary]")
    screenshot("governance")

    # the filter narrows to what the API keeps at that severity
    rerendered(page, lambda: page.select_option("[data-testid=gov-severity]", "error"))
    assert page.evaluate("() => location.hash") == "#/governance/severity%3Derror"
    errors = ask(demo, severity="error")
    assert 0 < len(errors["violations"]) < len(everything["violations"])
    assert page.evaluate(SHOWN) == expected(errors)

    # one row a page: each page is the API's page for the cursor before it
    open_view(page, demo, first=1)
    seen, after = [], None
    while True:
        answer = ask(demo, first=1, after=after)
        assert page.evaluate(SHOWN) == expected(answer)
        seen += expected(answer)
        if not answer["pageInfo"]["hasNextPage"]:
            assert page.locator("[data-testid=gov-next]").count() == 0
            break
        after = answer["pageInfo"]["endCursor"]
        rerendered(page, lambda: page.click("[data-testid=gov-next]"))
    assert seen == expected(everything)

    # the subject opens its node page
    open_view(page, demo)
    subject = everything["violations"][0]["subject"]["id"]
    page.click("[data-testid=gov-violations] tbody tr >> nth=0 >> td >> nth=2 >> a")
    wait_view(page, "node")
    assert unquote(page.url[page.url.index("#") :]) == f"#/node/{subject}"


def test_no_violations_is_said(service_factory: Callable[..., ServiceProcess], page: Page) -> None:
    service = service_factory().start()
    answer = ask(service, asOf="2026-03-10")
    assert answer["total"] == 0 and answer["violations"] == []
    open_view(page, service, asOf="2026-03-10")
    assert page.input_value("[data-testid=gov-as-of]") == "2026-03-10"
    assert page.inner_text("[data-testid=gov-empty]").strip() == "No violations"
    assert page.locator("[data-testid=gov-violations]").count() == 0
    assert page.locator("[data-testid=gov-next]").count() == 0
