"""Impact's step policy: which edges carry a change downstream, how sure, in which walk state.

A node is walked in one of three states:
- WHOLE: the whole node may have changed — every start, and what dataset-level lineage reaches;
- FIELD: a dataset entered from one of its columns (only that column changed), or a job reached
  from such a dataset;
- EVERY_COLUMN: a dataset reached by a dataset-wide column dependency (the columnLineage
  `dataset` list: a filter, a join, a grouping): each of its columns may change.

The rules (docs/openlineage-facets.md, "Certainty" says them for users):
- a column reaches the dataset holding it (HAS_COLUMN in, certainty kept), in FIELD;
- FEEDS is exact: into a column in FIELD, into a dataset in EVERY_COLUMN, into anything else
  (feature, KPI, model version) in WHOLE; with `include_indirect` False, FEEDS edges whose
  transformations are all INDIRECT, and those into a whole dataset, are not followed;
- a dataset in EVERY_COLUMN reaches each of its columns (HAS_COLUMN out, certainty kept);
- INPUT_TO (possible) keeps WHOLE, and takes FIELD or EVERY_COLUMN to FIELD;
- PRODUCES (possible) from a job in WHOLE reaches every output; from a job in FIELD only the
  outputs without authoritative column lineage from that job (column lineage is authoritative
  for its output: a column it does not name does not reach it, not even as possible);
- training data is lineage (issue 16): a dataset reaches each of its versions (HAS_VERSION,
  with `asOf` those known then; in the dataset's state), a version the runs that read it
  (READ_BY) and a run the model versions it trained (TRAINED, certainty kept). A version entered
  from a column (FIELD, EVERY_COLUMN) keeps the certainty it arrived with — exact when column
  lineage leads into the training table; a version of a whole dataset, and a run that read a
  dataset without naming the version, make the read possible (no column detail);
- every other flow edge except WROTE (a run's outputs are history), at its own certainty, in
  WHOLE.
"""

from __future__ import annotations

from collections.abc import Callable

from lineage_kg.graph.model import (
    COLUMN_LINEAGE,
    INDIRECT,
    TRANSFORMATION_TYPES,
    EdgeKind,
    NodeKind,
)
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import EdgeTest
from lineage_kg.queries.traversal import Step, flow_steps

WHOLE, FIELD, EVERY_COLUMN = "whole", "field", "every-column"
# a walk in WHOLE or EVERY_COLUMN follows everything one in FIELD does (at no greater distance;
# in WHOLE a version's readers are possible, which is what a whole start dataset means)
COVERS = {WHOLE: frozenset({FIELD}), EVERY_COLUMN: frozenset({FIELD})}
COLUMN_LEVEL = frozenset({FIELD, EVERY_COLUMN})

E = EdgeKind
OUT, IN = Direction.OUT, Direction.IN
_OWN_RULES = (E.FEEDS, E.INPUT_TO, E.PRODUCES, E.HAS_COLUMN, E.WROTE, E.READ_BY, E.TRAINED)


def _from(kind: NodeKind) -> Callable[[StoredEdge], bool]:
    return EdgeTest(src=frozenset({kind}))  # a test Neo4j's one-statement walk runs too


def is_indirect(edge: StoredEdge) -> bool:
    """A FEEDS edge that only filters, joins, groups, sorts… (every transformation INDIRECT), or
    one into a whole dataset (the columnLineage `dataset` list)."""
    if edge.key.dst.kind is NodeKind.DATASET:
        return True
    types = edge.props.get(TRANSFORMATION_TYPES) or []
    return bool(types) and all(t == INDIRECT for t in types)


def _into(kind: NodeKind, direct_only: bool) -> Callable[[StoredEdge], bool]:
    if not direct_only:
        return EdgeTest(dst=frozenset({kind}))

    def accepts(edge: StoredEdge) -> bool:
        return edge.key.dst.kind is kind and not (direct_only and is_indirect(edge))

    return accepts


def _into_other(direct_only: bool) -> Callable[[StoredEdge], bool]:
    if not direct_only:
        return EdgeTest(dst=frozenset(NodeKind) - {NodeKind.COLUMN, NodeKind.DATASET})

    def accepts(edge: StoredEdge) -> bool:
        dst = edge.key.dst.kind
        return dst not in (NodeKind.COLUMN, NodeKind.DATASET) and not (
            direct_only and is_indirect(edge)
        )

    return accepts


_not_authoritative = EdgeTest(unset=COLUMN_LINEAGE)


def impact_steps(*, include_indirect: bool = True) -> list[Step]:
    exact, possible = E.FEEDS.spec.certainty, E.PRODUCES.spec.certainty
    from_version = _from(NodeKind.DATASET_VERSION)
    direct_only = not include_indirect
    steps = [
        Step(E.HAS_COLUMN, IN, None, then=FIELD),
        Step(E.FEEDS, OUT, exact, then=FIELD, accepts=_into(NodeKind.COLUMN, direct_only)),
        Step(E.FEEDS, OUT, exact, then=WHOLE, accepts=_into_other(direct_only)),
        Step(E.HAS_COLUMN, OUT, None, then=FIELD, only_from=frozenset({EVERY_COLUMN})),
        Step(E.INPUT_TO, OUT, possible, then=WHOLE, only_from=frozenset({WHOLE})),
        Step(E.INPUT_TO, OUT, possible, then=FIELD, only_from=frozenset({FIELD, EVERY_COLUMN})),
        Step(E.PRODUCES, OUT, possible, then=WHOLE, only_from=frozenset({WHOLE})),
        Step(
            E.PRODUCES,
            OUT,
            possible,
            then=WHOLE,
            only_from=frozenset({FIELD}),
            accepts=_not_authoritative,
        ),
    ]
    steps += [
        Step(E.HAS_VERSION, OUT, None, accepts=_from(NodeKind.DATASET)),  # the dataset's state
        Step(E.READ_BY, OUT, None, then=WHOLE, only_from=COLUMN_LEVEL, accepts=from_version),
        Step(E.READ_BY, OUT, possible, then=WHOLE, only_from=frozenset({WHOLE})),
        Step(E.READ_BY, OUT, possible, then=WHOLE, accepts=_from(NodeKind.DATASET)),
        Step(E.TRAINED, OUT, None, then=WHOLE),
    ]
    if include_indirect:
        steps.append(
            Step(E.FEEDS, OUT, exact, then=EVERY_COLUMN, accepts=_into(NodeKind.DATASET, False))
        )
    steps += [
        Step(s.kind, s.direction, s.certainty, then=WHOLE)
        for s in flow_steps(OUT)
        if s.kind not in _OWN_RULES
    ]
    return steps
