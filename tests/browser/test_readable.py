"""The page and its answers, readable (issue 18 §6), in Chromium against `lkg serve`:
event ids shown short but copied whole, table headers never broken inside a word, an unknown
decision id answered in the user's words with the input box kept, the node page's neighbours
each way and owners from the API, owner links naming their assets, and graph labels that do
not overlap on a graph of 60 nodes."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import httpx
from playwright.sync_api import Page

from tests.browser.test_web import AMOUNT, ORDERS, rows, wait_view
from tests.conftest import ServiceProcess

# every word of every header cell of the table: how many line boxes it takes (1 = unbroken)
HEADER_WORD_LINES = """(selector) => {
  const out = [];
  for (const th of document.querySelectorAll(`${selector} thead th`)) {
    const text = th.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) continue;
    for (const match of text.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(text, match.index);
      range.setEnd(text, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      out.push([match[0], lines.size]);
    }
  }
  return out;
}"""

# each evidence link: its full id in the text, the id in its tooltip, the width it takes, and
# what a user selecting it and copying would get
EVIDENCE = """(selector) => [...document.querySelectorAll(`${selector} a.evidence`)].map((a) => {
  const range = document.createRange();
  range.selectNodeContents(a);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  const copied = selection.toString();
  selection.removeAllRanges();
  return { text: a.textContent, title: a.title, width: a.getBoundingClientRect().width, copied };
})"""


def assert_headers_whole(page: Page, selector: str, expected: set[str]) -> None:
    words = page.evaluate(HEADER_WORD_LINES, selector)
    assert expected <= {w for w, _ in words}, words
    broken = [w for w, lines in words if lines != 1]
    assert not broken, f"header words broken across lines in {selector}: {broken}"


def test_decision_trace_ids_short_headers_whole(demo: ServiceProcess, page: Page) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})  # a laptop, where it squeezed
    page.goto(demo.url + "/#/decision/loan-42")
    page.wait_for_selector("[data-testid=trace-steps]")
    wait_view(page, "decision")
    assert_headers_whole(
        page, "[data-testid=trace-steps]", {"Resolution", "Reached", "Evidence", "Owners"}
    )
    links = page.evaluate(EVIDENCE, "[data-testid=trace-steps]")
    assert links
    longest = max(links, key=lambda link: len(link["text"]))
    assert len(longest["text"]) >= 32  # the demo's event ids are long: the case in point
    for link in links:
        assert link["copied"] == link["text"] == link["title"]  # copied whole
        assert link["width"] < 120  # shown short
    # the shortened ids leave the other columns their words
    widths = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=trace-steps] thead th')]
              .map((th) => [th.textContent, th.getBoundingClientRect().width])"""
    )
    assert all(width > 40 for _, width in widths), widths


def test_impact_headers_whole(demo: ServiceProcess, page: Page) -> None:
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{demo.url}/#/impact/{quote(AMOUNT, safe='')}")
    wait_view(page, "impact")
    page.wait_for_function("() => window.lkg.graphs.impact")
    assert_headers_whole(page, "#main", {"Distance", "Certainty", "Owners", "Reached"})


def test_unknown_decision_id_keeps_the_box(demo: ServiceProcess, page: Page) -> None:
    page.goto(demo.url + "/#/decision/no-such-decision-7")
    page.wait_for_selector("[data-testid=trace-not-found]")
    wait_view(page, "decision")
    said = page.inner_text("[data-testid=trace-not-found]")
    assert "no-such-decision-7" in said
    assert '["' not in page.inner_text("#main")  # no internal node id
    box = page.locator("[data-testid=decision-id]")
    assert box.is_visible() and box.input_value() == "no-such-decision-7"
    box.fill("loan-42")
    page.click("[data-testid=decision-id-go]")
    page.wait_for_selector("[data-testid=trace-title]:text('loan-42')")
    wait_view(page, "decision")


NODE = """query($ref: NodeRef!) { node(ref: $ref) { owners
    out: neighbors(direction: OUT, first: 500) { total edges { node { id } edge } }
    in: neighbors(direction: IN, first: 500) { total edges { node { id } edge } } } }"""


def test_node_page_neighbours_each_way_and_owners(demo: ServiceProcess, page: Page) -> None:
    answer = demo.graphql(NODE, ref={"id": ORDERS})["node"]
    page.goto(f"{demo.url}/#/node/{quote(ORDERS, safe='')}")
    wait_view(page, "node")
    text = page.inner_text("#main")
    assert "no direct neighbours query" not in text
    for way, testid in (("out", "node-downstream"), ("in", "node-upstream")):
        want = [(e["node"]["id"], e["edge"]) for e in answer[way]["edges"]]
        assert want, way
        shown = page.eval_on_selector_all(
            f"[data-testid={testid}] tbody tr[data-node-id]",
            "(trs) => trs.map((t) => [t.dataset.nodeId, t.dataset.edge])",
        )
        assert [tuple(s) for s in shown] == want[:50]
    # downstream is what the node's edges lead to; upstream what leads to it
    assert rows(page, "node-downstream") != rows(page, "node-upstream")
    owners = page.eval_on_selector_all(
        "[data-testid=node-owners] li[data-owner]", "(lis) => lis.map((l) => l.dataset.owner)"
    )
    assert owners == answer["owners"]


OWNER_LINKS = """{ accountability(ownerId: "alice@example.com") {
    upstreamOwners { owner assets { id display } }
    downstreamOwners { owner assets { id display } } } }"""


def test_owner_links_name_their_assets(demo: ServiceProcess, page: Page) -> None:
    answer = demo.graphql(OWNER_LINKS)["accountability"]
    assert any(link["assets"] for f in answer.values() for link in f)
    page.goto(demo.url + "/#/owner/alice%40example.com")
    wait_view(page, "owner")
    for field, testid in (
        ("upstreamOwners", "owner-upstream-owners"),
        ("downstreamOwners", "owner-downstream-owners"),
    ):
        for link in answer[field]:
            item = page.locator(f"[data-testid={testid}] li[data-owner='{link['owner']}']")
            shown = item.locator("a.node-link").evaluate_all(
                "(as) => as.map((a) => [a.title, a.textContent])"
            )
            want = [(a["id"], a["display"]) for a in link["assets"][:3]]
            assert [tuple(s) for s in shown] == want
            assert '["' not in item.inner_text()


def labels_overlap(page: Page, graph: str) -> list[tuple[str, str]]:
    boxes = page.evaluate(
        """(name) => window.lkg.graphs[name].nodes().map((n) => {
             const b = n.boundingBox({ includeNodes: false, includeLabels: true });
             return [n.data('label'), b.x1, b.y1, b.x2, b.y2];
           })""",
        graph,
    )
    found = []
    for i, (a, ax1, ay1, ax2, ay2) in enumerate(boxes):
        for b, bx1, by1, bx2, by2 in boxes[i + 1 :]:
            if ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2:
                found.append((a, b))
    return found


def fan_out_event(width: int) -> dict[str, object]:
    outputs = [f"analytics.marts.customer_lifetime_value_by_region_{i:02d}" for i in range(width)]
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-02-01T00:00:00.000Z",
        "run": {"runId": "00000000-0000-4000-8000-000000000001"},
        "job": {"namespace": "airflow", "name": "marts.fan_out_with_a_rather_long_name"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders_raw"}],
        "outputs": [{"namespace": "postgres://db:5432", "name": n} for n in outputs],
        "producer": "https://example.com/lineage-kg/tests/browser",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def test_a_wide_fan_out_labels_apart_and_neighbours_paged(
    service_factory: Callable[..., ServiceProcess], page: Page, screenshot: Callable
) -> None:
    """One job writing 60 datasets: the impact graph's labels do not overlap, and the job's
    node page shows its first 50 downstream neighbours, then the rest on "Load more"."""
    service = service_factory().start()
    response = httpx.post(f"{service.url}/api/v1/lineage", json=fan_out_event(60), timeout=30)
    assert response.status_code < 300, response.text
    assert service.wait_projected()["lag"] == 0
    start = json.dumps(["Dataset", "postgres://db:5432", "shop.public.orders_raw"])
    start = start.replace(", ", ",")
    page.goto(f"{service.url}/#/impact/{quote(start, safe='')}")
    wait_view(page, "impact")
    page.wait_for_function("() => window.lkg.graphs.impact")
    assert page.evaluate("() => window.lkg.graphs.impact.nodes().length") >= 61
    assert labels_overlap(page, "impact") == []
    # the edges' kinds of a crowded fan are not drawn on top of each other
    drawn_edge_labels = page.evaluate(
        "() => window.lkg.graphs.impact.edges().filter((e) => e.style('label')).length"
    )
    assert drawn_edge_labels == 0
    screenshot("impact-wide-fan-out", full_page=False)

    job = json.dumps(["Job", "airflow", "marts.fan_out_with_a_rather_long_name"])
    job = job.replace(", ", ",")
    want = service.graphql(
        """query($ref: NodeRef!) { node(ref: $ref) {
            neighbors(direction: OUT, first: 500) { total edges { node { id } } } } }""",
        ref={"id": job},
    )["node"]["neighbors"]
    assert want["total"] == 60
    page.goto(f"{service.url}/#/node/{quote(job, safe='')}")
    wait_view(page, "node")
    assert len(rows(page, "node-downstream")) == 50
    page.click("[data-testid=node-downstream-more]")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=node-downstream] tr[data-node-id]')"
        ".length === 60"
    )
    assert rows(page, "node-downstream") == [e["node"]["id"] for e in want["edges"]]
    assert page.locator("[data-testid=node-downstream-more]").is_hidden()
