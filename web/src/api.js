// The only way the page reads data: the service's public GraphQL API at /graphql.
import { apiKey } from "./key.js";

export { apiKey };

export class ApiError extends Error {
  constructor(message, status = 0, extensions = {}) {
    super(message);
    this.status = status;
    this.extensions = extensions; // the first GraphQL error's: code (NOT_FOUND, …), suggestions
    this.code = extensions.code ?? null;
  }
}

const authHeaders = () => (apiKey.get() ? { authorization: `Bearer ${apiKey.get()}` } : {});

export async function gql(query, variables = {}) {
  const response = await fetch(new URL("graphql", document.baseURI), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...authHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`GraphQL answered HTTP ${response.status} without JSON`, response.status);
  }
  if (body.errors?.length)
    throw new ApiError(body.errors.map((e) => e.message).join("; "), response.status, body.errors[0].extensions ?? {});
  if (!response.ok) throw new ApiError(body.error ?? `GraphQL answered HTTP ${response.status}`, response.status);
  return body.data;
}

/** Open a raw event in a new tab, with the API key if one is set (a plain link cannot send it). */
export async function openEvent(url) {
  const response = await fetch(url, { headers: authHeaders() });
  const blob = new Blob([await response.text()], { type: response.headers.get("content-type") ?? "text/plain" });
  window.open(URL.createObjectURL(blob), "_blank", "noopener");
}

/** Where the raw event behind a piece of evidence is served. */
export const eventUrl = (eventId) =>
  new URL(`api/v1/events/${encodeURIComponent(eventId)}`, document.baseURI).href;

const NODE = "id kind display key";

export const SEARCH = `query Search($text: String!, $kinds: [String!], $limit: Int!) {
  search(text: $text, kinds: $kinds, limit: $limit) { ${NODE} }
}`;

const NEIGHBOURS = `total edges { cursor edge direction node { ${NODE} owners } } pageInfo { hasNextPage endCursor }`;
export const NEIGHBOUR_PAGE = 50;

export const NODE_PAGE = `query NodePage($ref: NodeRef!, $first: Int!) {
  node(ref: $ref) {
    ${NODE} props sources firstSeen lastSeen firstEvent lastEvent owners
    downstream: neighbors(direction: OUT, first: $first) { ${NEIGHBOURS} }
    upstream: neighbors(direction: IN, first: $first) { ${NEIGHBOURS} }
  }
}`;

export const NEIGHBOURS_MORE = `query Neighbours($ref: NodeRef!, $direction: NeighborDirection!, $first: Int!, $after: String) {
  node(ref: $ref) { neighbors(direction: $direction, first: $first, after: $after) { ${NEIGHBOURS} } }
}`;

export const AUDIT = `query Audit($ref: NodeRef!, $first: Int!, $after: String) {
  auditTrail(ref: $ref, first: $first, after: $after) {
    entries { time type summary eventId source otherNodeId edgeKind cursor }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const IMPACT = `query Impact($ref: NodeRef!, $depth: Int!, $exactOnly: Boolean!,
    $first: Int!, $after: String) {
  impact(ref: $ref, depth: $depth, exactOnly: $exactOnly, first: $first, after: $after) {
    start { ${NODE} }
    summary {
      total truncated kpis unowned
      byKind { kind count } byCertainty { kind count } byOwner { kind count }
    }
    edges {
      node {
        node { ${NODE} }
        distance certainty owners
        path { kind fromId fromDisplay toId toDisplay lastEvent }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

const STEP = `kind node { ${NODE} } distance via edge resolution time evidence owners detail`;

export const DECISION_TRACE = `query Trace($ref: NodeRef!, $id: String!) {
  decisionLineage(ref: $ref) {
    start { ${NODE} }
    decision { ${STEP} }
    modelVersions { ${STEP} }
    data { ${STEP} }
    features { ${STEP} }
    sources truncated
  }
  decision(id: $id) {
    decisionId timestamp decisionPoint registry model version alias outcome eventId
    madeBy { resolution detail }
  }
}`;

const RELATED = `node { ${NODE} } distance certainty owners`;

export const ACCOUNTABILITY = `query Owner($ownerId: String!) {
  accountability(ownerId: $ownerId) {
    owner { ${NODE} }
    teams members truncated
    owned { node { ${NODE} } ownershipType via }
    kpis { ${RELATED} }
    upstream { ${RELATED} }
    downstream { ${RELATED} }
    upstreamOwners { owner left assets { ${NODE} } }
    downstreamOwners { owner left assets { ${NODE} } }
    gaps { kind asset { ${NODE} } related { ${NODE} } detail evidence }
  }
}`;

export const GOVERNANCE = `query Governance($asOf: String, $severity: String, $first: Int!, $after: String) {
  governance(asOf: $asOf, severity: $severity, first: $first, after: $after) {
    violations {
      rule severity subject { id kind display } related { id kind display }
      path { id kind display } evidence since detail cursor
    }
    pageInfo { hasNextPage endCursor }
    total evaluatedAt policy rules truncated
  }
}`;
