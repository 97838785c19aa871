"""The web page against a real `lkg serve --demo`, in Debian's Chromium: search, a node page,
the impact explorer (the drawn graph compared with the GraphQL answer, exports), the decision
trace of loan-42 and the accountability map of alice@example.com."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page

from tests.conftest import ServiceProcess

AMOUNT = '["Column","postgres://warehouse:5432","shop.public.orders","amount"]'
ORDERS = '["Dataset","postgres://warehouse:5432","shop.public.orders"]'

IMPACT = """query($ref: NodeRef!) { impact(ref: $ref, first: 1000) {
    summary { total kpis byKind { kind count } byOwner { kind count } unowned }
    edges { node { node { id kind display } certainty owners distance path { fromId toId } } }
} }"""


def wait_view(page: Page, view: str) -> None:
    page.wait_for_selector(f"body[data-view={view}][data-ready=true]")  # the page's bound
    errors = page.locator("[data-testid=error]")
    assert errors.count() == 0, errors.all_inner_texts()


def drawn(page: Page, graph: str) -> dict[str, Any]:
    """What Cytoscape holds: node ids with their classes, edges as (source, target, classes)."""
    return page.evaluate(
        """(name) => {
          const cy = window.lkg.graphs[name];
          return {
            nodes: Object.fromEntries(cy.nodes().map((n) => [n.id(), n.classes()])),
            labels: cy.nodes().map((n) => n.data("label")),
            edges: cy.edges().map((e) => [e.source().id(), e.target().id(), e.classes()]),
          };
        }""",
        graph,
    )


def rows(page: Page, testid: str) -> list[str]:
    return page.eval_on_selector_all(
        f"[data-testid={testid}] tbody tr[data-node-id]",
        "(trs) => trs.map((t) => t.dataset.nodeId)",
    )


def search_for(page: Page, service: ServiceProcess, text: str) -> None:
    page.goto(service.url + "/")
    wait_view(page, "home")
    page.fill("[data-testid=search-input]", text)
    page.click("[data-testid=search-button]")
    wait_view(page, "search")


def test_search_and_node_page(demo: ServiceProcess, page: Page, screenshot: Callable) -> None:
    search_for(page, demo, "orders")
    expected = demo.graphql('{ search(text: "orders", limit: 100) { id } }')["search"]
    assert rows(page, "search-results") == [n["id"] for n in expected]
    assert ORDERS in rows(page, "search-results")
    screenshot("search")

    page.click(f"tr[data-node-id='{ORDERS}'] a.node-link")
    wait_view(page, "node")
    assert page.inner_text("[data-testid=node-title]").endswith("shop.public.orders")
    assert "Every order placed" in page.inner_text("[data-testid=node-props]")
    neighbours = demo.graphql(
        """query($ref: NodeRef!) { node(ref: $ref) {
            out: neighbors(direction: OUT) { edges { node { id } } }
            in: neighbors(direction: IN) { edges { node { id } } } } }""",
        ref={"id": ORDERS},
    )["node"]
    downstream = [e["node"]["id"] for e in neighbours["out"]["edges"]]
    upstream = [e["node"]["id"] for e in neighbours["in"]["edges"]]
    assert downstream and rows(page, "node-downstream") == downstream
    assert upstream and rows(page, "node-upstream") == upstream
    assert set(drawn(page, "node")["nodes"]) == {ORDERS, *downstream, *upstream}
    screenshot("node")


def test_impact_explorer_draws_the_graphql_answer(
    demo: ServiceProcess, page: Page, screenshot: Callable
) -> None:
    search_for(page, demo, "orders")
    page.click(f"tr[data-node-id='{AMOUNT}'] a.action:text('impact')")
    wait_view(page, "impact")
    page.wait_for_function("() => window.lkg.graphs.impact")
    answer = demo.graphql(IMPACT, ref={"id": AMOUNT})["impact"]
    items = [e["node"] for e in answer["edges"]]
    assert len(items) == answer["summary"]["total"] >= 11

    graph = drawn(page, "impact")
    assert set(graph["nodes"]) == {AMOUNT, *(i["node"]["id"] for i in items)}
    for item in items:  # coloured by certainty: exact solid, possible dashed
        assert item["certainty"] in graph["nodes"][item["node"]["id"]]
    assert "start" in graph["nodes"][AMOUNT]
    # one edge per node: the last step of its explaining path
    edges = {(s, t): c for s, t, c in graph["edges"]}
    assert set(edges) == {(i["path"][-1]["fromId"], i["node"]["id"]) for i in items}
    possible = {i["node"]["id"] for i in items if i["certainty"] == "possible"}
    assert possible and {t for (_, t), c in edges.items() if "possible" in c} == possible

    kpis = page.locator("[data-testid=summary-kpis] li").all_inner_texts()
    assert kpis == answer["summary"]["kpis"] == ["approval-rate", "daily-revenue"]
    assert f"unowned: {answer['summary']['unowned']}" in page.inner_text(
        "[data-testid=summary-owners]"
    )
    assert rows(page, "impact-table") == [i["node"]["id"] for i in items]
    screenshot("impact")

    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [r["id"] for r in table] == [i["node"]["id"] for i in items]
    assert {r["id"]: r["certainty"] for r in table} == {
        i["node"]["id"]: i["certainty"] for i in items
    }
    with page.expect_download() as download:
        page.click("[data-testid=export-json]")
    exported = json.loads(download.value.path().read_text())
    assert exported["start"]["id"] == AMOUNT
    assert [i["id"] for i in exported["items"]] == [i["node"]["id"] for i in items]
    assert exported["summary"] == {**exported["summary"], **answer["summary"]}

    page.select_option("[data-testid=impact-collapse]", "kind")
    kinds = answer["summary"]["byKind"]
    page.wait_for_function(f"() => window.lkg.graphs.impact.nodes().length === {len(kinds) + 1}")
    labels = drawn(page, "impact")["labels"]
    times = "\N{MULTIPLICATION SIGN}"  # a collapsed node: "KIND times COUNT"
    assert f"KPI {times}2" in labels
    assert f"Dataset {times}2" in labels


def test_decision_trace_of_loan_42(demo: ServiceProcess, page: Page, screenshot: Callable) -> None:
    # one decision logged through the real intake, so its evidence link resolves to the event
    logged = {
        "decision_id": "loan-77",
        "timestamp": "2026-01-06T10:00:00Z",
        "decision_point": "loan-approval",
        "model": "credit-risk",
        "version": "3",
        "outcome": {"approved": True},
    }
    response = httpx.post(f"{demo.url}/api/v1/decisions", json=[logged], timeout=30)
    assert response.status_code < 300, response.text

    page.goto(demo.url + "/#/decision")
    wait_view(page, "decision")
    page.fill("[data-testid=decision-id]", "loan-42")
    page.click("[data-testid=decision-id-go]")
    page.wait_for_selector("[data-testid=trace-steps]")
    wait_view(page, "decision")
    trace = demo.graphql(
        """{ decisionLineage(ref: {kind: Decision, decisionId: "loan-42"}) {
            decision { kind node { id } time evidence }
            modelVersions { kind node { id } time evidence }
            data { kind node { id } time evidence } features { kind node { id } evidence }
            sources } }"""
    )["decisionLineage"]
    steps = [trace["decision"], *trace["modelVersions"], *trace["data"], *trace["features"]]
    assert rows(page, "trace-steps") == [s["node"]["id"] for s in steps]
    shown = page.eval_on_selector_all(
        "[data-testid=trace-steps] tbody tr", "(trs) => trs.map((t) => t.dataset.step)"
    )
    assert shown[:4] == ["decision", "model_version", "training_run", "dataset_version"]
    times = page.locator("[data-testid=trace-steps] td.time").all_inner_texts()
    assert times[:4] == [s["time"] for s in steps[:4]]
    assert times[0] == "2026-01-05T09:30:00.000000Z"
    evidence = page.eval_on_selector_all(
        "[data-testid=trace-steps] a.evidence", "(links) => links.map((a) => a.href)"
    )
    expected = [f"{demo.url}/api/v1/events/{e}" for s in steps for e in s["evidence"]]
    assert evidence == expected
    assert httpx.get(evidence[0], timeout=30).status_code == 200  # the demo is in the log
    for source in trace["sources"]:
        assert "source" in (page.get_attribute(f"tr[data-node-id='{source}']", "class") or "")
    assert set(drawn(page, "trace")["nodes"]) == {s["node"]["id"] for s in steps}
    screenshot("decision-trace")

    page.fill("[data-testid=decision-id]", "loan-77")
    page.click("[data-testid=decision-id-go]")
    page.wait_for_selector("[data-testid=trace-title]:text('loan-77')")
    wait_view(page, "decision")
    link = page.get_attribute("[data-testid=trace-decision] a.evidence", "href")
    assert link is not None
    event = httpx.get(link, timeout=10)  # the evidence link answers with the logged event
    assert event.status_code == 200, event.text
    assert "loan-77" in event.text


def test_accountability_map_of_alice(
    demo: ServiceProcess, page: Page, screenshot: Callable
) -> None:
    page.goto(demo.url + "/")
    wait_view(page, "home")
    page.fill("[data-testid=home-owner]", "alice@example.com")
    page.click("[data-testid=home-owner-go]")
    wait_view(page, "owner")
    answer = demo.graphql(
        """{ accountability(ownerId: "alice@example.com") {
            owned { node { id } } kpis { node { id } } downstreamOwners { owner }
            gaps { kind asset { id } } } }"""
    )["accountability"]
    assert page.inner_text("[data-testid=owner-title]") == "alice@example.com"
    assert rows(page, "owner-owned") == [o["node"]["id"] for o in answer["owned"]]
    assert rows(page, "owner-kpis") == [k["node"]["id"] for k in answer["kpis"]]
    owners = page.eval_on_selector_all(
        "[data-testid=owner-downstream-owners] li", "(lis) => lis.map((l) => l.dataset.owner)"
    )
    assert owners == [o["owner"] for o in answer["downstreamOwners"]] == ["team:ml-risk"]
    gaps = [g["asset"]["id"] for g in answer["gaps"]]
    assert gaps == ['["KPI","daily-revenue"]', '["DecisionPoint","loan-approval"]']
    assert rows(page, "owner-gaps") == gaps
    for gap in gaps:  # highlighted in the gap list, the KPI table and the map
        assert page.locator(f"[data-testid=owner-gaps] tr.gap[data-node-id='{gap}']").count() == 1
    assert page.locator("[data-testid=owner-kpis] tr.gap").count() == 1
    graph = drawn(page, "owner")
    assert {n for n, c in graph["nodes"].items() if "gap" in c} == set(gaps)
    assert {o["node"]["id"] for o in answer["owned"]} <= set(graph["nodes"])
    screenshot("accountability")
