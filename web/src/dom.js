import { apiKey, openEvent } from "./api.js";

// A tiny element builder: h("a", { href }, "text", child) — no framework needed for five views.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function table(headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows),
  );
}

export const errorBox = (error) =>
  h("div", { class: "error", role: "alert", "data-testid": "error" }, String(error.message ?? error));

export const kindBadge = (kind) => h("span", { class: `badge kind-${kind}` }, kind);

// routes: node ids are JSON arrays (quotes, slashes), so every part is URI-encoded
export const link = {
  node: (id) => `#/node/${encodeURIComponent(id)}`,
  impact: (id) => `#/impact/${encodeURIComponent(id)}`,
  decision: (decisionId) => `#/decision/${encodeURIComponent(decisionId)}`,
  owner: (ownerId) => `#/owner/${encodeURIComponent(ownerId)}`,
  search: (text) => `#/search/${encodeURIComponent(text)}`,
  // the governance view's arguments, the unset ones left out
  governance: (args = {}) =>
    `#/governance/${encodeURIComponent(new URLSearchParams(Object.entries(args).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString())}`,
};

export const nodeLink = (node) =>
  h("a", { href: link.node(node.id), class: "node-link", title: node.id }, node.display);

/** The actions a node of this kind offers. */
export function nodeActions(node) {
  const actions = [h("a", { href: link.impact(node.id), class: "action" }, "impact")];
  if (node.kind === "Decision" && node.key?.decision_id)
    actions.push(h("a", { href: link.decision(node.key.decision_id), class: "action" }, "trace"));
  if (node.kind === "Owner" && node.key?.owner_id)
    actions.push(h("a", { href: link.owner(node.key.owner_id), class: "action" }, "accountability"));
  return actions;
}

// Event ids are up to 64 characters: shown cut short (CSS ellipsis) so they leave the other
// columns room, the whole id still in the text (select and copy it) and in the tooltip.
export const eventLinks = (ids, eventUrl) =>
  ids.map((id) =>
    h("a", { href: eventUrl(id), target: "_blank", rel: "noopener", class: "evidence short-id", title: id, onclick: withKey }, id),
  );

function withKey(event) {
  if (!apiKey.get()) return; // a plain link does it
  event.preventDefault();
  openEvent(event.currentTarget.href);
}
