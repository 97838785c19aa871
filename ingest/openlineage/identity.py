"""Which Dataset node a dataset of an event is: its symlinks decide.

Spark names a Hive/Glue table by its storage path (`file:/warehouse/t1`), Hive and Trino by its
table name; OpenLineage's `symlinks` facet lists the other names. A TABLE symlink is the
cross-tool identity, so it is the canonical node and every other name becomes an alias. Only the
event's own symlinks are known here (the mapping is pure): each other name is also handed to the
store as a `DatasetLink`, and the store joins the names across events, in any order
(graph/merge.py): another event naming the path alone lands on the table's node too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.naming import dataset_key
from lineage_kg.ingest.facets import facet, facets_of, text
from lineage_kg.ingest.openlineage.builder import log

_TABLE = "TABLE"


def _symlinks(ds: dict[str, Any]) -> list[tuple[NodeKey, str]]:
    """The valid (key, type) pairs of a dataset's symlinks facet; odd entries are ignored."""
    symlinks = facet(facets_of(ds), "symlinks")
    identifiers = symlinks.get("identifiers") if symlinks else None
    if identifiers is None:
        return []
    if not isinstance(identifiers, list):
        log.warning("ignoring symlinks of %s: identifiers is not a list", ds.get("name"))
        return []
    found = []
    for ident in identifiers:
        if not isinstance(ident, dict):
            continue
        try:
            key = dataset_key(ident.get("namespace"), ident.get("name"))
        except ValueError:
            continue
        found.append((key, str(ident.get("type") or "").upper()))
    return found


def canonical_dataset(ds: dict[str, Any]) -> NodeKey:
    """The Dataset node of an event's dataset: its first TABLE symlink, else its own name.

    Raises ValueError when the dataset has no usable namespace/name of its own.
    """
    own = dataset_key(ds.get("namespace"), ds.get("name"))
    for key, kind in _symlinks(ds):
        if kind == _TABLE:
            return key
    return own


def other_names(ds: dict[str, Any], canonical: NodeKey) -> list[NodeKey]:
    """Every other name the dataset goes by in this event (its own, its symlinks of any type)."""
    names = [dataset_key(ds.get("namespace"), ds.get("name")), *(k for k, _ in _symlinks(ds))]
    return sorted({key for key in names if key != canonical})


def dataset_aliases(ds: dict[str, Any], canonical: NodeKey) -> list[str]:
    """Every other name the dataset goes by in this event, as "namespace/name"."""
    return sorted({key.display for key in other_names(ds, canonical)})


def _folded(key: NodeKey) -> tuple[str, str]:
    namespace, name = key.parts
    return namespace, name.lower()


class AliasTable:
    """Every name of every dataset in one event, to its canonical node.

    Column lineage and renames name datasets by whichever name their producer used; resolving
    through this table puts their columns on the same node as the event's own datasets.

    Letter case: a producer's column lineage may spell a table or a column otherwise than the
    same event's datasets and schema facets do (dbt-ol on Snowflake: the schema from the catalog,
    `AMOUNT`; the lineage from the compiled SQL, `amount`). SQL folds unquoted identifiers, so a
    name that matches none of the event's exactly but exactly one of them but for case is that
    one; two that differ only by case (quoted identifiers) leave the name as written.
    """

    def __init__(self, datasets: Iterable[dict[str, Any]]) -> None:
        self._canonical: dict[NodeKey, NodeKey] = {}
        # the event's datasets with their canonical nodes: the case-folded tables below are made
        # from them when a name is first missed (most events never miss one)
        self._named: dict[NodeKey, list[dict[str, Any]]] = {}
        self._by_case: dict[tuple[str, str], set[NodeKey]] | None = None
        # canonical dataset -> its schema facets' column names, made when first asked; and
        # lowercased name -> the one spelling of it, made at the first name spelled otherwise
        self._exact: dict[NodeKey, set[str]] = {}
        self._folded: dict[NodeKey, dict[str, str]] = {}
        # id(schema facet) -> its column paths, as the mapping read them (note_schema): read
        # once an event, not again here
        self._schemas: dict[int, tuple[dict[str, Any], list[str]]] = {}
        # (output, id(facet)) -> what reading that output's columnLineage facet gave (with the
        # facet itself, so the id stays its own): an event's facet is read up to four times
        # (ingest/openlineage/columns.py `column_flows`), always through this event's table
        self.flows_read: dict[tuple[NodeKey, int], tuple[Any, ...]] = {}
        for ds in datasets:
            try:
                canonical = canonical_dataset(ds)
                own = dataset_key(ds.get("namespace"), ds.get("name"))
            except ValueError:
                continue
            self._named.setdefault(canonical, []).append(ds)
            for key in (own, *(k for k, _ in _symlinks(ds))):
                self._canonical.setdefault(key, canonical)

    def resolve(self, namespace: object, name: object) -> NodeKey:
        """The canonical node for a (namespace, name); ValueError if it is not a dataset name."""
        key = dataset_key(namespace, name)
        found = self._canonical.get(key)
        if found is None:
            if self._by_case is None:
                self._by_case = {}
                for alias, canonical in self._canonical.items():
                    self._by_case.setdefault(_folded(alias), set()).add(canonical)
            folded = self._by_case.get(_folded(key), ())
            found = next(iter(folded)) if len(folded) == 1 else key
        return found

    def _schema_paths(self, mentions: Iterable[dict[str, Any]]) -> set[str]:
        """A dataset's column names in the event's schema facets (nested as "parent.child", as
        facets.schema_columns names them); a facet schema_columns cannot read gives none (it
        is reported where the schema is mapped)."""
        exact: set[str] = set()
        for ds in mentions:
            schema = facet(facets_of(ds), "schema")
            if not isinstance(schema, dict):
                continue
            noted = self._schemas.get(id(schema))
            if noted is not None and noted[0] is schema:
                exact.update(noted[1])
                continue
            found: set[str] = set()
            try:
                _field_paths(schema.get("fields"), "", found)
            except TypeError:
                continue
            exact |= found
        return exact

    def note_schema(self, schema: dict[str, Any], paths: list[str]) -> None:
        """The column paths of one of the event's schema facets, read by the mapping."""
        self._schemas[id(schema)] = (schema, paths)

    def field(self, dataset: NodeKey, name: Any) -> Any:
        """`name` as the event's schema facets spell that column of `dataset` (itself if they
        spell it so, name no such column, or spell it two ways but for case)."""
        exact = self._exact.get(dataset)
        if exact is None:
            exact = self._exact[dataset] = self._schema_paths(self._named.get(dataset, ()))
        if not isinstance(name, str) or name in exact:
            return name
        folded = self._folded.get(dataset)
        if folded is None:  # a name spelled otherwise: rare, so folded only now
            folded = self._folded[dataset] = _one_spelling(exact)
        return folded.get(name.lower(), name)


def _one_spelling(exact: set[str]) -> dict[str, str]:
    """By lowercased name, the one spelling of each name spelled one way only."""
    spellings: dict[str, set[str]] = {}
    for path in exact:
        spellings.setdefault(path.lower(), set()).add(path)
    return {low: next(iter(s)) for low, s in spellings.items() if len(s) == 1}


def _field_paths(fields: Any, prefix: str, into: set[str]) -> None:
    """facets.schema_columns' paths without its (path, entry) pairs: the names alone."""
    if not isinstance(fields, list):
        raise TypeError("schema fields must be a list")
    for entry in fields:
        name = text(entry.get("name")) if isinstance(entry, dict) else None
        if name is None:
            continue
        path = f"{prefix}{name}"
        into.add(path)
        if entry.get("fields"):
            _field_paths(entry["fields"], f"{path}.", into)
