"""One Feast record → graph mutations. Pure: the record's body, kind, id and time only.

- entity: Entity node (join keys, value type, description, tags).
- feature_view: FeatureView node; Dataset -SOURCES-> view for each dataset its sources read;
  view -HAS_FEATURE-> Feature (dtype); source Column -FEEDS-> Feature where the column is known.
- on_demand_feature_view: FeatureView node (on_demand); its features; every feature of every
  input view -FEEDS-> every output feature (exact at view level: Feast does not say which
  input an output reads), request sources noted in props.
- feature_service: FeatureService node; each view -SERVES_FEATURES-> service and each selected
  feature -SERVES_FEATURES-> service (a projection may select a subset of a view's features).
- owners: `owner` and tag `team` → Owner -OWNS(technical)-> the object.

Each record is the object's whole definition, so what it no longer lists is retired: a view's
dropped features (HAS_FEATURE), a feature's former source columns or inputs (FEEDS into it, which
only Feast asserts), a view's former datasets (SOURCES) and a service's former selections.
"""

from __future__ import annotations

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.naming import column_key, dataset_key, owner_id
from lineage_kg.ingest.eventlog import LogEntry
from lineage_kg.ingest.feast.records import (
    RECORD_MODELS,
    Described,
    EntityRecord,
    FeatureRecord,
    FeatureServiceRecord,
    FeatureViewRecord,
    OnDemandFeatureViewRecord,
)
from lineage_kg.ingest.sources import FEAST

OWNER_DISC = "technical"
TEAM_TAG = "team"


class UnknownFeastRecord(ValueError):
    """A record kind this mapper does not know (parked by the projector)."""


def feature_key(project: str, view: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.FEATURE, project=project, view=view, name=name)


def view_key(project: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.FEATURE_VIEW, project=project, name=name)


def service_key(project: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.FEATURE_SERVICE, project=project, name=name)


def entity_key(project: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.ENTITY, project=project, name=name)


def _common_props(record: Described) -> dict[str, object]:
    props: dict[str, object] = {"tags": [f"{k}={v}" for k, v in sorted(record.tags.items())]}
    if record.description:
        props["description"] = record.description
    if record.owner:
        props["owner"] = record.owner
    return props


def _owners(batch: MutationBatch, record: Described, asset: NodeKey, prov: Provenance) -> None:
    names = {record.owner, record.tags.get(TEAM_TAG, "")}
    for oid in sorted({owner_id(n) for n in names if n.strip()}):
        owner = NodeKey.of(NodeKind.OWNER, owner_id=oid)
        batch.edge(owner, EdgeKind.OWNS, asset, prov, disc=OWNER_DISC)


def _features(
    batch: MutationBatch,
    view: NodeKey,
    project: str,
    features: list[FeatureRecord],
    prov: Provenance,
) -> list[NodeKey]:
    keys = []
    for feature in features:
        key = batch.node(
            feature_key(project, view.parts[1], feature.name), prov, dtype=feature.dtype
        )
        batch.edge(view, EdgeKind.HAS_FEATURE, key, prov)
        keys.append(key)
    batch.add(EdgeRetire(view, EdgeKind.HAS_FEATURE, Direction.OUT, frozenset(keys), prov))
    return keys


def map_entity(record: EntityRecord, prov: Provenance) -> MutationBatch:
    batch = MutationBatch()
    key = batch.node(
        entity_key(record.project, record.name),
        prov,
        join_keys=record.join_keys,
        value_type=record.value_type,
        **_common_props(record),
    )
    _owners(batch, record, key, prov)
    return batch


def map_feature_view(record: FeatureViewRecord, prov: Provenance) -> MutationBatch:
    batch = MutationBatch()
    queries = [s.query for s in record.sources if s.query]
    view = batch.node(
        view_key(record.project, record.name),
        prov,
        on_demand=False,
        stream=record.stream,
        entities=record.entities,
        ttl_seconds=record.ttl_seconds,
        online=record.online,
        source_names=[s.name for s in record.sources],
        source_types=[s.type for s in record.sources],
        source_queries=queries,
        **_common_props(record),
    )
    datasets = {dataset_key(d.namespace, d.name) for s in record.sources for d in s.datasets}
    for dataset in sorted(datasets):
        batch.edge(dataset, EdgeKind.SOURCES, view, prov)
    batch.add(EdgeRetire(view, EdgeKind.SOURCES, Direction.IN, frozenset(datasets), prov))
    keys = _features(batch, view, record.project, record.features, prov)
    for feature, key in zip(record.features, keys, strict=True):
        columns = set()
        for ref in feature.columns:
            dataset = dataset_key(ref.namespace, ref.name)
            column = column_key(dataset, ref.field)
            batch.edge(dataset, EdgeKind.HAS_COLUMN, column, prov)
            batch.edge(column, EdgeKind.FEEDS, key, prov)
            columns.add(column)
        batch.add(EdgeRetire(key, EdgeKind.FEEDS, Direction.IN, frozenset(columns), prov))
    _owners(batch, record, view, prov)
    return batch


def map_on_demand_view(record: OnDemandFeatureViewRecord, prov: Provenance) -> MutationBatch:
    batch = MutationBatch()
    view = batch.node(
        view_key(record.project, record.name),
        prov,
        on_demand=True,
        mode=record.mode,
        input_views=[i.view for i in record.inputs],
        request_sources=[r.name for r in record.request_sources],
        request_fields=[f"{r.name}.{f}" for r in record.request_sources for f in r.fields],
        **_common_props(record),
    )
    outputs = _features(batch, view, record.project, record.features, prov)
    inputs = frozenset(
        feature_key(record.project, i.view, name) for i in record.inputs for name in i.features
    )
    for output in outputs:
        for source in sorted(inputs):
            batch.edge(source, EdgeKind.FEEDS, output, prov)
        batch.add(EdgeRetire(output, EdgeKind.FEEDS, Direction.IN, inputs, prov))
    _owners(batch, record, view, prov)
    return batch


def map_feature_service(record: FeatureServiceRecord, prov: Provenance) -> MutationBatch:
    batch = MutationBatch()
    service = batch.node(
        service_key(record.project, record.name),
        prov,
        views=[v.view for v in record.views],
        **_common_props(record),
    )
    served: set[NodeKey] = set()
    for selection in record.views:
        view = view_key(record.project, selection.view)
        batch.edge(view, EdgeKind.SERVES_FEATURES, service, prov)
        served.add(view)
        for name in selection.features:
            feature = feature_key(record.project, selection.view, name)
            batch.edge(feature, EdgeKind.SERVES_FEATURES, service, prov)
            served.add(feature)
    batch.add(EdgeRetire(service, EdgeKind.SERVES_FEATURES, Direction.IN, frozenset(served), prov))
    _owners(batch, record, service, prov)
    return batch


MAPPERS = {
    "entity": map_entity,
    "feature_view": map_feature_view,
    "on_demand_feature_view": map_on_demand_view,
    "feature_service": map_feature_service,
}


def map_entry(entry: LogEntry) -> MutationBatch:
    if entry.kind not in RECORD_MODELS:
        raise UnknownFeastRecord(f"unknown Feast record kind {entry.kind!r}")
    record = RECORD_MODELS[entry.kind].model_validate(entry.body)
    prov = Provenance(FEAST, entry.event_id, entry.event_time)
    return MAPPERS[entry.kind](record, prov)  # type: ignore[operator]
