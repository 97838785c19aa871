// A node page: identity, props, provenance, neighbours downstream, owners and audit trail.
import { AUDIT, eventUrl, gql, NODE_PAGE } from "../api.js";
import { eventLinks, fill, h, kindBadge, link, nodeActions, nodeLink, table } from "../dom.js";
import { draw } from "../graph.js";

const AUDIT_PAGE = 50;

export async function showNode(main, id, current) {
  const ref = { id };
  const [{ node, impact }, first] = await Promise.all([
    gql(NODE_PAGE, { ref }),
    gql(AUDIT, { ref, first: AUDIT_PAGE, after: null }),
  ]);
  if (!current()) return;
  if (!node) {
    fill(main, h("p", { class: "error", "data-testid": "error" }, `No node ${id}`));
    return;
  }
  const downstream = impact.edges.map((e) => e.node);
  const audit = first.auditTrail;
  const graphBox = h("div", { class: "graph small", "data-testid": "node-graph" });
  const auditBody = h("tbody");
  const more = h("button", { "data-testid": "audit-more" }, "Load more history");
  const owners = h("ul", { "data-testid": "node-owners" });
  const linked = h("ul", { "data-testid": "node-history-links" });
  const seenOwners = new Set();
  const seenLinks = new Set();
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
      if (!e.otherNodeId) continue;
      const other = parseId(e.otherNodeId);
      if (e.type === "OWNERSHIP" && other.kind === "Owner" && !seenOwners.has(e.otherNodeId)) {
        seenOwners.add(e.otherNodeId);
        owners.append(h("li", {}, h("a", { href: link.owner(other.parts[0]) }, other.parts[0])));
      } else if (!seenLinks.has(e.otherNodeId)) {
        seenLinks.add(e.otherNodeId);
        linked.append(
          h("li", {}, kindBadge(other.kind), " ", e.edgeKind ?? e.type, " ",
            h("a", { href: link.node(e.otherNodeId) }, other.parts.join(" / "))),
        );
      }
    }
    cursor = pageInfo.endCursor;
    more.hidden = !pageInfo.hasNextPage;
  };
  more.addEventListener("click", async () => {
    const { auditTrail } = await gql(AUDIT, { ref, first: AUDIT_PAGE, after: cursor });
    addEntries(auditTrail.entries, auditTrail.pageInfo);
  });
  addEntries(audit.entries, audit.pageInfo);
  if (node.kind === "Owner")
    owners.append(h("li", {}, h("a", { href: link.owner(node.key.owner_id) }, "this owner's accountability map")));

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
        seenOwners.size || node.kind === "Owner"
          ? null
          : h("p", { class: "muted" }, "No ownership in this node's history."),
      ),
      h(
        "section",
        {},
        h("h2", {}, `Downstream neighbours (${impact.summary.total})`),
        graphBox,
        table(
          ["Kind", "Node", "Edge", "Certainty", "Owners"],
          downstream.map((item) =>
            h(
              "tr",
              { "data-node-id": item.node.id },
              h("td", {}, kindBadge(item.node.kind)),
              h("td", {}, nodeLink(item.node)),
              h("td", {}, item.path.at(-1)?.kind ?? ""),
              h("td", {}, item.certainty),
              h("td", {}, item.owners.map((o) => h("a", { href: link.owner(o) }, o, " "))),
            ),
          ),
          { "data-testid": "node-downstream" },
        ),
        h("h2", {}, "Linked in its history"),
        h(
          "p",
          { class: "muted" },
          "Upstream neighbours as the audit trail names them (the API has no direct neighbours query).",
        ),
        linked,
      ),
    ),
    h("h2", {}, "Audit trail"),
    table(["Time", "Type", "Summary", "Source", "Event"], [], { "data-testid": "audit-trail" }),
    more,
  );
  main.querySelector("[data-testid=audit-trail] tbody").replaceWith(auditBody);
  if (!auditBody.children.length)
    auditBody.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No recorded history.")));

  const nodes = [
    { id: node.id, label: node.display, kind: node.kind, classes: "start", col: 0 },
    ...downstream.map((i) => ({ id: i.node.id, label: i.node.display, kind: i.node.kind, classes: i.certainty, col: 1 })),
  ];
  const edges = downstream.map((i) => ({
    source: node.id,
    target: i.node.id,
    label: i.path.at(-1)?.kind ?? "",
    classes: i.certainty,
  }));
  window.lkg.graphs.node = await draw(graphBox, {
    nodes,
    edges,
    roots: [node.id],
    onSelect: (data) => (location.hash = link.node(data.id)),
  });
}

const row = (k, ...v) => h("tr", {}, h("th", {}, k), h("td", {}, v));

/** A node id is the JSON array [kind, ...identity fields]. */
export function parseId(id) {
  try {
    const [kind, ...parts] = JSON.parse(id);
    return { kind, parts };
  } catch {
    return { kind: "?", parts: [id] };
  }
}
