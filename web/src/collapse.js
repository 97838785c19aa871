// From an impact answer to the elements to draw: one node per item, one edge per item (the last
// step of its explaining path), optionally collapsed into one node per kind or per dataset.

const DATASET_PARTS = new Set(["Dataset", "Column", "DatasetVersion"]);

function groupOf(item, mode) {
  const { kind, key, id } = item.node;
  if (mode === "kind") return { id: `kind:${kind}`, kind, label: kind };
  if (mode === "dataset" && DATASET_PARTS.has(kind) && key?.namespace && key?.name) {
    return { id: `dataset:${key.namespace}|${key.name}`, kind: "Dataset", label: `${key.namespace}/${key.name}` };
  }
  return { id, kind, label: item.node.display };
}

/** The nearest node of the path (walking back from the item) that is drawn, else the start. */
function drawnParent(item, drawn, startId) {
  for (let i = item.path.length - 1; i >= 0; i--) {
    if (drawn.has(item.path[i].fromId)) return { id: item.path[i].fromId, direct: i === item.path.length - 1 };
  }
  return { id: startId, direct: false };
}

export function collapse(start, items, mode = "none") {
  const drawn = new Set([start.id, ...items.map((i) => i.node.id)]);
  const groups = new Map(); // group id -> node element
  const memberOf = new Map([[start.id, start.id]]);
  groups.set(start.id, { id: start.id, label: start.display, kind: start.kind, classes: "start", count: 1, col: 0 });
  for (const item of items) {
    const g = mode === "none" ? { id: item.node.id, kind: item.node.kind, label: item.node.display } : groupOf(item, mode);
    memberOf.set(item.node.id, g.id);
    const node = groups.get(g.id);
    if (!node) {
      groups.set(g.id, { ...g, count: 1, certainty: item.certainty, owners: item.owners, col: item.distance });
    } else if (node.id !== start.id) {
      node.count += 1;
      if (node.certainty !== item.certainty) node.certainty = "mixed";
      node.col = Math.min(node.col, item.distance);
    }
  }
  const nodes = [...groups.values()].map((n) => ({
    ...n,
    label: n.count > 1 ? `${n.label} ×${n.count}` : n.label,
    classes: [n.classes, n.certainty].filter(Boolean).join(" "),
  }));

  const edges = new Map();
  for (const item of items) {
    const parent = drawnParent(item, drawn, start.id);
    const source = memberOf.get(parent.id);
    const target = memberOf.get(item.node.id);
    if (source === target) continue;
    const kind = parent.direct ? item.path.at(-1).kind : "…";
    const key = `${source}\u0000${target}`;
    const edge = edges.get(key);
    if (!edge) edges.set(key, { source, target, kind, count: 1, exact: item.certainty === "exact" });
    else {
      edge.count += 1;
      edge.exact ||= item.certainty === "exact";
    }
  }
  return {
    nodes,
    edges: [...edges.values()].map((e) => ({
      source: e.source,
      target: e.target,
      label: e.count > 1 ? `${e.kind} ×${e.count}` : e.kind,
      classes: e.exact ? "exact" : "possible",
    })),
  };
}
