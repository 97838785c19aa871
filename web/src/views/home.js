// Start page: what the graph holds, and a way into each of the three questions.
import { gql } from "../api.js";
import { fill, h, kindBadge, link } from "../dom.js";

const STATS = `{ stats { nodeCount edgeCount nodes { kind count } } store version }`;

/** A one-field form that navigates to `route(value)`. */
export function entryForm({ id, label, placeholder, route, value = "" }) {
  const input = h("input", { id, type: "text", placeholder, value, "data-testid": id, size: 48 });
  return h(
    "form",
    {
      class: "entry",
      onsubmit: (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (text) location.hash = route(text);
      },
    },
    h("label", { for: id }, label),
    input,
    h("button", { type: "submit", "data-testid": `${id}-go` }, "Open"),
  );
}

export async function showHome(main, _arg, current) {
  const { stats, store, version } = await gql(STATS);
  if (!current()) return;
  fill(
    main,
    h("h1", {}, "Lineage and metadata knowledge graph"),
    h(
      "p",
      { class: "muted" },
      `${stats.nodeCount} nodes, ${stats.edgeCount} edges · ${store} · lineage-kg ${version}`,
    ),
    h("div", { class: "kinds" }, stats.nodes.map((k) => h("span", {}, kindBadge(k.kind), ` ${k.count}`))),
    h(
      "div",
      { class: "cards" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Impact explorer"),
        h("p", {}, "What breaks downstream if this column or dataset changes, and whom to warn?"),
        h("a", { href: "#/impact" }, "Pick a column or dataset →"),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Decision trace"),
        h("p", {}, "Which model, training run and data made this decision?"),
        entryForm({ id: "home-decision", label: "Decision id", placeholder: "loan-42", route: link.decision }),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Accountability map"),
        h("p", {}, "What does this owner or team answer for, and where are the gaps?"),
        entryForm({ id: "home-owner", label: "Owner or team", placeholder: "alice@example.com", route: link.owner }),
      ),
    ),
  );
}
