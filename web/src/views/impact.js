// Impact explorer: everything downstream of a column or dataset, drawn by kind and certainty,
// paged from the GraphQL connection, collapsible by kind or by dataset, exportable as CSV/JSON.
import { gql, IMPACT, SEARCH } from "../api.js";
import { errorBox, fill, h, kindBadge, link, nodeLink, table } from "../dom.js";
import { KIND_COLOURS, draw } from "../graph.js";
import { download, impactCsv, impactJson } from "../export.js";
import { collapse } from "../collapse.js";

const PAGE_SIZES = [100, 500, 1000];
const COSE_LIMIT = 400;
const TABLE_ROWS = 300; // the table shows this many rows; the graph and the exports hold all

export async function showImpact(main, id, current) {
  if (!id) return showPicker(main, current);
  const state = {
    ref: { id },
    depth: 10,
    exactOnly: false,
    pageSize: 500,
    collapse: "none",
    layout: "layered",
    start: null,
    summary: null,
    items: [],
    pageInfo: { hasNextPage: true, endCursor: null },
  };
  window.lkg.state.impact = state;

  const status = h("p", { class: "status", "data-testid": "impact-status" });
  const summaryBox = h("div", { class: "summary", "data-testid": "impact-summary" });
  const graphBox = h("div", { class: "graph large", "data-testid": "impact-graph" });
  const tableBox = h("div", { "data-testid": "impact-table" });
  const detail = h("div", { class: "detail", "data-testid": "impact-detail" });
  const nextButton = h("button", { "data-testid": "impact-next" }, "Load next page");
  const allButton = h("button", { "data-testid": "impact-all" }, "Load all");
  const collapseSelect = h(
    "select",
    { "data-testid": "impact-collapse", "aria-label": "Collapse" },
    h("option", { value: "none" }, "no collapsing"),
    h("option", { value: "kind" }, "collapse by kind"),
    h("option", { value: "dataset" }, "collapse by dataset"),
  );
  const layoutSelect = h(
    "select",
    { "data-testid": "impact-layout", "aria-label": "Layout" },
    h("option", { value: "layered" }, "layered layout"),
    h("option", { value: "breadthfirst" }, "breadthfirst layout"),
    h("option", { value: "cose" }, "force layout (cose, small graphs)"),
  );
  const pageSelect = h(
    "select",
    { "data-testid": "impact-page-size", "aria-label": "Page size" },
    PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.pageSize }, `${n} per page`)),
  );
  const exactBox = h("input", { type: "checkbox", id: "exact-only", "data-testid": "impact-exact" });
  const depthInput = h("input", { type: "number", min: 1, max: 50, value: state.depth, id: "depth", "data-testid": "impact-depth" });
  const csvButton = h("button", { "data-testid": "export-csv" }, "Export CSV");
  const jsonButton = h("button", { "data-testid": "export-json" }, "Export JSON");

  const busy = async (work) => {
    const buttons = [nextButton, allButton, csvButton, jsonButton];
    buttons.forEach((b) => (b.disabled = true));
    try {
      await work();
    } catch (error) {
      status.replaceChildren(errorBox(error));
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      nextButton.disabled = allButton.disabled = !state.pageInfo.hasNextPage;
    }
  };

  const loadPage = async (size = state.pageSize) => {
    const t0 = performance.now();
    const { impact } = await gql(IMPACT, {
      ref: state.ref,
      depth: state.depth,
      exactOnly: state.exactOnly,
      first: size,
      after: state.pageInfo.endCursor,
    });
    window.lkg.timings.lastPageMs = performance.now() - t0;
    state.start = impact.start;
    state.summary = impact.summary;
    state.items.push(...impact.edges.map((e) => e.node));
    state.pageInfo = impact.pageInfo;
  };
  const loadAll = async () => {
    const t0 = performance.now();
    while (state.pageInfo.hasNextPage) {
      status.textContent = `Loading… ${state.items.length} of ${state.summary?.total ?? "?"} nodes`;
      await loadPage(1000);
    }
    window.lkg.timings.loadAllMs = performance.now() - t0;
  };
  const reset = () => {
    state.items = [];
    state.pageInfo = { hasNextPage: true, endCursor: null };
  };

  const render = async () => {
    if (!current()) return;
    const { start, summary, items } = state;
    status.textContent = `Showing ${items.length} of ${summary.total} downstream nodes` +
      (summary.truncated ? " (the walk hit its size cap: the answer is partial)" : "") +
      (state.pageInfo.hasNextPage ? " — more pages to load." : ".");
    const t0 = performance.now();
    const phases = {};
    fill(summaryBox, summaryView(summary));
    fill(tableBox, itemsTable(items));
    phases.tablesMs = Math.round(performance.now() - t0);
    window.lkg.graphs.impact?.destroy();
    delete window.lkg.graphs.impact;
    phases.destroyMs = Math.round(performance.now() - t0) - phases.tablesMs;
    const { nodes, edges } = collapse(start, items, state.collapse);
    phases.collapseMs = Math.round(performance.now() - t0) - phases.tablesMs - phases.destroyMs;
    const cy = await draw(graphBox, {
      nodes,
      edges,
      roots: [start.id],
      // a force layout iterates over all pairs: past a few hundred nodes it would freeze the tab
      layout: state.layout === "cose" && nodes.length > COSE_LIMIT ? "layered" : state.layout,
      onSelect: (data) => fill(detail, nodeDetail(data)),
      timings: phases,
    });
    if (!current()) return;
    window.lkg.graphs.impact = cy;
    window.lkg.timings.impactRenderMs = performance.now() - t0;
    window.lkg.timings.impactDrawn = nodes.length;
    window.lkg.timings.impactPhases = phases;
    graphBox.dataset.drawn = String(nodes.length);
  };

  nextButton.addEventListener("click", () => busy(async () => { await loadPage(); await render(); }));
  allButton.addEventListener("click", () => busy(async () => { await loadAll(); await render(); }));
  layoutSelect.addEventListener("change", () => busy(async () => { state.layout = layoutSelect.value; await render(); }));
  collapseSelect.addEventListener("change", () => busy(async () => { state.collapse = collapseSelect.value; await render(); }));
  pageSelect.addEventListener("change", () => (state.pageSize = Number(pageSelect.value)));
  const requery = () => busy(async () => {
    state.exactOnly = exactBox.checked;
    state.depth = Number(depthInput.value) || 10;
    reset();
    await loadPage();
    await render();
  });
  exactBox.addEventListener("change", requery);
  depthInput.addEventListener("change", requery);
  const exporter = (format) => () => busy(async () => {
    await loadAll(); // the export is the whole answer, not the pages drawn so far
    await render();
    const name = `impact-${slug(state.start.display)}`;
    if (format === "csv") download(`${name}.csv`, "text/csv", impactCsv(state));
    else download(`${name}.json`, "application/json", impactJson(state));
  });
  csvButton.addEventListener("click", exporter("csv"));
  jsonButton.addEventListener("click", exporter("json"));

  await loadPage();
  if (!current()) return;
  fill(
    main,
    h("h1", {}, "Impact of ", kindBadge(state.start.kind), " ", nodeLink(state.start)),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "depth" }, "depth "), depthInput,
      h("label", {}, exactBox, " exact only"),
      pageSelect, nextButton, allButton, collapseSelect, layoutSelect, csvButton, jsonButton,
    ),
    status,
    h("div", { class: "columns wide-left" }, h("div", {}, graphBox, legend()), h("div", {}, summaryBox, detail)),
    h("h2", {}, "Downstream nodes"),
    tableBox,
  );
  await busy(render);
}

async function showPicker(main, current) {
  const results = h("div", { "data-testid": "impact-picker-results" });
  const input = h("input", { type: "search", placeholder: "a column or dataset name", "data-testid": "impact-picker", size: 48 });
  const find = async () => {
    const { search } = await gql(SEARCH, { text: input.value.trim(), kinds: ["Column", "Dataset"], limit: 50 });
    fill(results, search.length
      ? h("ul", {}, search.map((n) => h("li", {}, kindBadge(n.kind), " ", h("a", { href: link.impact(n.id) }, n.display))))
      : h("p", {}, "Nothing matches."));
  };
  if (!current()) return;
  fill(
    main,
    h("h1", {}, "Impact explorer"),
    h("p", {}, "Pick the column or dataset that changes."),
    h("form", { class: "entry", onsubmit: (e) => { e.preventDefault(); find().catch((err) => fill(results, errorBox(err))); } },
      input, h("button", { type: "submit" }, "Find")),
    results,
  );
}

function summaryView(summary) {
  const counts = (title, list, testid) =>
    h("div", {}, h("h3", {}, title),
      h("ul", { "data-testid": testid }, list.map((k) => h("li", {}, k.kind in KIND_COLOURS ? kindBadge(k.kind) : k.kind, ` ${k.count}`))));
  return [
    h("h2", {}, `${summary.total} downstream`),
    counts("By kind", summary.byKind, "summary-kinds"),
    counts("By certainty", summary.byCertainty, "summary-certainty"),
    h("div", {}, h("h3", {}, "Owners to warn"),
      h("ul", { "data-testid": "summary-owners" },
        summary.byOwner.map((o) => h("li", {}, h("a", { href: link.owner(o.kind) }, o.kind), ` ${o.count}`)),
        h("li", { class: summary.unowned ? "gap" : "" }, `unowned: ${summary.unowned}`))),
    h("div", {}, h("h3", {}, "KPIs at risk"),
      h("ul", { "data-testid": "summary-kpis" }, summary.kpis.map((k) => h("li", {}, k)))),
  ];
}

function itemsTable(items) {
  const rows = items.slice(0, TABLE_ROWS).map((item) => {
    const via = item.path.at(-1);
    return h("tr", { "data-node-id": item.node.id, class: item.certainty },
      h("td", {}, item.distance),
      h("td", {}, kindBadge(item.node.kind)),
      h("td", {}, nodeLink(item.node)),
      h("td", {}, item.certainty),
      h("td", {}, item.owners.length ? item.owners.map((o) => h("a", { href: link.owner(o) }, o, " ")) : h("span", { class: "gap" }, "none")),
      h("td", {}, via ? `${via.kind} from ${via.fromDisplay}` : ""));
  });
  return [
    table(["Distance", "Kind", "Node", "Certainty", "Owners", "Reached by"], rows),
    items.length > TABLE_ROWS
      ? h("p", { class: "muted" }, `First ${TABLE_ROWS} of ${items.length} rows; the graph and the exports hold all.`)
      : null,
  ];
}

function nodeDetail(data) {
  return [
    h("h3", {}, kindBadge(data.kind), " ", data.label),
    data.count > 1 ? h("p", {}, `${data.count} nodes collapsed here`) : null,
    data.certainty ? h("p", {}, `certainty: ${data.certainty}`) : null,
    data.owners?.length ? h("p", {}, "owners: ", data.owners.join(", ")) : null,
    data.count > 1 ? null : h("p", {}, h("a", { href: link.node(data.id) }, "open node page"), " · ",
      h("a", { href: link.impact(data.id) }, "its impact")),
  ];
}

function legend() {
  return h("div", { class: "legend" },
    Object.entries(KIND_COLOURS).filter(([k]) => k !== "group").map(([kind]) => kindBadge(kind)),
    h("span", {}, "— exact (solid)  ", h("span", { class: "possible-sample" }, "- - possible (dashed)")));
}

const slug = (text) => text.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80);
