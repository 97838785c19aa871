// GraphiQL for /graphql, bundled with React from npm (web/package.json pins the versions) and
// served from the package: the IDE works offline and behind company proxies, where a CDN is
// out of reach. The page's own read key (sessionStorage, see api.js) is offered as a header.
import "graphiql/graphiql.css";
import { GraphiQL } from "graphiql";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { apiKey } from "./key.js";

const endpoint = new URL("graphql", document.baseURI).href;

/** One request to the service; GraphiQL hands the headers typed into its editor. */
async function fetcher(params, options = {}) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...(options.headers ?? {}) },
    body: JSON.stringify(params),
  });
  return response.json();
}

const key = apiKey.get();
const DEFAULT_QUERY = `# lineage-kg's GraphQL API: Ctrl-Enter runs the query; the Docs panel holds the schema.
{
  version
  stats { nodeCount edgeCount }
}
`;

createRoot(document.getElementById("graphiql")).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: key ? JSON.stringify({ authorization: `Bearer ${key}` }, null, 2) : undefined,
    shouldPersistHeaders: false,
  }),
);
