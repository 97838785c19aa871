// A node page: identity, props, provenance, its direct neighbours each way (Node.neighbors),
// its owners (Node.owners) and its audit trail.
import { AUDIT, eventUrl, gql, NEIGHBOUR_PAGE, NEIGHBOURS_MORE, NODE_PAGE } from "../api.js";
import { eventLinks, fill, h, kindBadge, link, nodeActions, nodeLink, table } from "../dom.js";
import { draw } from "../graph.js";

const AUDIT_PAGE = 50;

export async function showNode(main, id, current) {
  const ref = { id };
  const [{ node }, first] = await Promise.all([
    gql(NODE_PAGE, { ref, first: NEIGHBOUR_PAGE }),
    gql(AUDIT, { ref, first: AUDIT_PAGE, after: null }),
  ]);
  if (!current()) return;
  if (!node) {
    fill(main, h("p", { class: "error", "data-testid": "error" }, `No node ${id}`));
    return;
  }
  const audit = first.auditTrail;
  const graphBox = h("div", { class: "graph small", "data-testid": "node-graph" });
  const auditBody = h("tbody");
  const more = h("button", { "data-testid": "audit-more" }, "Load more history");
  let cursor = audit.pageInfo.endCursor;

  const addEntries = (entries, pageInfo) => {
    for (const e of entries) {
      auditBody.append(
        h(
          "tr",
          {},
          h("td", {}, e.time),
          h("td", {}, e.type),
          h("td", {}, e.summary),
          h("td", {}, e.source),
          h("td", {}, eventLinks([e.eventId], eventUrl)),
        ),
      );
    }
    cursor = pageInfo.endCursor;
    more.hidden = !pageInfo.hasNextPage;
  };
  more.addEventListener("click", async () => {
    const { auditTrail } = await gql(AUDIT, { ref, first: AUDIT_PAGE, after: cursor });
    addEntries(auditTrail.entries, auditTrail.pageInfo);
  });
  addEntries(audit.entries, audit.pageInfo);

  const owners = h(
    "ul",
    { "data-testid": "node-owners" },
    node.owners.map((o) => h("li", { "data-owner": o }, h("a", { href: link.owner(o) }, o))),
    node.kind === "Owner" ? h("li", {}, h("a", { href: link.owner(node.key.owner_id) }, "this owner's accountability map")) : null,
  );
  const downstream = neighbourList(ref, "OUT", node.downstream, "node-downstream");
  const upstream = neighbourList(ref, "IN", node.upstream, "node-upstream");

  fill(
    main,
    h("h1", { "data-testid": "node-title" }, kindBadge(node.kind), " ", node.display),
    h("p", { class: "actions" }, nodeActions(node)),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        {},
        h("h2", {}, "Identity and properties"),
        table(
          ["Field", "Value"],
          [
            ...Object.entries(node.key).map(([k, v]) => row(k, v)),
            ...Object.entries(node.props).map(([k, v]) => row(k, Array.isArray(v) ? v.join(", ") : v)),
            row("sources", node.sources.join(", ")),
            row("first seen", node.firstSeen, eventLinks([node.firstEvent], eventUrl)),
            row("last seen", node.lastSeen, eventLinks([node.lastEvent], eventUrl)),
          ],
          { "data-testid": "node-props" },
        ),
        h("h2", {}, "Owners"),
        owners,
        node.owners.length || node.kind === "Owner" ? null : h("p", { class: "muted", "data-testid": "node-unowned" }, "Nobody owns this node."),
      ),
      h(
        "section",
        {},
        h("h2", {}, `Downstream neighbours (${node.downstream.total})`),
        h("p", { class: "muted" }, "Edges leaving this node."),
        graphBox,
        downstream.element,
        h("h2", {}, `Upstream neighbours (${node.upstream.total})`),
        h("p", { class: "muted" }, "Edges entering this node (its owners' OWNS edges among them)."),
        upstream.element,
      ),
    ),
    h("h2", {}, "Audit trail"),
    table(["Time", "Type", "Summary", "Source", "Event"], [], { "data-testid": "audit-trail" }),
    more,
  );
  main.querySelector("[data-testid=audit-trail] tbody").replaceWith(auditBody);
  if (!auditBody.children.length)
    auditBody.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No recorded history.")));

  // the first page each way: upstream on the left, downstream on the right
  const shown = new Map([[node.id, { id: node.id, label: node.display, kind: node.kind, classes: "start", col: 1 }]]);
  for (const [side, col] of [[node.upstream, 0], [node.downstream, 2]])
    for (const e of side.edges) if (!shown.has(e.node.id)) shown.set(e.node.id, { id: e.node.id, label: e.node.display, kind: e.node.kind, col });
  const edges = [
    ...node.downstream.edges.map((e) => ({ source: node.id, target: e.node.id, label: e.edge })),
    ...node.upstream.edges.map((e) => ({ source: e.node.id, target: node.id, label: e.edge })),
  ].filter((e) => e.source !== e.target);
  window.lkg.graphs.node = await draw(graphBox, {
    nodes: [...shown.values()],
    edges,
    roots: [node.id],
    onSelect: (data) => (location.hash = link.node(data.id)),
  });
}

/** A table of one way's neighbours, with a button for the next page while there is one. */
function neighbourList(ref, direction, first, testid) {
  const body = h("tbody");
  const more = h("button", { "data-testid": `${testid}-more` }, "Load more neighbours");
  let after = null;
  const add = (page) => {
    for (const e of page.edges)
      body.append(
        h(
          "tr",
          { "data-node-id": e.node.id, "data-edge": e.edge },
          h("td", {}, kindBadge(e.node.kind)),
          h("td", {}, nodeLink(e.node)),
          h("td", {}, e.edge),
          h("td", {}, e.node.owners.map((o) => [h("a", { href: link.owner(o) }, o), " "])),
        ),
      );
    after = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
  };
  more.addEventListener("click", async () => {
    const { node } = await gql(NEIGHBOURS_MORE, { ref, direction, first: 50, after });
    add(node.neighbors);
  });
  add(first);
  const element = [table(["Kind", "Node", "Edge", "Owners"], [], { "data-testid": testid }), more];
  element[0].querySelector("tbody").replaceWith(body);
  if (!first.edges.length) body.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "None.")));
  return { element };
}

const row = (k, ...v) => h("tr", {}, h("th", {}, k), h("td", {}, v));
