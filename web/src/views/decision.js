// Decision trace for auditors: decision → model version → training run → dataset versions →
// sources (and the features it used), each step with its time, resolution and evidence.
import { DECISION_TRACE, eventUrl, gql } from "../api.js";
import { eventLinks, fill, h, kindBadge, link, nodeLink, table } from "../dom.js";
import { draw } from "../graph.js";
import { entryForm } from "./home.js";

export async function showDecisionTrace(main, decisionId, current) {
  const form = entryForm({ id: "decision-id", label: "Decision id", placeholder: "paste a decision id", route: link.decision, value: decisionId });
  if (!decisionId) {
    fill(main, h("h1", {}, "Decision trace"), h("p", {}, "Paste a decision id to see the chain that made it."), form);
    return;
  }
  let answer;
  try {
    answer = await gql(DECISION_TRACE, { ref: { kind: "Decision", decisionId }, id: decisionId });
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    // the id as the user typed it, and the box to try another: never the internal node id
    if (current()) fill(main, h("h1", {}, "Decision trace"), form, notFound(decisionId, error.extensions.suggestions));
    return;
  }
  if (!current()) return;
  const { decisionLineage: trace, decision } = answer;
  const steps = [trace.decision, ...trace.modelVersions, ...trace.data, ...trace.features].filter(Boolean);
  const sources = new Set(trace.sources);
  const graphBox = h("div", { class: "graph medium", "data-testid": "trace-graph" });

  fill(
    main,
    h("h1", {}, "Decision trace: ", h("span", { "data-testid": "trace-title" }, trace.start.display)),
    form,
    decision ? loggedDecision(decision) : null,
    trace.truncated ? h("p", { class: "gap" }, "The walk hit its depth or size cap: the chain is partial.") : null,
    graphBox,
    h("h2", {}, "The chain"),
    table(
      ["Step", "Node", "Time", "Resolution", "Reached by", "Owners", "Evidence", "Detail"],
      steps.map((s) =>
        h("tr", { "data-node-id": s.node.id, "data-step": s.kind, class: sources.has(s.node.id) ? "source" : "" },
          h("td", {}, s.kind.replaceAll("_", " "), sources.has(s.node.id) ? h("span", { class: "badge source" }, "source") : null),
          h("td", {}, kindBadge(s.node.kind), " ", nodeLink(s.node)),
          h("td", { class: "time" }, s.time ?? "—"),
          h("td", { class: s.resolution === "observed" ? "" : "gap" }, s.resolution),
          h("td", {}, s.edge ? `${s.edge}` : ""),
          h("td", {}, s.owners.map((o) => h("a", { href: link.owner(o) }, o, " "))),
          h("td", {}, eventLinks(s.evidence, eventUrl)),
          h("td", {}, s.detail)),
      ),
      { "data-testid": "trace-steps" },
    ),
  );
  const drawnIds = new Set(steps.map((s) => s.node.id));
  window.lkg.graphs.trace = await draw(graphBox, {
    nodes: steps.map((s) => ({
      id: s.node.id,
      label: s.node.display,
      kind: s.node.kind,
      col: s.distance,
      classes: [sources.has(s.node.id) ? "source" : "", s.kind === "decision" ? "start" : "", s.resolution === "observed" ? "" : "possible"].join(" ").trim(),
    })),
    edges: steps
      .filter((s) => s.via && drawnIds.has(s.via))
      .map((s) => ({ source: s.via, target: s.node.id, label: s.edge ?? "", classes: s.resolution === "observed" ? "exact" : "possible" })),
    roots: [trace.start.id],
    onSelect: (data) => (location.hash = link.node(data.id)),
  });
}

function loggedDecision(d) {
  const version = d.version ?? (d.alias ? `alias ${d.alias}` : "not named");
  return h("div", { class: "card", "data-testid": "trace-decision" },
    h("h3", {}, "As logged"),
    h("p", {}, `${d.timestamp} · ${d.decisionPoint} · ${d.registry}/${d.model} (${version}) · made by: ${d.madeBy.resolution}`),
    h("p", {}, "outcome: ", h("code", {}, JSON.stringify(d.outcome)), " · batch event: ", eventLinks([d.eventId], eventUrl)));
}

function notFound(decisionId, suggestions = []) {
  const names = (suggestions ?? []).map((s) => (typeof s === "string" ? s : s?.display ?? s?.name)).filter(Boolean);
  return h("div", { class: "error", role: "alert", "data-testid": "trace-not-found" },
    h("p", {}, "No decision ", h("code", {}, decisionId), " is known: not in the graph, nor in the decisions logged."),
    names.length ? h("p", {}, "Did you mean: ", names.map((n, i) => [i ? ", " : "", h("a", { href: link.decision(n) }, n)])) : null);
}
