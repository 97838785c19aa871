// Governance: the policy's violations over the graph, as the service evaluates them — filtered by
// severity, asOf a date, keyset-paged with the connection's cursor. Every value shown is the
// GraphQL answer's; the view keeps its arguments in the route so a page can be linked and reloaded.
import { GOVERNANCE, eventUrl, gql } from "../api.js";
import { eventLinks, fill, h, kindBadge, link, nodeLink, table } from "../dom.js";

const SEVERITIES = ["error", "warning", "info"];
const PAGE = 50;

/** The route's arguments: severity, asOf, first, after (URLSearchParams in the hash; unset: null). */
function parse(arg) {
  const params = new URLSearchParams(arg);
  const first = Number.parseInt(params.get("first") ?? "", 10);
  return {
    severity: params.get("severity") || null,
    asOf: params.get("asOf") || null,
    first: Number.isInteger(first) && first > 0 ? first : null,
    after: params.get("after") || null,
  };
}

export async function showGovernance(main, arg, current) {
  const args = parse(arg);
  const { governance: g } = await gql(GOVERNANCE, { ...args, first: args.first ?? PAGE });
  if (!current()) return;
  const go = (changes) => (location.hash = link.governance({ ...args, after: null, ...changes }));

  const severity = h("select", { id: "gov-severity", "data-testid": "gov-severity", onchange: (e) => go({ severity: e.target.value || null }) },
    h("option", { value: "" }, "all"),
    SEVERITIES.map((s) => h("option", { value: s, selected: s === args.severity }, `${s} and above`)));
  const asOf = h("input", { id: "gov-as-of", type: "date", value: args.asOf?.slice(0, 10) ?? "", "data-testid": "gov-as-of" });
  const filters = h("form", { class: "entry", onsubmit: (e) => { e.preventDefault(); go({ asOf: asOf.value || null }); } },
    h("label", { for: "gov-severity" }, "Severity"), severity,
    h("label", { for: "gov-as-of" }, "As of"), asOf,
    h("button", { type: "submit", "data-testid": "gov-as-of-go" }, "Evaluate"),
    args.asOf ? h("a", { href: link.governance({ ...args, asOf: null, after: null }), "data-testid": "gov-now" }, "now") : null);

  const rows = g.violations.map((v) =>
    h("tr", { class: `severity-${v.severity}`, "data-node-id": v.subject.id, "data-rule": v.rule, "data-severity": v.severity },
      h("td", { class: "rule" }, v.rule),
      // the word itself, not only its colour
      h("td", {}, h("span", { class: `badge severity-${v.severity}` }, v.severity)),
      h("td", {}, kindBadge(v.subject.kind), " ", nodeLink(v.subject)),
      h("td", {}, v.related ? nodeLink(v.related) : ""),
      h("td", { class: "path" }, v.path.map((n, i) => [i ? " → " : "", nodeLink(n)])),
      h("td", {}, v.since ?? ""),
      h("td", {}, v.detail),
      h("td", {}, eventLinks(v.evidence, eventUrl))));

  fill(
    main,
    h("h1", {}, "Governance"),
    h("p", { class: "muted", "data-testid": "gov-summary" },
      `${g.total} violation(s) · evaluated at ${g.evaluatedAt} · ${g.policy} · rules: ${g.rules.join(", ")}`),
    filters,
    g.truncated
      ? h("p", { class: "gap", role: "status", "data-testid": "gov-truncated" },
          "A walk stopped at its node bound or a decision trace at its depth: violations beyond it may be missing.")
      : null,
    g.violations.length
      ? table(["Rule", "Severity", "Subject", "Related", "Path", "Since", "Detail", "Evidence"], rows, { "data-testid": "gov-violations" })
      : h("section", { class: "gaps none", "data-testid": "gov-empty" }, h("h2", {}, "No violations")),
    h("p", { class: "toolbar" },
      args.after ? h("a", { href: link.governance({ ...args, after: null }), "data-testid": "gov-first" }, "← first page") : null,
      g.pageInfo.hasNextPage
        ? h("a", { href: link.governance({ ...args, after: g.pageInfo.endCursor }), "data-testid": "gov-next" }, "next page →")
        : null),
  );
}
