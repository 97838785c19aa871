"""The graph vocabulary: node kinds and their identity keys, edge kinds and what they connect.

This is the one vocabulary of lineage-kg. Ingestors build `NodeKey`s and edges from it, the stores
persist it, queries traverse it and the GraphQL schema names its types after it.

Lineage ("flow") edges all point downstream, so impact follows outgoing flow edges and root cause
follows incoming ones. Each flow edge kind says how certain it is: field-level edges (a column
feeding a column) are exact, dataset-level edges (a dataset feeding a job) only say "possibly".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any


class NodeKind(StrEnum):
    DATASET = "Dataset"
    COLUMN = "Column"
    DATASET_VERSION = "DatasetVersion"
    JOB = "Job"
    RUN = "Run"
    ENTITY = "Entity"
    FEATURE_VIEW = "FeatureView"
    FEATURE = "Feature"
    FEATURE_SERVICE = "FeatureService"
    MODEL = "Model"
    MODEL_VERSION = "ModelVersion"
    DECISION_POINT = "DecisionPoint"
    DECISION = "Decision"
    KPI = "KPI"
    EXPOSURE = "Exposure"
    OWNER = "Owner"
    # a monitoring check (drift, performance) on a model version, decision point or dataset
    CHECK = "Check"


# Identity fields per kind, in order. A node is the same node exactly when these are equal.
KEY_FIELDS: dict[NodeKind, tuple[str, ...]] = {
    NodeKind.DATASET: ("namespace", "name"),
    NodeKind.COLUMN: ("namespace", "name", "field"),
    NodeKind.DATASET_VERSION: ("namespace", "name", "version"),
    NodeKind.JOB: ("namespace", "name"),
    NodeKind.RUN: ("run_id",),
    NodeKind.ENTITY: ("project", "name"),
    NodeKind.FEATURE_VIEW: ("project", "name"),
    NodeKind.FEATURE: ("project", "view", "name"),
    NodeKind.FEATURE_SERVICE: ("project", "name"),
    NodeKind.MODEL: ("registry", "name"),
    NodeKind.MODEL_VERSION: ("registry", "name", "version"),
    NodeKind.DECISION_POINT: ("name",),
    NodeKind.DECISION: ("decision_id",),
    NodeKind.KPI: ("name",),
    NodeKind.EXPOSURE: ("namespace", "name"),
    NodeKind.OWNER: ("owner_id",),
    # `subject` is the display name of what is checked, e.g. `mlflow/credit-risk@3`
    NodeKind.CHECK: ("subject", "name"),
}

# Property names the stores use for bookkeeping; a node's or edge's own props may not use them.
RESERVED_PROPS = frozenset(
    {
        "key",
        "kind",
        "display",
        "sources",
        "first_seen",
        "first_event",
        "last_seen",
        "last_event",
        "valid_to",
        "retired_by",
        "_retired",  # on a node: the retirements anchored there (graph/validity.py)
        "disc",
        "_stamps",
    }
)


# one encoder for every id: json.dumps with options builds a new encoder on each call
_encode_id = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True, slots=True, order=True)
class NodeKey:
    """The identity of one node: its kind and its key field values, validated once here."""

    kind: NodeKind
    parts: tuple[str, ...]
    # the id, computed once: a projection asks for it hundreds of thousands of times
    _id: str = field(init=False, repr=False, compare=False, hash=False, default="")

    def __post_init__(self) -> None:
        fields = KEY_FIELDS[self.kind]
        if len(self.parts) != len(fields):
            raise ValueError(f"{self.kind} key needs {fields}, got {len(self.parts)} value(s)")
        for name, value in zip(fields, self.parts, strict=True):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{self.kind}.{name} must be a non-empty string")
        object.__setattr__(self, "_id", _encode_id([self.kind.value, *self.parts]))

    @classmethod
    def of(cls, kind: NodeKind | str, **fields: str) -> NodeKey:
        kind = NodeKind(kind)
        expected = KEY_FIELDS[kind]
        if len(fields) != len(expected) or not all(f in fields for f in expected):
            raise ValueError(f"{kind} key needs fields {expected}, got {tuple(sorted(fields))}")
        return cls(kind, tuple(fields[f] for f in expected))

    @property
    def id(self) -> str:
        """A string id, unique across kinds and unambiguous whatever the names contain."""
        return self._id

    @classmethod
    def from_id(cls, node_id: str) -> NodeKey:
        try:
            return _key_from_id(node_id)
        except TypeError as exc:  # unhashable: not a string
            raise ValueError(f"not a node id: {node_id!r}") from exc

    @property
    def fields(self) -> dict[str, str]:
        return dict(zip(KEY_FIELDS[self.kind], self.parts, strict=True))

    @property
    def display(self) -> str:
        """A short human label, e.g. `postgres://db:5432/public.orders#id`."""
        template = _DISPLAY.get(self.kind)
        return template.format(*self.parts) if template is not None else "/".join(self.parts)


# `NodeKey.display` by the key's parts in KEY_FIELDS' order, for the kinds whose label is not
# the parts joined by "/". A table, not a `match` over the kinds (an enum member looked up per
# case: ~2.6 us a key against ~0.8; a decision trace sorts ~750 steps by it, an API page labels
# every node). tests/unit/test_display_labels.py holds it to the fields' labels.
_DISPLAY: dict[NodeKind, str] = {
    NodeKind.DATASET: "{0}/{1}",  # namespace/name
    NodeKind.JOB: "{0}/{1}",
    NodeKind.EXPOSURE: "{0}/{1}",
    NodeKind.COLUMN: "{0}/{1}#{2}",  # namespace/name#field
    NodeKind.DATASET_VERSION: "{0}/{1}@{2}",  # namespace/name@version
    NodeKind.MODEL_VERSION: "{0}/{1}@{2}",  # registry/name@version
    NodeKind.FEATURE: "{0}/{1}:{2}",  # project/view:name
}


# Reads turn the same ids back into keys again and again (every edge of a walk names two nodes);
# keys are immutable, so a bounded cache of parsed ids is safe and saves most of that work.
@lru_cache(maxsize=1 << 17)
def _key_from_id(node_id: str) -> NodeKey:
    try:
        kind, *parts = json.loads(node_id)
        return NodeKey(NodeKind(kind), tuple(parts))
    except (ValueError, TypeError, RecursionError) as exc:  # '[[[…' nests past recursion
        raise ValueError(f"not a node id: {node_id!r}") from exc


class Certainty(StrEnum):
    """How sure a flow edge is that a change upstream reaches downstream."""

    EXACT = "exact"  # field-level: this column/feature is computed from that one
    POSSIBLE = "possible"  # dataset-level: something in the input may reach the output


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    sources: frozenset[NodeKind]
    targets: frozenset[NodeKind]
    certainty: Certainty | None  # None: structural, not a lineage flow


class EdgeKind(StrEnum):
    HAS_COLUMN = "HAS_COLUMN"
    HAS_VERSION = "HAS_VERSION"
    INPUT_TO = "INPUT_TO"
    PRODUCES = "PRODUCES"
    RUN_OF = "RUN_OF"
    PARENT_OF = "PARENT_OF"
    READ_BY = "READ_BY"
    WROTE = "WROTE"
    FEEDS = "FEEDS"
    SOURCES = "SOURCES"
    HAS_FEATURE = "HAS_FEATURE"
    SERVES_FEATURES = "SERVES_FEATURES"
    TRAINED = "TRAINED"
    ALIAS = "ALIAS"
    DEPLOYED_TO = "DEPLOYED_TO"
    DECIDED = "DECIDED"
    DRIVES = "DRIVES"
    CONSUMED_BY = "CONSUMED_BY"
    OWNS = "OWNS"
    MEMBER_OF = "MEMBER_OF"
    ALIAS_OF = "ALIAS_OF"
    RENAMED_TO = "RENAMED_TO"
    CHECKS = "CHECKS"

    @property
    def spec(self) -> EdgeSpec:
        return EDGE_SPECS[self]

    @property
    def is_flow(self) -> bool:
        return EDGE_SPECS[self].certainty is not None


K = NodeKind
_ANY = frozenset(K)


def _spec(sources: set[NodeKind], targets: set[NodeKind], certainty: Certainty | None) -> EdgeSpec:
    return EdgeSpec(frozenset(sources), frozenset(targets), certainty)


EXACT, POSSIBLE = Certainty.EXACT, Certainty.POSSIBLE
EDGE_SPECS: dict[EdgeKind, EdgeSpec] = {
    # structure
    EdgeKind.HAS_COLUMN: _spec({K.DATASET}, {K.COLUMN}, None),
    EdgeKind.HAS_VERSION: _spec({K.DATASET, K.MODEL}, {K.DATASET_VERSION, K.MODEL_VERSION}, None),
    EdgeKind.RUN_OF: _spec({K.RUN}, {K.JOB}, None),
    EdgeKind.PARENT_OF: _spec({K.RUN, K.JOB}, {K.RUN, K.JOB}, None),
    EdgeKind.ALIAS: _spec({K.MODEL}, {K.MODEL_VERSION}, None),
    EdgeKind.OWNS: _spec({K.OWNER}, _ANY - {K.OWNER}, None),
    EdgeKind.MEMBER_OF: _spec({K.OWNER}, {K.OWNER}, None),
    # another name of one owner (an email alias, a handle): alias -ALIAS_OF-> canonical owner
    EdgeKind.ALIAS_OF: _spec({K.OWNER}, {K.OWNER}, None),
    EdgeKind.CHECKS: _spec(
        {K.CHECK}, {K.MODEL_VERSION, K.MODEL, K.DECISION_POINT, K.DATASET, K.FEATURE_VIEW}, None
    ),
    # a dataset renamed (lifecycleStateChange RENAME): what fed the old name feeds the new one
    EdgeKind.RENAMED_TO: _spec({K.DATASET}, {K.DATASET}, POSSIBLE),
    # dataset-level flow: something upstream may reach downstream
    EdgeKind.INPUT_TO: _spec({K.DATASET}, {K.JOB}, POSSIBLE),
    EdgeKind.PRODUCES: _spec({K.JOB}, {K.DATASET}, POSSIBLE),
    # a run read a dataset version; straight from the Dataset when the version read is unknown
    EdgeKind.READ_BY: _spec({K.DATASET_VERSION, K.DATASET}, {K.RUN}, POSSIBLE),
    EdgeKind.WROTE: _spec({K.RUN}, {K.DATASET_VERSION}, POSSIBLE),
    EdgeKind.SOURCES: _spec({K.DATASET}, {K.FEATURE_VIEW}, POSSIBLE),
    EdgeKind.TRAINED: _spec({K.RUN}, {K.MODEL_VERSION}, POSSIBLE),
    EdgeKind.CONSUMED_BY: _spec(
        {K.DATASET, K.MODEL_VERSION, K.FEATURE_SERVICE, K.KPI},
        {K.EXPOSURE, K.KPI, K.MODEL_VERSION, K.JOB},
        POSSIBLE,
    ),
    # field-level flow: exact
    # column-level lineage; into a Dataset for columns that affect all of it (filters, joins)
    # a feature service feeds the model versions using it; a metric feeds the KPI derived from it
    EdgeKind.FEEDS: _spec(
        {K.COLUMN, K.FEATURE, K.FEATURE_SERVICE, K.KPI},
        {K.COLUMN, K.FEATURE, K.KPI, K.MODEL_VERSION, K.DATASET},
        EXACT,
    ),
    EdgeKind.HAS_FEATURE: _spec({K.FEATURE_VIEW}, {K.FEATURE}, EXACT),
    # a view, or one selected feature of it, served by a feature service
    EdgeKind.SERVES_FEATURES: _spec({K.FEATURE_VIEW, K.FEATURE}, {K.FEATURE_SERVICE}, EXACT),
    EdgeKind.DEPLOYED_TO: _spec({K.MODEL_VERSION}, {K.DECISION_POINT}, EXACT),
    # one decision; or, aggregated, "this version made decisions at this decision point" (the
    # decisions themselves live in a side table: ingest/decisions)
    EdgeKind.DECIDED: _spec({K.MODEL_VERSION}, {K.DECISION, K.DECISION_POINT}, EXACT),
    EdgeKind.DRIVES: _spec({K.DECISION_POINT, K.DECISION}, {K.KPI}, EXACT),
}
assert set(EDGE_SPECS) == set(EdgeKind), "every edge kind needs a spec"

# Props that impact reads while it walks (set by ingest/openlineage/columns.py):
# on a PRODUCES edge, True when the job's column lineage for that output is authoritative (the
# producer sent a columnLineage facet for it): an input column it does not name does not reach
# the output, not even as "possible"; `column_lineage_at` is the newest event time that said so
COLUMN_LINEAGE = "column_lineage"
# on a FEEDS edge, the sorted transformation types (DIRECT, INDIRECT); only INDIRECT = indirect
TRANSFORMATION_TYPES = "transformation_types"
INDIRECT = "INDIRECT"

PropValue = str | int | float | bool | list[str] | list[int] | list[float] | list[bool]


def check_props(props: dict[str, Any], reserved: frozenset[str], where: str) -> dict[str, Any]:
    """Props must be storable as Neo4j properties: scalars or flat homogeneous lists, no nulls.

    Nested structures (facets) are the ingestor's to serialise (as JSON strings); refusing them
    here keeps both stores able to hold exactly the same values.
    """
    for name, value in props.items():
        if name in reserved:
            raise ValueError(f"{where}: property {name!r} is reserved")
        if value is None:
            raise ValueError(f"{where}: property {name!r} is null (omit it instead)")
        if isinstance(value, list):
            if len({type(v) for v in value}) > 1 or any(
                isinstance(v, (dict, list)) or v is None for v in value
            ):
                raise ValueError(f"{where}: property {name!r} must be a flat list of one type")
        elif not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"{where}: property {name!r} has unsupported type {type(value)}")
    return props
