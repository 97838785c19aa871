// The page: a hash router over six views, all fed by the public GraphQL API.
import "./style.css";
import { apiKey } from "./api.js";
import { errorBox, fill, h } from "./dom.js";
import { showAccountability } from "./views/accountability.js";
import { showDecisionTrace } from "./views/decision.js";
import { showGovernance } from "./views/governance.js";
import { showHome } from "./views/home.js";
import { showImpact } from "./views/impact.js";
import { showNode } from "./views/node.js";
import { showSearch } from "./views/search.js";

// What the browser tests (and the curious) can inspect: the drawn graphs and their timings.
window.lkg = { graphs: {}, timings: {}, state: {} };

const ROUTES = {
  "": showHome,
  search: showSearch,
  node: showNode,
  impact: showImpact,
  decision: showDecisionTrace,
  owner: showAccountability,
  governance: showGovernance,
};

let generation = 0;

async function route() {
  const [name = "", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
  const view = ROUTES[name] ?? showHome;
  const main = document.getElementById("main");
  const mine = ++generation;
  for (const cy of Object.values(window.lkg.graphs)) cy.destroy();
  window.lkg.graphs = {};
  window.lkg.state = {};
  document.body.dataset.view = name || "home";
  document.body.dataset.ready = "false";
  fill(main, h("p", { class: "muted" }, "Loading…"));
  try {
    // a view only fills `main` while it is still the latest navigation
    await view(main, arg, () => mine === generation);
  } catch (error) {
    if (mine === generation) fill(main, errorBox(error), error.status === 401 || error.status === 403 ? keyForm() : null);
  }
  if (mine === generation) document.body.dataset.ready = "true";
}

/** The service wants an API key: ask for one (a read key is enough) and try again. */
function keyForm() {
  const input = h("input", { type: "password", size: 40, "aria-label": "API key", "data-testid": "api-key" });
  return h(
    "form",
    { class: "entry", onsubmit: (event) => { event.preventDefault(); apiKey.set(input.value.trim()); route(); } },
    h("label", {}, "This service needs an API key (a read key is enough): "),
    input,
    h("button", { type: "submit" }, "Use key"),
  );
}

document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = document.getElementById("search-input").value.trim();
  if (text) location.hash = `#/search/${encodeURIComponent(text)}`;
});
window.addEventListener("hashchange", route);
route();
