"""The Neo4j store's graph as the offline importer's CSV files (issue 19, target 4, session 34).

An EMPTY Neo4j database is filled fastest by `neo4j-admin database import full` (the launcher's
classpath holds it: tools/neo4j_import.py), not by the projector's `UNWIND … MERGE … SET`
transactions. This module writes what those transactions would leave: every record of a store
the projector filled in memory (the embedded store: the same mapping and merge), as
graph/neo4j_unit_of_work.py writes it:

- a node: labels `Node` and its kind's, its record as its properties (`SET n = row`: a null is
  no property, a tuple a list), `key` its unique key;
- a relationship: its kind's type between the nodes of its two keys, its record (with `disc`)
  as its properties (`SET r = row.rec`);
- the alias table: one `LkgAlias {key, canonical}` per linked name;
- the checkpoint: `LkgCheckpoint {name: 'projector', seq, locked: true}` (the fence's
  `claim_checkpoint` leaves `locked` on it; `seq` the log position the records hold).

Each file holds the records of one kind with one set of properties of the same types (its
header). A value the CSV format cannot carry exactly (an empty list, a list holding an empty
string or the array delimiter, a number Neo4j would not hold) is left out of the file and kept
as a fix-up, set with Cypher (parameters only) once the server runs (`apply_fixups`). The
constraints and indexes are the store's own: opening a `Neo4jStore` on the imported database
makes them (`SCHEMA`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, LiteralString, cast

from neo4j import Driver

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.records import EdgeId, Record

ARRAY_DELIMITER = "\x1f"  # the importer's --array-delimiter (U+001F): never in a name or a time
NODE_SPACE = "Node"  # the importer's id space of the graph's nodes (their `key`)
_LONG = 1 << 63

# a relationship record's properties set after the import (the same statement per kind)
_FIX_NODES: LiteralString = "UNWIND $rows AS row MATCH (n:Node {key: row.key}) SET n += row.props"
_FIX_EDGES: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        "UNWIND $rows AS row MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
        f"CALL (a, b, row) {{ MATCH (a)-[r:{kind.value}]->(b) WHERE r.disc = row.disc RETURN r }} "
        "SET r += row.props",
    )
    for kind in EdgeKind
}


@dataclass
class Written:
    """The files one export wrote, and what the importer is to be told about them."""

    nodes: list[Path] = field(default_factory=list)  # header on the first line of each
    relationships: list[Path] = field(default_factory=list)
    multiline: bool = False  # a field holds a line break: --multiline-fields=true
    node_count: int = 0
    edge_count: int = 0
    alias_count: int = 0
    checkpoint: int = 0
    # key -> props, and edge id -> props, set by `apply_fixups` once the server runs
    node_fixups: dict[str, Record] = field(default_factory=dict)
    edge_fixups: dict[EdgeId, Record] = field(default_factory=dict)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _field(value: Any) -> tuple[str, str] | None:
    """(the importer's type, the field) of a property value, or None if no field carries it
    exactly: a quoted "" is an empty string, an empty field no property."""
    kind = type(value)
    if kind is str:
        return "string", _quoted(value)
    if kind is bool:
        return "boolean", "true" if value else "false"
    if kind is int:
        return ("long", str(value)) if -_LONG <= value < _LONG else None
    if kind is float:
        return ("double", repr(value)) if math.isfinite(value) else None
    if kind is list or kind is tuple:
        return _array(value)
    return None


def _array(values: Any) -> tuple[str, str] | None:
    if not values:  # "" is no property: an empty list only Cypher writes
        return None
    kinds = {type(v) for v in values}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    if kind is str:
        if any(not v or ARRAY_DELIMITER in v for v in values):
            return None
        return "string[]", _quoted(ARRAY_DELIMITER.join(values))
    if kind is bool:
        return "boolean[]", _quoted(ARRAY_DELIMITER.join("true" if v else "false" for v in values))
    if kind is int and all(-_LONG <= v < _LONG for v in values):
        return "long[]", _quoted(ARRAY_DELIMITER.join(map(str, values)))
    if kind is float and all(math.isfinite(v) for v in values):
        return "double[]", _quoted(ARRAY_DELIMITER.join(map(repr, values)))
    return None


class _Files:
    """One CSV file per (what, the columns and their types), each with its header first: a
    record's own columns, so a property absent from it is an empty field only where another
    record of the file has it."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory, self.prefix = directory, prefix
        self.open: dict[tuple[str, tuple[tuple[str, str], ...]], IO[str]] = {}
        self.paths: list[Path] = []

    def write(
        self, group: str, head: list[str], signature: tuple[tuple[str, str], ...], fields: list[str]
    ) -> None:
        """`head`: the fixed columns' fields (ids, label or type); `signature`: the other
        columns' (name, type), `fields` theirs."""
        out = self.open.get((group, signature))
        if out is None:
            path = self.directory / f"{self.prefix}-{len(self.paths):05d}.csv"
            self.paths.append(path)
            out = self.open[group, signature] = path.open("w", encoding="utf-8", newline="")
            header = [*_HEADS[self.prefix], *(f"{name}:{kind}" for name, kind in signature)]
            out.write(",".join(_quoted(h) for h in header) + "\n")
        head.extend(fields)
        out.write(",".join(head) + "\n")

    def close(self) -> None:
        for out in self.open.values():
            out.close()
        self.open.clear()


_HEADS = {
    "nodes": [f"key:ID({NODE_SPACE})", ":LABEL"],
    "aliases": ["key:ID(LkgAlias)", ":LABEL"],
    "checkpoint": ["name:ID(LkgCheckpoint)", ":LABEL"],
    "edges": [f":START_ID({NODE_SPACE})", f":END_ID({NODE_SPACE})", ":TYPE"],
}


_ORDER: dict[tuple[str, ...], list[str]] = {}  # a record's names sorted, by its names


def _columns(
    record: Record, skip: str, fixups: Record
) -> tuple[tuple[tuple[str, str], ...], list[str], bool]:
    """A record's columns sorted by name, leaving out nulls and `skip`: their (name, type) and
    their fields; what no field carries goes into `fixups`. Also whether a field holds a line
    break."""
    keys = tuple(record)
    order = _ORDER.get(keys)
    if order is None:
        if len(_ORDER) >= 4096:
            _ORDER.clear()
        order = _ORDER[keys] = sorted(keys)
    signature: list[tuple[str, str]] = []
    fields: list[str] = []
    multiline = False
    for name in order:
        value = record[name]
        if value is None or name == skip:
            continue
        if type(value) is str:  # most values: inline
            kind, text = "string", '"' + value.replace('"', '""') + '"'
        else:
            typed = _field(value)
            if typed is None:
                fixups[name] = list(value) if type(value) is tuple else value
                continue
            kind, text = typed
        if kind[0] == "s" and ("\n" in text or "\r" in text):
            multiline = True
        signature.append((name, kind))
        fields.append(text)
    return tuple(signature), fields, multiline


def embedded_records(
    store: EmbeddedStore,
) -> tuple[Iterator[Record], Iterator[tuple[EdgeId, Record]], dict[str, str], int]:
    """The embedded store's node records, edge records, alias table and checkpoint, as its unit
    of work would hand them to Neo4j's (`load_*`: fresh dicts). The store must be left alone
    meanwhile (the projector that filled it stopped)."""
    g = store._g
    links = dict(store._links)

    def nodes() -> Iterator[Record]:
        unpack, nrec = g.shapes.unpack, g.nrec
        for n in g.live_nodes():
            yield unpack(nrec[n])  # type: ignore[arg-type]

    def edges() -> Iterator[tuple[EdgeId, Record]]:
        unpack, erec = g.shapes.unpack, g.erec
        for e in g.live_edges():
            yield g.edge_id(e), unpack(erec[e])  # type: ignore[arg-type]

    return nodes(), edges(), links, store.checkpoint()


def write_import_files(
    directory: Path,
    nodes: Iterable[Record],
    edges: Iterable[tuple[EdgeId, Record]],
    aliases: dict[str, str],
    checkpoint: int,
) -> Written:
    """The import CSVs of these records into `directory` (created; files of its own names)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = Written(checkpoint=checkpoint)
    node_files = _Files(directory, "nodes")
    edge_files = _Files(directory, "edges")
    other = [_Files(directory, "aliases"), _Files(directory, "checkpoint")]
    try:
        for record in nodes:
            key, kind = record["key"], record["kind"]
            NodeKind(kind)  # a label from the vocabulary only
            fixups: Record = {}
            signature, fields, multiline = _columns(record, "key", fixups)
            head = [_quoted(key), _quoted(f"{NODE_SPACE}{ARRAY_DELIMITER}{kind}")]
            node_files.write(kind, head, signature, fields)
            written.multiline |= multiline or "\n" in key or "\r" in key
            if fixups:
                written.node_fixups[key] = fixups
            written.node_count += 1
        for eid, record in edges:
            src, kind, dst, _disc = eid
            EdgeKind(kind)
            fixups = {}
            signature, fields, multiline = _columns(record, "", fixups)
            edge_files.write(kind, [_quoted(src), _quoted(dst), _quoted(kind)], signature, fields)
            written.multiline |= multiline
            if fixups:
                written.edge_fixups[eid] = fixups
            written.edge_count += 1
        for alias, canonical in sorted(aliases.items()):
            head = [_quoted(alias), _quoted("LkgAlias")]
            other[0].write("", head, (("canonical", "string"),), [_quoted(canonical)])
            written.multiline |= any("\n" in t or "\r" in t for t in (alias, canonical))
            written.alias_count += 1
        # the projector's fence leaves `locked` on it (graph/neo4j_unit_of_work.py)
        head = [_quoted("projector"), _quoted("LkgCheckpoint")]
        other[1].write(
            "", head, (("locked", "boolean"), ("seq", "long")), ["true", str(checkpoint)]
        )
    finally:
        for files in (node_files, edge_files, *other):
            files.close()
    written.nodes = [*node_files.paths, *other[0].paths, *other[1].paths]
    written.relationships = list(edge_files.paths)
    return written


def apply_fixups(driver: Driver, written: Written, database: str = "neo4j") -> int:
    """Set the values the files could not carry (`Written.node_fixups`/`edge_fixups`), with
    the statements' parameters alone; how many records it changed."""
    rows = [{"key": k, "props": p} for k, p in sorted(written.node_fixups.items())]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (src, kind, dst, disc), props in sorted(written.edge_fixups.items()):
        by_kind[kind].append({"src": src, "dst": dst, "disc": disc, "props": props})
    with driver.session(database=database) as session:
        for at in range(0, len(rows), 5000):
            session.run(_FIX_NODES, rows=rows[at : at + 5000]).consume()
        for kind, edge_rows in by_kind.items():
            for at in range(0, len(edge_rows), 5000):
                session.run(_FIX_EDGES[EdgeKind(kind)], rows=edge_rows[at : at + 5000]).consume()
    return len(rows) + sum(map(len, by_kind.values()))
