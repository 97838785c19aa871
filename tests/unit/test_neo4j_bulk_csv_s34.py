"""graph/neo4j_bulk.py's import files hold exactly what the Neo4j writer's `SET n = row` /
`SET r = row.rec` would store (issue 19, target 4, session 34).

Oracle: the records as Neo4j keeps them (a null is no property, a tuple a list), against the
files read back by a reader written here (a CSV field parser that knows quoted from unquoted,
and the importer's rules: a quoted "" is an empty string, an empty field no property, arrays
split on the array delimiter, `long`/`double`/`boolean` parsed), with the fix-ups laid over. The
real importer reading the same rules is tests/integration/test_bulk_load_s34.py.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_bulk
from lineage_kg.graph.model import EdgeKind, NodeKind

DELIM = neo4j_bulk.ARRAY_DELIMITER


def _fields(text: str) -> list[list[tuple[str, bool]]]:
    """RFC 4180 rows of (field, quoted)."""
    rows: list[list[tuple[str, bool]]] = []
    row: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j, out = i + 1, []
            while True:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        out.append('"')
                        j += 2
                        continue
                    break
                out.append(text[j])
                j += 1
            row.append(("".join(out), True))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ",\n":
                j += 1
            row.append((text[i:j], False))
            i = j
        if i < n and text[i] == ",":
            i += 1
            if i == n or text[i] == "\n":
                row.append(("", False))
        if i < n and text[i] == "\n":
            rows.append(row)
            row = []
            i += 1
    if row:
        rows.append(row)
    return rows


def _text(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as f:  # a \r stays a \r
        return f.read()


def _double(text: str) -> float:
    value = float(text)  # Java's parseDouble reads no "inf"/"nan": Neo4j holds no such value
    assert math.isfinite(value), text
    return value


def _value(kind: str, text: str) -> Any:
    if kind.endswith("[]"):
        return [_value(kind[:-2], part) for part in text.split(DELIM)]
    return {
        "string": lambda t: t,
        "long": int,
        "double": _double,
        "boolean": lambda t: {"true": True, "false": False}[t],
    }[kind](text)


def _read(paths: list[Path]) -> dict[tuple[Any, ...], tuple[Any, dict[str, Any]]]:
    """(id or ends) -> (labels or type, properties), as the importer reads the files."""
    found: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
    for path in paths:
        header, *rows = _fields(_text(path))
        names = [h for h, _ in header]
        for row in rows:
            assert len(row) == len(names), (path, row)
            ids: list[str] = []
            tag: Any = None
            props: dict[str, Any] = {}
            for name, (text, quoted) in zip(names, row, strict=True):
                if name.startswith((":START_ID", ":END_ID")):
                    ids.append(text)
                elif name == ":LABEL":
                    tag = tuple(text.split(DELIM))
                elif name == ":TYPE":
                    tag = text
                elif ":ID(" in name:
                    prop = name.split(":")[0]
                    ids.append(text)
                    props[prop] = text
                elif text or quoted:  # an empty field: no property; "" an empty string
                    prop, kind = name.rsplit(":", 1)
                    if kind.endswith("[]") and not text:
                        continue  # the importer keeps no property for an empty array field
                    props[prop] = _value(kind, text)
            key = (names[0], *ids)  # an id space of its own per column name
            if ":TYPE" in names:
                key = (ids[0], tag, ids[1], props["disc"])
            assert key not in found
            found[key] = (tag, props)
    return found


def _stored(record: dict[str, Any]) -> dict[str, Any]:
    """What `SET n = row` leaves: no nulls, lists for tuples."""
    return {k: list(v) if type(v) is tuple else v for k, v in record.items() if v is not None}


_TEXT = st.text(alphabet=st.sampled_from(['a', 'é', '"', ",", "\n", "\r", DELIM, "\\", " ", "'"]),
                max_size=6)  # fmt: skip
_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 64), max_value=1 << 64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1 << 63, -(1 << 63) - 1, ""]),
    _TEXT,
    st.lists(_TEXT, max_size=3),
    st.lists(_TEXT, max_size=3).map(tuple),
    st.lists(st.integers(min_value=-(1 << 70), max_value=1 << 70), max_size=3),
    st.lists(st.booleans(), min_size=1, max_size=2),
    st.lists(st.floats(allow_nan=False), min_size=1, max_size=2),
)
_PROPS = st.dictionaries(
    st.sampled_from(["p0", "p1", "p2", "sources", "_stamps"]), _VALUE, max_size=4
)
_KEY = st.text(alphabet=st.sampled_from(["k", '"', ",", "\n", " ", "é"]), min_size=1, max_size=5)


@st.composite
def _graph(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[Any], dict[str, str], int]:
    keys = draw(st.lists(_KEY, min_size=1, max_size=6, unique=True))
    nodes = [
        {"key": k, "kind": draw(st.sampled_from([n.value for n in NodeKind])), **draw(_PROPS)}
        for k in keys
    ]
    edges = {}
    for _ in range(draw(st.integers(0, 6))):
        src, dst = draw(st.sampled_from(keys)), draw(st.sampled_from(keys))
        kind = draw(st.sampled_from([e.value for e in EdgeKind]))
        disc = draw(_TEXT)
        edges[src, kind, dst, disc] = {**draw(_PROPS), "disc": disc}
    aliases = draw(st.dictionaries(_KEY, _KEY, max_size=3))
    return nodes, list(edges.items()), aliases, draw(st.integers(0, 1 << 40))


@settings(max_examples=30, deadline=None)
@given(_graph())
def test_files_hold_what_the_writer_would_store(graph: Any) -> None:
    nodes, edges, aliases, checkpoint = graph
    with tempfile.TemporaryDirectory() as tmp:
        written = neo4j_bulk.write_import_files(Path(tmp), nodes, edges, aliases, checkpoint)
        found_nodes = _read(written.nodes)
        found_edges = _read(written.relationships)
        paths = [*written.nodes, *written.relationships]
        fields = [text for path in paths for row in _fields(_text(path))[1:] for text, _ in row]
    assert written.node_count == len(nodes) and written.edge_count == len(edges)
    for record in nodes:
        labels, props = found_nodes.pop(("key:ID(Node)", record["key"]))
        assert labels == ("Node", record["kind"])
        props.update(written.node_fixups.get(record["key"], {}))
        assert props == _stored(record)
    for alias, canonical in aliases.items():
        assert found_nodes.pop(("key:ID(LkgAlias)", alias)) == (
            ("LkgAlias",),
            {"key": alias, "canonical": canonical},
        )
    assert found_nodes.pop(("name:ID(LkgCheckpoint)", "projector")) == (
        ("LkgCheckpoint",),
        {"name": "projector", "seq": checkpoint, "locked": True},
    )
    assert found_nodes == {}
    for eid, record in edges:
        kind, props = found_edges.pop(eid)
        assert kind == eid[1]
        props.update(written.edge_fixups.get(eid, {}))
        assert props == _stored(record)
    assert found_edges == {}
    # a line break in any field: the importer is told to read fields over lines
    if any("\n" in f or "\r" in f for f in fields):
        assert written.multiline
