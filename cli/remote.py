"""The question commands against a running service (`--url`, `LKG_URL`; the key from
`LKG_API_KEY`): each question asked over the public GraphQL API (`POST {url}/graphql`, the key
as `Authorization: Bearer`, as api/auth.py expects), its reply turned into the same JSON form the
local answer has (docs/cli.md, "JSON shapes"), so one renderer (cli/render.py) and one exporter
(cli/export.py) serve both.

Names are resolved by the service, with the resolver the local commands use (graph/resolve.py):
a display name's readings (graph/identity.py `keys_named`, the same function `resolve_text`
reads them with) are asked of `node(ref: {id})` in one request; one hit is the node, several ask
for `--kind`, none is NOT_FOUND from the question itself (the service names the closest).

Failures are one line each, with the exit codes of docs/cli.md: the service's NOT_FOUND → 3,
BAD_USER_INPUT → 2, anything else (unreachable, refused key, a deadline, the store) → 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.identity import keys_named
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind

URL_ENV, KEY_ENV = "LKG_URL", "LKG_API_KEY"
# answer only from a graph holding this log position (the LKG-Seq an ingest answered): read
# your writes against a service of several replicas (docs/scale.md)
MIN_SEQ_ENV = "LKG_MIN_SEQ"
TIMEOUT = 120.0  # seconds for one request: a deep walk on a large estate takes a while
PAGE = 500  # impact items and audit entries per request
NODE = "fragment N on Node { id kind display key props sources firstSeen lastSeen }"

# every question command's `--url`
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_ENV,
        help=f"ask the service at this URL over GraphQL instead of the local store "
        f"(its API key from {KEY_ENV})",
        show_default=False,
    ),
]


class RemoteFailure(Exception):
    """The service could not be asked or did not answer (exit 1)."""


@dataclass(frozen=True, slots=True)
class Remote:
    url: str  # the service's base URL, e.g. http://lineage.internal:8000
    api_key: str | None = None
    min_seq: str | None = None  # sent as LKG-Min-Seq (the service checks it)

    # ---- one GraphQL request ------------------------------------------------------------------

    def ask(self, query: str, **variables: Any) -> dict[str, Any]:
        """The reply's `data`; NotFound / InvalidArgument / RemoteFailure for its first error."""
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        if self.min_seq:
            headers["LKG-Min-Seq"] = self.min_seq
        endpoint = self.url.rstrip("/") + "/graphql"
        try:
            response = httpx.post(
                endpoint,
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise RemoteFailure(f"cannot reach {endpoint}: {exc}") from exc
        if response.status_code in (401, 403):
            why = _detail(response) or response.reason_phrase
            raise RemoteFailure(
                f"{endpoint} refused the request ({response.status_code}): {why} "
                f"(set {KEY_ENV} to a key with the read scope)"
            )
        try:
            body = response.json()
        except ValueError:
            raise RemoteFailure(
                f"{endpoint} answered {response.status_code}, not GraphQL: {response.text[:200]}"
            ) from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            first = errors[0]
            code = (first.get("extensions") or {}).get("code", "")
            message = " ".join(str(first.get("message", "")).split())
            if code == "NOT_FOUND":
                raise NotFound(message)
            if code == "BAD_USER_INPUT":
                raise InvalidArgument(message)
            raise RemoteFailure(f"{endpoint}: {code or 'error'}: {message}")
        if response.status_code != 200 or not isinstance(body.get("data"), dict):
            raise RemoteFailure(
                f"{endpoint} answered {response.status_code}: {response.text[:200]}"
            )
        return body["data"]

    # ---- naming a node ------------------------------------------------------------------------

    def resolve_text(self, text: str, kind: NodeKind | None = None) -> str:
        """The id of the node `text` names (a display name or a node id), as `resolve_text`
        finds it locally; InvalidArgument when it names none of `kind` or several."""
        text = text.strip()
        if text.startswith("["):
            try:
                key = NodeKey.from_id(text)
            except ValueError as exc:
                raise InvalidArgument(str(exc)) from None
            if kind is not None and key.kind is not kind:
                raise InvalidArgument(f"{text!r} names a {key.kind}, not a {kind}")
            return key.id
        candidates = [k for k in keys_named(text) if kind is None or k.kind is kind]
        if not candidates:
            raise InvalidArgument(f"{text!r} is not a display name of a {kind or 'node'}")
        hits: dict[str, str] = {}
        for chunk in _chunks(candidates, 10):  # the service caps aliases per request
            fields = " ".join(
                f"c{i}: node(ref: {{id: $c{i}}}) {{ id display kind }}" for i in range(len(chunk))
            )
            params = ", ".join(f"$c{i}: ID!" for i in range(len(chunk)))
            found = self.ask(f"query ({params}) {{ {fields} }}",
                             **{f"c{i}": k.id for i, k in enumerate(chunk)})  # fmt: skip
            for node in found.values():
                if node is not None:
                    hits[node["id"]] = f"{node['display']} ({node['kind']})"
        if len(hits) > 1:
            kinds = ", ".join(hits.values())
            raise InvalidArgument(f"{text!r} names several nodes: {kinds}; give the kind")
        if hits:
            return next(iter(hits))
        return candidates[0].id  # the question itself answers NOT_FOUND, naming the closest

    # ---- the questions, in their JSON form --------------------------------------------------

    def impact(
        self,
        node_id: str,
        *,
        depth: int,
        exact_only: bool,
        kinds: list[NodeKind] | None,
        as_of: str | None,
        include_indirect: bool,
    ) -> dict[str, Any]:
        query = (
            """
query ($ref: NodeRef!, $depth: Int!, $kinds: [NodeKind!], $exactOnly: Boolean!, $asOf: String,
       $first: Int!, $after: String, $includeIndirect: Boolean!) {
  impact(ref: $ref, depth: $depth, kinds: $kinds, exactOnly: $exactOnly, asOf: $asOf,
         first: $first, after: $after, includeIndirect: $includeIndirect) {
    start { ...N }
    summary { total truncated depthReached kpis unowned byKind { kind count }
              byCertainty { kind count } byOwner { kind count } }
    edges { node { node { ...N } distance certainty owners path { kind fromId toId } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
            + NODE
        )
        items: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.ask(
                query,
                ref={"id": node_id},
                depth=depth,
                kinds=[k.value for k in kinds] if kinds else None,
                exactOnly=exact_only,
                asOf=as_of,
                first=PAGE,
                after=after,
                includeIndirect=include_indirect,
            )["impact"]
            items += [_impact_item(e["node"]) for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        summary = page["summary"]
        return {
            "question": "impact",
            "start": node_dict(page["start"]),
            "truncated": summary["truncated"],
            "depth_reached": summary["depthReached"],
            "summary": {
                "total": summary["total"],
                "by_kind": _counts(summary["byKind"]),
                "by_certainty": _counts(summary["byCertainty"]),
                "by_owner": _counts(summary["byOwner"]),
                "kpis": summary["kpis"],
                "unowned": summary["unowned"],
            },
            "items": items,
        }

    def owner(self, ref: str, *, depth: int, as_of: str | None) -> dict[str, Any]:
        related = "{ node { ...N } distance certainty owners }"
        query = f"""
query ($owner: String!, $depth: Int!, $asOf: String) {{
  accountability(ownerId: $owner, depth: $depth, asOf: $asOf) {{
    owner {{ ...N }} teams members owned {{ node {{ ...N }} ownershipType via }}
    kpis {related} upstream {related} downstream {related}
    upstreamOwners {{ owner left assets {{ id }} }}
    downstreamOwners {{ owner left assets {{ id }} }}
    gaps {{ kind asset {{ ...N }} related {{ ...N }} detail evidence }} truncated
  }}
}}
{NODE}"""
        a = self.ask(query, owner=ref, depth=depth, asOf=as_of)["accountability"]

        def related_list(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**r, "node": node_dict(r["node"])} for r in items]

        return {
            "question": "accountability",
            "owner": node_dict(a["owner"]),
            "teams": a["teams"],
            "members": a["members"],
            "owned": [
                {
                    "node": node_dict(o["node"]),
                    "ownership_type": o["ownershipType"],
                    "via": o["via"],
                }
                for o in a["owned"]
            ],
            "kpis": related_list(a["kpis"]),
            "upstream": related_list(a["upstream"]),
            "downstream": related_list(a["downstream"]),
            "upstream_owners": _links(a["upstreamOwners"]),
            "downstream_owners": _links(a["downstreamOwners"]),
            "gaps": [
                {
                    "kind": g["kind"],
                    "asset": node_dict(g["asset"]),
                    "related": node_dict(g["related"]) if g["related"] is not None else None,
                    "detail": g["detail"],
                    "evidence": g["evidence"],
                }
                for g in a["gaps"]
            ],
            "truncated": a["truncated"],
        }

    def trace_ref(self, text: str) -> dict[str, str]:
        """The NodeRef `lkg trace TEXT` means, as the local command reads it: a node id, a
        decision id, or else (with an "@" and no such decision) a model version's name."""
        text = text.strip()
        if text.startswith("["):
            return {"id": text}
        if "@" in text:
            query = """query ($d: String!) { logged: decision(id: $d) { decisionId }
                node(ref: {kind: Decision, decisionId: $d}) { id } }"""
            found = self.ask(query, d=text)
            if found["logged"] is None and found["node"] is None:
                return {"id": self.resolve_text(text, NodeKind.MODEL_VERSION)}
        return {"kind": NodeKind.DECISION.value, "decisionId": text}

    def trace(self, ref: dict[str, str], *, depth: int, as_of: str | None) -> dict[str, Any]:
        step = "{ kind node { ...N } distance via edge resolution time evidence owners detail }"
        query = f"""
query ($ref: NodeRef!, $depth: Int!, $asOf: String) {{
  decisionLineage(ref: $ref, depth: $depth, asOf: $asOf) {{
    start {{ ...N }} decision {step} modelVersions {step} data {step} features {step}
    sources truncated
  }}
}}
{NODE}"""
        t = self.ask(query, ref=ref, depth=depth, asOf=as_of)["decisionLineage"]
        return {
            "question": "decision_lineage",
            "start": node_dict(t["start"]),
            "decision": _step(t["decision"]) if t["decision"] is not None else None,
            "model_versions": [_step(s) for s in t["modelVersions"]],
            "data": [_step(s) for s in t["data"]],
            "features": [_step(s) for s in t["features"]],
            "sources": t["sources"],
            "truncated": t["truncated"],
        }

    def audit(
        self,
        node_id: str,
        *,
        since: str | None,
        until: str | None,
        types: list[str] | None,
        first: int,
        after: str | None,
        every: bool,
    ) -> dict[str, Any]:
        query = f"""
query ($ref: NodeRef!, $since: String, $until: String, $types: [String!], $first: Int!,
       $after: String) {{
  auditTrail(ref: $ref, since: $since, until: $until, types: $types, first: $first,
             after: $after) {{
    node {{ ...N }}
    entries {{ time type summary eventId source otherNodeId edgeKind cursor }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
{NODE}"""
        entries: list[dict[str, Any]] = []
        while True:
            page = self.ask(query, ref={"id": node_id}, since=since, until=until, types=types,
                            first=first, after=after)["auditTrail"]  # fmt: skip
            entries += [_entry(e) for e in page["entries"]]
            after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
            if not every or after is None:
                break
        return {
            "question": "audit_trail",
            "node": node_dict(page["node"]),
            "entries": entries,
            "next_cursor": after,
        }

    def stats(self) -> dict[str, dict[str, int]]:
        s = self.ask("{ stats { nodes { kind count } edges { kind count } } }")["stats"]
        return {"nodes": _counts(s["nodes"]), "edges": _counts(s["edges"])}


# ---- the API's shapes → the CLI's JSON form -------------------------------------------------


def node_dict(n: dict[str, Any]) -> dict[str, Any]:
    """A Node of the API as cli/export.py's `node_dict` writes a stored node."""
    return {
        "id": n["id"],
        "kind": n["kind"],
        "display": n["display"],
        "key": n["key"],
        "props": n["props"],
        "sources": n["sources"],
        "first_seen": n["firstSeen"],
        "last_seen": n["lastSeen"],
    }


def _links(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Other owners and the assets (nodes; the CLI's JSON lists their ids) they are met through."""
    return [{**link, "assets": [a["id"] for a in link["assets"]]} for link in links]


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {r["kind"]: r["count"] for r in rows}


def hop(kind: str, from_id: str, to_id: str) -> dict[str, Any]:
    """A path step as the CLI writes one: the edge as stored (source → target) and the way it
    was walked. The API gives the step in the walked direction; the stored one is the way the
    edge kind's ends fit (a Column → Dataset HAS_COLUMN step was walked backward). The API
    carries no discriminator: `disc` is empty."""
    spec = EdgeKind(kind).spec
    a, b = NodeKey.from_id(from_id).kind, NodeKey.from_id(to_id).kind
    forward = a in spec.sources and b in spec.targets
    source, target = (from_id, to_id) if forward else (to_id, from_id)
    return {
        "source": source,
        "kind": kind,
        "target": target,
        "disc": "",
        "direction": "forward" if forward else "backward",
    }


def _impact_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "node": node_dict(item["node"]),
        "distance": item["distance"],
        "certainty": item["certainty"],
        "owners": item["owners"],
        "path": [hop(p["kind"], p["fromId"], p["toId"]) for p in item["path"]],
    }


def _step(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": s["kind"],
        "node": node_dict(s["node"]),
        "distance": s["distance"],
        "via": s["via"],
        "edge": s["edge"],
        "resolution": s["resolution"],
        "time": s["time"],
        "evidence": s["evidence"],
        "owners": s["owners"],
        "detail": s["detail"],
    }


def _entry(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": e["time"],
        "type": e["type"],
        "summary": e["summary"],
        "event_id": e["eventId"],
        "source": e["source"],
        "other_node_id": e["otherNodeId"],
        "edge_kind": e["edgeKind"],
        "cursor": e["cursor"],
    }


def _detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("detail") or body.get("error") or "") if isinstance(body, dict) else ""


def _chunks(items: list[NodeKey], size: int) -> Iterator[list[NodeKey]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
