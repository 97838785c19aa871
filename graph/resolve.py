"""One resolver: a name as a producer or a person writes it → the node it names.

Every read entry point (GraphQL `NodeRef` and `ownerId`, `search`, the CLI, the web page through
GraphQL) calls this module, and it applies exactly the rules ingest applies — the same functions
(graph/naming.py, graph/identity.py), never a copy — so a name that ingest stored under its
canonical identity is found by the spelling that named it:

1. normalise the key as ingest would (scheme aliases, default ports, lowercased hosts, owner ids);
2. if no node has that key, the dataset a symlink joined that name onto (the alias table,
   graph/merge.py), else a Dataset whose `aliases` prop holds the dataset's name (a storage path
   beside a TABLE symlink), is the dataset meant; a column or version is looked up on it;
3. else NOT_FOUND, with the normalised name looked for and the closest known names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.identity import keys_named
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.naming import column_key, dataset_key, job_key, owner_id, version_key
from lineage_kg.graph.records import StoredNode
from lineage_kg.graph.store import GraphStore

K = NodeKind
# kinds whose first two key parts are a dataset's (namespace, name)
_ON_A_DATASET = frozenset({K.DATASET, K.COLUMN, K.DATASET_VERSION})
SUGGESTIONS = 5  # closest known names returned with a NOT_FOUND
_CANDIDATES = 50  # search hits ranked for them: one bounded read


@dataclass(frozen=True, slots=True)
class Resolved:
    node: StoredNode  # the canonical node
    looked_for: NodeKey  # the name as ingest normalises it
    alias: str | None = None  # the Dataset alias ("namespace/name") it was found by, if any

    @property
    def id(self) -> str:
        return self.node.id


def normalise(key: NodeKey) -> NodeKey:
    """The key as ingest would have stored it: a ValueError if ingest would refuse the name."""
    parts = key.parts
    match key.kind:
        case K.DATASET:
            return dataset_key(*parts)
        case K.COLUMN:
            return column_key(dataset_key(parts[0], parts[1]), parts[2])
        case K.DATASET_VERSION:
            return version_key(dataset_key(parts[0], parts[1]), parts[2])
        case K.OWNER:
            return NodeKey.of(K.OWNER, owner_id=owner_id(parts[0]))
        case K.JOB:
            return job_key({"namespace": parts[0], "name": parts[1]})
        case _:
            return key


def resolve(store: GraphStore, key: NodeKey) -> Resolved:
    """The node `key` names (normalised, then through aliases); NotFound naming what it looked
    for and the closest known names; InvalidArgument if an alias names several datasets."""
    try:
        wanted = normalise(key)
    except ValueError as exc:
        raise InvalidArgument(f"ref: {exc}") from None
    found = store.get_node(wanted.id)
    if found is not None:
        return Resolved(found, wanted)
    if (hit := _via_alias(store, wanted)) is not None:
        return hit
    raise not_found(store, wanted, wanted.display)


def resolve_owner(store: GraphStore, ref: str) -> Resolved:
    """An owner by id as anyone writes it (`Priya.Raman@Nimbus.Example`, `user:priya…`, a
    declared alias), or by node id. An alias is its own node (-ALIAS_OF-> the owner): the
    questions map it to the owner it names, as of their time."""
    if not ref.strip():
        raise InvalidArgument("owner_id must be a non-empty string")
    if ref.startswith("["):
        key = _from_id(ref)
        if key.kind is not K.OWNER:
            raise InvalidArgument(f"owner_id must name an Owner, not a {key.kind}")
    else:
        key = NodeKey.of(K.OWNER, owner_id=ref)
    return resolve(store, key)


def resolve_text(store: GraphStore, text: str, kind: NodeKind | None = None) -> Resolved:
    """A node by the name it is displayed or written by (`file//warehouse/x`, `s3a://lake/t`,
    `registry/model@3`, an email…) or its id. InvalidArgument if the text is no name of a
    `kind`, or names several nodes; NotFound if it names none."""
    text = text.strip()
    if text.startswith("["):
        key = _from_id(text)
        if kind is not None and key.kind is not kind:
            raise InvalidArgument(f"{text!r} names a {key.kind}, not a {kind}")
        return resolve(store, key)
    candidates = [k for k in keys_named(text) if kind is None or k.kind is kind]
    if not candidates:
        raise InvalidArgument(f"{text!r} is not a display name of a {kind or 'node'}")
    hits = _named(store, candidates)
    if len(hits) > 1:
        kinds = ", ".join(f"{h.node.key.display} ({h.node.key.kind})" for h in hits)
        raise InvalidArgument(f"{text!r} names several nodes: {kinds}; give the kind")
    if hits:
        return hits[0]
    raise not_found(store, candidates[0], text)


def search_named(
    store: GraphStore, text: str, kinds: Sequence[NodeKind] | None = None, limit: int = 20
) -> list[StoredNode]:
    """`GraphStore.search`, and first the node `text` names exactly (by any of its names)."""
    found = store.search(text, kinds, limit)
    candidates = [k for k in keys_named(text) if kinds is None or k.kind in kinds]
    try:
        named = [h.node for h in _named(store, candidates)] if candidates else []
    except InvalidArgument:  # an alias of several datasets: the substring hits will do
        named = []
    exact = {n.id for n in named}
    return [*named, *(n for n in found if n.id not in exact)][:limit]


def _named(store: GraphStore, candidates: list[NodeKey]) -> list[Resolved]:
    """The nodes some of `candidates` (normalised keys) name: by key, else through aliases."""
    hits = [Resolved(n, n.key) for n in store.get_nodes([k.id for k in candidates])]
    if not hits:
        hits = [h for k in candidates if k.kind in _ON_A_DATASET and (h := _via_alias(store, k))]
    return list({h.id: h for h in hits}.values())


def _from_id(text: str) -> NodeKey:
    try:
        return NodeKey.from_id(text)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def _via_alias(store: GraphStore, wanted: NodeKey) -> Resolved | None:
    """`wanted` on the dataset its dataset part is another name of, if that node exists."""
    if wanted.kind not in _ON_A_DATASET:
        return None
    own = dataset_key(*wanted.parts[:2])
    alias = own.display
    # a name a link joined onto another node (graph/merge.py), else one a node lists as its alias
    linked = store.linked_names([own.id]).get(own.id)
    if linked is not None:
        datasets = store.get_nodes([linked])
    else:
        datasets = store.find_aliased([alias], limit=2)
    if not datasets:
        return None
    if len(datasets) > 1:
        named = ", ".join(d.key.display for d in datasets)
        raise InvalidArgument(f"{alias!r} is another name of several datasets: {named}")
    canonical = datasets[0].key
    target = {
        K.DATASET: lambda: canonical,
        K.COLUMN: lambda: column_key(canonical, wanted.parts[2]),
        K.DATASET_VERSION: lambda: version_key(canonical, wanted.parts[2]),
    }[wanted.kind]()
    node = datasets[0] if target == canonical else store.get_node(target.id)
    return Resolved(node, wanted, alias) if node is not None else None


def not_found(store: GraphStore, wanted: NodeKey, asked: str) -> NotFound:
    """NOT_FOUND for `asked`, saying the normalised name looked for and the closest known."""
    near = closest(store, wanted)
    message = f"no {wanted.kind} named {asked!r}"
    if asked != wanted.display:
        message += f" (looked for {wanted.display!r})"
    if near:
        message += "; closest known: " + ", ".join(near)
    return NotFound(message, looked_for=wanted.display, suggestions=near)


def closest(store: GraphStore, wanted: NodeKey, limit: int = SUGGESTIONS) -> list[str]:
    """Display names of the same kind most like `wanted`'s: searched by its last word (a table,
    a file, a column, an email's local part), else the one before, ranked by similarity. At
    most two bounded searches, and only when a lookup has missed."""
    words = [w for w in re.split(r"[/.#@:]+", wanted.display) if w]
    if wanted.kind is K.OWNER:  # an email's local part, then its first word (a given name)
        local = wanted.parts[0].split("@", 1)[0].rsplit(":", 1)[-1]
        words = [re.split(r"[._-]+", local)[0], local]
    elif wanted.kind is K.COLUMN:
        words.append(wanted.parts[2])
    for needle in list(dict.fromkeys(w for w in reversed(words) if w))[:2]:
        hits = store.search(needle, [wanted.kind], limit=_CANDIDATES)
        if hits:
            return _ranked(wanted.display, [h.key.display for h in hits], limit)
    return []


def _ranked(target: str, names: Sequence[str], limit: int) -> list[str]:
    def score(name: str) -> tuple[float, str]:
        return (-difflib.SequenceMatcher(None, target.lower(), name.lower()).ratio(), name)

    return sorted(dict.fromkeys(names), key=score)[:limit]
