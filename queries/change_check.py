"""Change check: "what would this schema change break?" — impact as a pre-merge gate (issue 20).

Changes are columns or datasets, each with its kind: `drop`, `rename:<new>`, `type:<new>`,
`semantics` (same name and type, other values or lineage). Every kind breaks or alters what
reads the old column, so each is walked the same way: queries/impact.py's walk, once from all
changed columns together — a 50-column change is one multi-start walk, not 50 — and once per
changed dataset (it stands for itself and its columns, as in impact; `_walks` says why apart).
Each reached item is explained by one path, exact before possible, then the shortest, and so
by the change that path starts from. The answer equals the changes' impacts one by one,
merged so (tests/contract/test_change_check.py), but for the dataset versions and runs that
impact keeps only as steps of an explaining path (`training_data`): one path per item is
chosen, so such a step of another change's path may be left out.

From what the walk reaches:
- the decision points at risk: a reached model version deployed there (DEPLOYED_TO, not
  shadow, serving at `at`: queries/deployments.py), at the version's certainty; a decision
  point reached only through a shadow or ended deployment is not at risk;
- the KPIs reached, the model versions reached (through training data, features, or other
  lineage), and the owners of every reached asset: aliases resolved, owners who left flagged
  (queries/assets.py `ownerships`).
Changes naming nothing in the graph are listed as unresolved: nothing is known downstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredNode
from lineage_kg.graph.resolve import normalise, resolve, resolve_text
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import now
from lineage_kg.queries.arguments import time_arg
from lineage_kg.queries.assets import ownerships
from lineage_kg.queries.deployments import SHADOW, serves_at
from lineage_kg.queries.impact import training_data, walk_downstream
from lineage_kg.queries.traversal import Hop, Reached

KINDS = ("drop", "semantics")
KINDS_WITH_VALUE = ("rename:", "type:")
EXACT = Certainty.EXACT


def check_kind(kind: str) -> str:
    """The kind as given, if it is one; InvalidArgument naming the kinds otherwise."""
    kind = kind.strip()
    if kind in KINDS or (kind.startswith(KINDS_WITH_VALUE) and kind.partition(":")[2].strip()):
        return kind
    raise InvalidArgument(f"change kind {kind!r}: expected drop, semantics, rename:NEW or type:NEW")


@dataclass(frozen=True, slots=True)
class Change:
    ref: str  # a column or dataset: its display name or its id (`["Column", …]`)
    kind: str
    detail: str = ""
    file: str = ""  # where the change is made (a dbt model's .sql), for CI annotations

    def __post_init__(self) -> None:
        if not self.ref.strip():
            raise InvalidArgument("change ref: empty")
        object.__setattr__(self, "kind", check_kind(self.kind))


def parse_change(text: str) -> Change:
    """`REF=KIND` (the last `=` splits: kinds hold none)."""
    ref, sep, kind = text.rpartition("=")
    if not sep or not ref.strip():
        raise InvalidArgument(f"change {text!r}: expected REF=KIND")
    return Change(ref.strip(), kind)


@dataclass(frozen=True, slots=True)
class Impacted:
    node: StoredNode
    distance: int
    certainty: Certainty
    path: tuple[Hop, ...]
    change: Change  # the change the explaining path starts from


@dataclass(frozen=True, slots=True)
class DecisionAtRisk:
    decision_point: StoredNode
    model_version: StoredNode
    mode: str  # the deployment's mode: champion, canary, …
    certainty: Certainty
    path: tuple[Hop, ...]  # change … → model version → decision point
    change: Change


@dataclass(frozen=True, slots=True)
class ModelTouched:
    item: Impacted
    via: str  # "training data", "features" or "lineage"


@dataclass(frozen=True, slots=True)
class OwnerToNotify:
    owner: StoredNode
    left: bool
    exact: bool  # owns something exactly impacted
    assets: tuple[str, ...]  # display names of the impacted assets it owns

    @property
    def owner_id(self) -> str:
        return self.owner.key.parts[0]


@dataclass(slots=True)
class ChangeReport:
    changes: list[tuple[Change, StoredNode]]  # each resolved change and the node it names
    unresolved: list[tuple[Change, str]]  # the change and why it names nothing
    items: list[Impacted]
    decisions: list[DecisionAtRisk]
    kpis: list[Impacted]
    models: list[ModelTouched]
    owners: list[OwnerToNotify]
    truncated: bool
    at: str  # the time deployments were judged at
    unowned: list[Impacted] = field(default_factory=list)  # reached assets nobody owns


def _resolve(
    store: GraphStore, changes: Sequence[Change]
) -> tuple[list[tuple[Change, StoredNode]], list[tuple[Change, str]]]:
    """Each change's node: ids in one batched read, the rest (and ids not found as given,
    maybe another name of a dataset) through the one resolver."""
    keys: dict[int, NodeKey] = {}
    for i, change in enumerate(changes):
        if change.ref.startswith("["):
            try:
                keys[i] = normalise(NodeKey.from_id(change.ref))
            except ValueError:
                continue
    found = {n.id: n for n in store.get_nodes(sorted({k.id for k in keys.values()}))}
    resolved: list[tuple[Change, StoredNode]] = []
    unresolved: list[tuple[Change, str]] = []
    for i, change in enumerate(changes):
        node = found.get(keys[i].id) if i in keys else None
        try:
            if node is None:
                node = (
                    resolve(store, keys[i]).node
                    if i in keys
                    else resolve_text(store, change.ref).node
                )
        except (NotFound, InvalidArgument) as exc:
            unresolved.append((change, str(exc)))
            continue
        resolved.append((change, node))
    return resolved, unresolved


def _origin(hop: Hop) -> str:
    return hop.edge.key.src.id if hop.direction is Direction.OUT else hop.edge.key.dst.id


def _via(path: tuple[Hop, ...]) -> str:
    kinds = {h.edge.key.kind for h in path}
    if EdgeKind.TRAINED in kinds:
        return "training data"
    feature_kinds = (NodeKind.FEATURE, NodeKind.FEATURE_SERVICE, NodeKind.FEATURE_VIEW)
    if any(h.edge.key.src.kind in feature_kinds for h in path):
        return "features"
    return "lineage"


def _walks(
    store: GraphStore,
    resolved: list[tuple[Change, StoredNode]],
    *,
    depth: int,
    as_of: str | None,
    max_nodes: int,
) -> tuple[dict[str, tuple[Reached, Change]], bool]:
    """node id -> how it is reached, and by which change; and whether a walk was truncated.

    One walk from every changed column (and other non-dataset node); one more per changed
    dataset, from it and its columns (queries/traversal.py `start_nodes`). A whole dataset
    reached also field by field is walked as the whole (impact's COVERS), which makes its
    versions' readers possible where a column change alone would reach them exactly: so a
    changed dataset walks on its own, and a 50-column change stays one walk. Merged as one
    walk would: exact before possible, then nearer; the changed nodes are not impacted."""
    groups: list[dict[str, Change]] = [{}]
    datasets: dict[str, dict[str, Change]] = {}
    for change, node in resolved:
        if node.key.kind is NodeKind.DATASET:
            datasets.setdefault(node.id, {node.id: change})
        else:
            groups[0].setdefault(node.id, change)
    # the changed datasets' columns, read at once
    for edge in store.neighbors(sorted(datasets), Direction.OUT, [EdgeKind.HAS_COLUMN], as_of):
        group = datasets[edge.key.src.id]
        group.setdefault(edge.key.dst.id, group[edge.key.src.id])
    groups += datasets.values()
    starts = {i for g in groups for i in g}
    found: dict[str, tuple[Reached, Change]] = {}
    truncated = False
    for start_of in (g for g in groups if g):
        walk = walk_downstream(store, list(start_of), depth=depth, as_of=as_of, max_nodes=max_nodes)
        truncated = truncated or walk.truncated
        for r in training_data(walk, depth):
            if r.node_id in starts:
                continue
            held = found.get(r.node_id)
            if held is None or _rank(r) < _rank(held[0]):
                found[r.node_id] = (r, start_of[_origin(r.path[0])])
    return found, truncated


def _rank(r: Reached) -> tuple[bool, int]:
    return (r.certainty is not EXACT, r.distance)


def check_changes(
    store: GraphStore,
    changes: Sequence[Change],
    *,
    depth: int = 10,
    as_of: str | None = None,
    at: str | None = None,
    max_nodes: int = 100_000,
) -> ChangeReport:
    """What `changes` reach (one walk for all columns), and the decision points, KPIs, model
    versions and owners among it; deployments judged at `at` (default: `as_of`, else now)."""
    as_of = time_arg("as_of", as_of)
    when = time_arg("at", at) or as_of or now()
    resolved, unresolved = _resolve(store, changes)
    reached, truncated = _walks(store, resolved, depth=depth, as_of=as_of, max_nodes=max_nodes)
    nodes = {n.id: n for n in store.get_nodes(sorted(reached))}
    items = [
        Impacted(nodes[i], r.distance, r.certainty, r.path, change)
        for i, (r, change) in reached.items()
        if i in nodes
    ]
    items.sort(key=lambda i: (i.distance, i.node.key.kind.value, i.node.key.display, i.node.id))
    by_id = {i.node.id: i for i in items}
    models = [i for i in items if i.node.key.kind is NodeKind.MODEL_VERSION]
    report = ChangeReport(
        changes=resolved,
        unresolved=unresolved,
        items=items,
        decisions=_decisions(store, models, as_of, when),
        kpis=[i for i in items if i.node.key.kind is NodeKind.KPI],
        models=[ModelTouched(i, _via(i.path)) for i in models],
        owners=[],
        truncated=truncated,
        at=when,
    )
    report.owners, report.unowned = _owners(store, by_id, as_of)
    return report


def _decisions(
    store: GraphStore, models: list[Impacted], as_of: str | None, when: str
) -> list[DecisionAtRisk]:
    """The decision points the reached model versions serve at `when` (one read for all)."""
    by_id = {m.node.id: m for m in models}
    deployed = store.neighbors(sorted(by_id), Direction.OUT, [EdgeKind.DEPLOYED_TO], as_of)
    serving = [e for e in deployed if e.key.disc != SHADOW and serves_at(e, when)]
    points = {n.id: n for n in store.get_nodes(sorted({e.key.dst.id for e in serving}))}
    found: dict[str, DecisionAtRisk] = {}
    for edge in serving:
        model = by_id[edge.key.src.id]
        risk = DecisionAtRisk(
            points[edge.key.dst.id],
            model.node,
            edge.key.disc,
            model.certainty,
            (*model.path, Hop(edge, Direction.OUT)),
            model.change,
        )
        # per decision point the surest, then shortest explanation
        rank = (risk.certainty is not EXACT, len(risk.path), risk.model_version.id)
        held = found.get(edge.key.dst.id)
        if held is None or rank < (
            held.certainty is not EXACT,
            len(held.path),
            held.model_version.id,
        ):
            found[edge.key.dst.id] = risk
    return sorted(found.values(), key=lambda d: (d.certainty is not EXACT, d.decision_point.id))


def _owners(
    store: GraphStore,
    items: dict[str, Impacted],
    as_of: str | None,
) -> tuple[list[OwnerToNotify], list[Impacted]]:
    """The owners of every reached asset, exact first (a decision point at risk is reached:
    DEPLOYED_TO is lineage), and the reached assets nobody owns."""
    held = ownerships(store, items, as_of)
    found: dict[str, tuple[StoredNode, bool, bool, set[str]]] = {}
    for asset, owned in held.items():
        item = items[asset]
        for o in owned:
            node, left, exact, assets = found.get(o.owner.id, (o.owner, o.left, False, set()))
            assets.add(item.node.key.display)
            found[o.owner.id] = (node, left, exact or item.certainty is EXACT, assets)
    owners = [
        OwnerToNotify(n, left, exact, tuple(sorted(a))) for n, left, exact, a in found.values()
    ]
    owners.sort(key=lambda o: (not o.exact, o.owner.id))
    asset_kinds = {
        NodeKind.DATASET,
        NodeKind.FEATURE_VIEW,
        NodeKind.MODEL_VERSION,
        NodeKind.DECISION_POINT,
        NodeKind.KPI,
        NodeKind.EXPOSURE,
    }
    unowned = [
        i for i in items.values() if i.node.key.kind in asset_kinds and i.node.id not in held
    ]
    return owners, unowned


def schema_changes(
    store: GraphStore,
    dataset: NodeKey,
    fields: Sequence[tuple[str, str | None]],
    *,
    file: str = "",
    as_of: str | None = None,
) -> list[Change]:
    """A proposed schema (field name, type) for `dataset` against its current columns in the
    graph: a column no longer listed is a `drop`, one whose type differs (both known, case and
    blanks aside) a `type:<new>`. Renames are not guessed here. The current type is the one the
    schema facet put on the HAS_COLUMN edge, else the column's `data_type` (dbt's). NotFound if
    the graph does not know the dataset."""
    node = resolve(store, dataset).node
    edges = store.neighbors([node.id], Direction.OUT, [EdgeKind.HAS_COLUMN], as_of)
    columns = {n.id: n for n in store.get_nodes([e.key.dst.id for e in edges])}
    proposed = {name: kind for name, kind in fields}
    found: list[Change] = []
    for edge in sorted(edges, key=lambda e: e.key.dst.id):
        column = columns.get(edge.key.dst.id)
        name = edge.key.dst.parts[2]
        if name not in proposed:
            found.append(Change(edge.key.dst.id, "drop", "not in the proposed schema", file))
            continue
        now_type = edge.props.get("type") or (column.props.get("data_type") if column else None)
        new_type = proposed[name]
        if now_type and new_type and _norm(str(now_type)) != _norm(new_type):
            found.append(
                Change(edge.key.dst.id, f"type:{new_type}", f"{now_type} -> {new_type}", file)
            )
    return found


def _norm(type_name: str) -> str:
    return " ".join(type_name.split()).lower()
