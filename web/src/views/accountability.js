// Accountability map: what an owner or team answers for — owned assets, the KPIs depending on
// them, the owners upstream and downstream — with the gaps highlighted.
import { ACCOUNTABILITY, eventUrl, gql } from "../api.js";
import { eventLinks, fill, h, kindBadge, link, nodeLink, table } from "../dom.js";
import { draw } from "../graph.js";
import { entryForm } from "./home.js";

export async function showAccountability(main, ownerId, current) {
  const form = entryForm({ id: "owner-id", label: "Owner or team", placeholder: "alice@example.com or team:…", route: link.owner, value: ownerId });
  if (!ownerId) {
    fill(main, h("h1", {}, "Accountability map"), h("p", {}, "Pick an owner or a team."), form);
    return;
  }
  const { accountability: a } = await gql(ACCOUNTABILITY, { ownerId });
  if (!current()) return;
  const gapIds = new Set(a.gaps.map((g) => g.asset.id));
  const graphBox = h("div", { class: "graph medium", "data-testid": "owner-graph" });
  const ownerRef = (o) => h("a", { href: link.owner(o) }, o);
  const related = (list, testid) =>
    table(["Kind", "Node", "Distance", "Certainty", "Owners"],
      list.map((r) => h("tr", { "data-node-id": r.node.id, class: gapIds.has(r.node.id) ? "gap" : "" },
        h("td", {}, kindBadge(r.node.kind)), h("td", {}, nodeLink(r.node)), h("td", {}, r.distance),
        h("td", {}, r.certainty), h("td", {}, r.owners.length ? r.owners.map((o) => [ownerRef(o), " "]) : h("span", { class: "gap" }, "none")))),
      { "data-testid": testid });
  const ownerLinks = (list, testid) =>
    h("ul", { "data-testid": testid }, list.map((l) => h("li", { "data-owner": l.owner, class: l.left ? "gap" : "" },
      ownerRef(l.owner), l.left ? " (left)" : "", " — through ", throughAssets(l.assets))));

  fill(
    main,
    h("h1", {}, "Accountability: ", h("span", { "data-testid": "owner-title" }, a.owner.display)),
    form,
    h("p", {}, a.teams.length ? ["member of ", a.teams.map((t) => [ownerRef(t), " "])] : null,
      a.members.length ? [" · members: ", a.members.map((m) => [ownerRef(m), " "])] : null),
    a.truncated ? h("p", { class: "gap" }, "The walk hit its size cap: the map is partial.") : null,
    h("section", { class: a.gaps.length ? "gaps" : "gaps none", "data-testid": "owner-gaps" },
      h("h2", {}, a.gaps.length ? `Gaps (${a.gaps.length})` : "No gaps"),
      a.gaps.length ? table(["Gap", "Asset", "Related", "Detail", "Evidence"],
        a.gaps.map((g) => h("tr", { class: "gap", "data-node-id": g.asset.id },
          h("td", {}, g.kind), h("td", {}, kindBadge(g.asset.kind), " ", nodeLink(g.asset)),
          h("td", {}, g.related ? nodeLink(g.related) : ""), h("td", {}, g.detail),
          h("td", {}, eventLinks(g.evidence, eventUrl))))) : null),
    graphBox,
    h("div", { class: "columns" },
      h("section", {},
        h("h2", {}, `Owns (${a.owned.length})`),
        table(["Kind", "Asset", "Type", "Via"], a.owned.map((o) => h("tr", { "data-node-id": o.node.id, class: gapIds.has(o.node.id) ? "gap" : "" },
          h("td", {}, kindBadge(o.node.kind)), h("td", {}, nodeLink(o.node)), h("td", {}, o.ownershipType), h("td", {}, o.via))),
          { "data-testid": "owner-owned" }),
        h("h2", {}, `KPIs depending on it (${a.kpis.length})`), related(a.kpis, "owner-kpis"),
        h("h2", {}, "Upstream owners"), ownerLinks(a.upstreamOwners, "owner-upstream-owners"),
        h("h2", {}, "Downstream owners"), ownerLinks(a.downstreamOwners, "owner-downstream-owners")),
      h("section", {},
        h("h2", {}, `Upstream (${a.upstream.length})`), related(a.upstream, "owner-upstream"),
        h("h2", {}, `Downstream (${a.downstream.length})`), related(a.downstream, "owner-downstream"))),
  );

  // the map: upstream owners → this owner → owned assets → KPIs; this owner → downstream owners
  const nodes = new Map();
  const edges = [];
  const add = (col, id, label, kind, classes = "") => {
    if (!nodes.has(id)) nodes.set(id, { id, label, kind, classes, col });
    return id;
  };
  const me = add(1, a.owner.id, a.owner.display, "Owner", "start");
  const ownerNode = (col, o) => add(col, `owner:${o}`, o, "Owner");
  for (const l of a.upstreamOwners) edges.push({ source: ownerNode(0, l.owner), target: me, label: `feeds ${l.assets.length}`, classes: l.left ? "gap" : "exact" });
  for (const o of a.owned) edges.push({ source: me, target: add(2, o.node.id, o.node.display, o.node.kind), label: o.ownershipType, classes: "exact" });
  for (const k of a.kpis) edges.push({ source: me, target: add(3, k.node.id, k.node.display, k.node.kind), label: `KPI, ${k.distance} away`, classes: k.certainty });
  for (const l of a.downstreamOwners) edges.push({ source: me, target: ownerNode(4, l.owner), label: `feeds ${l.assets.length}`, classes: l.left ? "gap" : "exact" });
  for (const g of a.gaps) {
    if (!nodes.has(g.asset.id)) edges.push({ source: me, target: add(3, g.asset.id, g.asset.display, g.asset.kind), label: g.kind, classes: "gap" });
    nodes.get(g.asset.id).classes += " gap";
  }
  window.lkg.graphs.owner = await draw(graphBox, {
    nodes: [...nodes.values()],
    edges,
    onSelect: (data) => (location.hash = data.id.startsWith("owner:") ? link.owner(data.id.slice(6)) : link.node(data.id)),
  });
}

/** The assets an owner link runs through: the first few as links, then how many more. */
function throughAssets(assets, shown = 3) {
  const links = assets.slice(0, shown).map((n, i) => [i ? ", " : "", nodeLink(n)]);
  return h("span", { class: "through", "data-testid": "link-assets" }, links, assets.length > shown ? ` +${assets.length - shown} more` : "");
}
