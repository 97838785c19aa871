// Drawing with Cytoscape.js: colour by node kind, line style by certainty (exact: solid,
// possible: dashed), a layout that stays fast on thousands of nodes (no animation).
import cytoscape from "cytoscape";

export const KIND_COLOURS = {
  Dataset: "#2f6fb0",
  Column: "#6aa7e0",
  DatasetVersion: "#8fb8de",
  Job: "#7a5cc4",
  Run: "#a58fe0",
  Entity: "#c27c0e",
  FeatureView: "#d9822b",
  Feature: "#f0a35e",
  FeatureService: "#b8641a",
  Model: "#1d8a6b",
  ModelVersion: "#37b58f",
  DecisionPoint: "#b03a5b",
  Decision: "#e06c8c",
  KPI: "#d4a017",
  Exposure: "#6b7f3a",
  Owner: "#555f6d",
  Check: "#8a8f98",
  group: "#444c56",
};

// above this many elements labels show only when zoomed in and edges hide while panning
const LARGE = 1500;

// the widest a node label may be, and the space the layered layout leaves between columns
const LABEL_WIDTH = 190;
const COLUMN_GAP = LABEL_WIDTH + 30;
const MANY_EDGES = 20;

const style = (large, many) => [
  {
    selector: "node",
    style: {
      "background-color": "data(colour)",
      // thousands of labels cannot be read anyway, and measuring them is most of the drawing
      // time: on large graphs a node shows its label when selected (and in the detail panel)
      label: large ? "" : "data(label)",
      "font-size": 11,
      color: "#1f2328",
      "text-valign": "bottom",
      "text-margin-y": 3,
      // one line, never wider than the gap between two columns of the layered layout: labels
      // of neighbouring nodes cannot overlap (the whole name is in the table and the tooltip)
      "text-wrap": "ellipsis",
      "text-max-width": `${LABEL_WIDTH}px`,
      width: 18,
      height: 18,
      "border-width": 2,
      "border-color": "#1f2328",
      "border-style": "solid",
    },
  },
  { selector: "node[count > 1]", style: { width: "mapData(count, 1, 5000, 24, 70)", height: "mapData(count, 1, 5000, 24, 70)", shape: "round-rectangle" } },
  { selector: "node.possible", style: { "border-style": "dashed", "background-opacity": 0.55 } },
  { selector: "node.mixed", style: { "border-style": "double", "border-width": 4 } },
  { selector: "node.start", style: { shape: "star", width: 30, height: 30, "border-color": "#d1242f" } },
  { selector: "node.gap", style: { "border-color": "#d1242f", "border-width": 4 } },
  { selector: "node.source", style: { shape: "diamond", width: 26, height: 26 } },
  { selector: "node:selected", style: { "border-color": "#ff8c00", "border-width": 5, label: "data(label)" } },
  { selector: "node[count > 1], node.start", style: { label: "data(label)" } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "line-color": "#57606a",
      "target-arrow-color": "#57606a",
      "target-arrow-shape": large ? "none" : "triangle",
      "curve-style": large ? "haystack" : "bezier",
      // an edge's kind, on small graphs only: past MANY_EDGES the labels of a fan pile up
      // around its centre; a selected node's edges still show theirs
      label: many ? "" : "data(label)",
      "font-size": 8,
      color: "#57606a",
      "text-rotation": "autorotate",
      "text-background-color": "#fff",
      "text-background-opacity": 0.85,
    },
  },
  { selector: "edge:selected, edge.shown", style: { label: "data(label)" } },
  { selector: "edge.possible", style: { "line-style": "dashed", "line-color": "#b08800", "target-arrow-color": "#b08800" } },
  { selector: "edge.gap", style: { "line-color": "#d1242f", "target-arrow-color": "#d1242f" } },
];

/**
 * Draw `nodes` ({id, label, kind, col?, classes?, ...data}) and `edges` ({source, target, label?,
 * classes?}) into `container`; resolves with the Cytoscape instance once laid out and painted.
 * Layouts: "layered" (default, by `col`), "breadthfirst", "cose" (small graphs only).
 */
export async function draw(container, { nodes, edges, roots = [], layout = "layered", onSelect, timings = {} }) {
  let mark = performance.now();
  const phase = (name) => {
    const now = performance.now();
    timings[name] = Math.round(now - mark);
    mark = now;
  };
  nodes = nodes.map((n) => ({ ...n, label: shortLabel(n.label), colour: KIND_COLOURS[n.kind] ?? "#999" }));
  const large = nodes.length + edges.length > LARGE;
  // layered positions are known before any element exists: no layout pass over the graph
  const positions = layout === "layered" ? layeredPositions(nodes) : {};
  const elements = [
    ...nodes.map(({ classes, ...data }) => ({ group: "nodes", data, classes, position: positions[data.id] })),
    ...edges.map(({ classes, ...data }, i) => ({ group: "edges", data: { id: `e${i}`, ...data }, classes })),
  ];
  const cy = cytoscape({
    container,
    elements: large ? [] : elements,
    style: style(large, edges.length > MANY_EDGES),
    layout: { name: "preset" },
    hideEdgesOnViewport: large,
    textureOnViewport: large,
    pixelRatio: large ? 1 : "auto",
    minZoom: 0.02,
    maxZoom: 4,
  });
  if (large) {
    // added a chunk per frame, so the tab keeps answering while thousands of elements go in;
    // hidden meanwhile, so that no frame redraws the half-built graph
    const display = container.style.display;
    container.style.display = "none";
    for (let i = 0; i < elements.length; i += CHUNK) {
      cy.batch(() => cy.add(elements.slice(i, i + CHUNK)));
      await nextFrame();
    }
    container.style.display = display;
    cy.resize();
  }
  if (onSelect) cy.on("tap", "node", (event) => onSelect(event.target.data()));
  // on a crowded graph an edge's kind shows while its node is hovered
  cy.on("mouseover", "node", (event) => event.target.connectedEdges().addClass("shown"));
  cy.on("mouseout", "node", (event) => event.target.connectedEdges().removeClass("shown"));
  phase("createMs");
  if (layout === "layered") cy.fit(undefined, 24);
  else await runLayout(cy, layoutOptions(layout, roots, nodes.length));
  phase("layoutMs");
  // a few nodes would otherwise be blown up to fill the box
  if (cy.zoom() > MAX_FIT_ZOOM) {
    cy.zoom(MAX_FIT_ZOOM);
    cy.center();
  }
  await nextFrame();
  phase("firstFrameMs");
  return cy;
}

const CHUNK = 1000;
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

function runLayout(cy, options) {
  return new Promise((resolve) => {
    const run = cy.layout(options);
    run.one("layoutstop", resolve);
    run.run();
  });
}

const MAX_FIT_ZOOM = 1.3;

/** Without the `scheme://host:port/` of a dataset namespace: the part people recognise. */
export function shortLabel(display) {
  const text = String(display ?? "").replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*\//i, "");
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

/**
 * Layered, left to right: x by `data.col` (the distance), nodes stacked in their layer; a layer
 * taller than about √n nodes wraps into sub-columns, so 5,000 nodes stay on a readable sheet.
 * Linear in the nodes, no iterations: the default for answers of any size.
 */
function layeredPositions(nodes) {
  const maxRows = Math.max(10, Math.ceil(Math.sqrt(nodes.length) * 1.2));
  const layers = new Map();
  for (const n of nodes) {
    const col = n.col ?? 0;
    if (!layers.has(col)) layers.set(col, []);
    layers.get(col).push(n.id);
  }
  const positions = {};
  let x = 0;
  for (const col of [...layers.keys()].sort((a, b) => a - b)) {
    const ids = layers.get(col);
    const rows = Math.min(ids.length, maxRows);
    ids.forEach((id, i) => {
      positions[id] = { x: x + Math.floor(i / maxRows) * COLUMN_GAP, y: ((i % maxRows) - (rows - 1) / 2) * 64 };
    });
    x += Math.ceil(ids.length / maxRows) * COLUMN_GAP + 70;
  }
  return positions;
}

function layoutOptions(name, roots, size) {
  const common = { animate: false, fit: true, padding: 24 };
  if (name === "breadthfirst") {
    return { ...common, name, directed: true, roots, spacingFactor: size > 200 ? 0.6 : 1.4, circle: size > 200 };
  }
  if (name === "cose") return { ...common, name, randomize: false, numIter: size > 500 ? 200 : 1000 };
  return { ...common, name };
}
