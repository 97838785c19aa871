// Search any node by name: each hit links to its node page and the views it offers.
import { gql, SEARCH } from "../api.js";
import { fill, h, kindBadge, nodeActions, nodeLink, table } from "../dom.js";

export async function showSearch(main, text, current) {
  document.getElementById("search-input").value = text;
  const { search } = await gql(SEARCH, { text, kinds: null, limit: 100 });
  if (!current()) return;
  fill(
    main,
    h("h1", {}, `Search: “${text}”`),
    search.length
      ? table(
          ["Kind", "Node", "Open"],
          search.map((node) =>
            h(
              "tr",
              { "data-node-id": node.id },
              h("td", {}, kindBadge(node.kind)),
              h("td", {}, nodeLink(node)),
              h("td", {}, nodeActions(node)),
            ),
          ),
          { "data-testid": "search-results" },
        )
      : h("p", { "data-testid": "search-results" }, "Nothing matches."),
    search.length === 100 ? h("p", { class: "muted" }, "First 100 hits: refine the text.") : null,
  );
}
