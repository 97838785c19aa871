"""Generated OpenLineage event streams for the oracle property tests (hypothesis strategies).

A small estate: 3-6 datasets in layers, each non-source dataset written by one job that reads
earlier ones; every run a COMPLETE (and maybe a START listing its datasets a minute before), runs
one after another in event time. What varies is chosen per semantic class by `Shape`, so each
property test stresses one class and leaves the others at what any lineage store already does:
- names: namespaces spelled as sloppy producers write them (`postgresql://DB/`, `s3a://`);
- linked: tables named by storage path (with or without their TABLE symlink) or by table name;
- indirect: INDIRECT transformations and the dataset-wide `dataset` list;
- partial: facets that map some input columns and not others, dataset-only jobs, jobs with two
  outputs, outputs without a schema, inputs with partial schemas;
- runs/shuffled: several runs per job with changing lineage, delivered in any order.
Outside `partial`, every output has column lineage that maps every input column DIRECTly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

Event = dict[str, Any]
PRODUCER = "https://github.com/lineage-kg/tests/oracle"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
FIELDS = ("id", "amount", "region")
DIRECT_SUBTYPES = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
INDIRECT_SUBTYPES = ("FILTER", "JOIN", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL")


@dataclass(frozen=True)
class Shape:
    names: bool = False
    linked: bool = False
    indirect: bool = False  # the `dataset` list, and INDIRECT under every output field (Spark)
    field_indirect: bool = False  # INDIRECT under one output field only
    partial: bool = False
    runs: int = 1
    dataset_level: bool = False  # no column lineage at all
    every_field_named: bool = False  # an output field without inputs is listed, with none
    shuffled: bool = False


@dataclass
class Table:
    """One dataset: the names producers may give it, and its columns."""

    spellings: list[tuple[str, str]]  # (namespace, name) as producers write it
    fields: tuple[str, ...]
    table: tuple[str, str] | None = None  # the TABLE symlink of a storage path

    def names(self) -> list[tuple[str, str]]:
        return [*self.spellings, *([self.table] if self.table else [])]


@dataclass
class Stream:
    tables: list[Table]
    events: list[Event]  # in arrival order
    starts: list[tuple[int, str | None, int]] = field(default_factory=list)


def _time(minute: int) -> str:
    return (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@st.composite
def tables(draw: st.DrawFn, shape: Shape, count: int) -> list[Table]:
    found = []
    for i in range(count):
        fields = FIELDS[: draw(st.integers(2, 3))]
        if shape.linked and draw(st.booleans()):
            ns, name = draw(
                st.sampled_from(
                    [("file", f"/warehouse/t{i}"), ("hdfs://namenode:8020", f"/warehouse/t{i}"),
                     ("gs://lake", f"warehouse/t{i}")]
                )
            )  # fmt: skip
            found.append(Table([(ns, name)], fields, ("hive://metastore:9083", f"default.t{i}")))
        elif draw(st.booleans()):
            canonical = ("postgres://db:5432", f"shop.public.t{i}")
            sloppy = ["postgresql://DB:5432", "postgres://db", "Postgres://Db:5432/"]
            spellings = [canonical, *((ns, canonical[1]) for ns in sloppy if shape.names)]
            found.append(Table(spellings, fields))
        else:
            canonical = ("s3://lake", f"raw/t{i}")
            sloppy = ["s3a://lake", "S3://LAKE/", "s3n://Lake"]
            spellings = [canonical, *((ns, canonical[1]) for ns in sloppy if shape.names)]
            found.append(Table(spellings, fields))
    return found


@dataclass
class Job:
    name: str
    inputs: list[int]  # candidate inputs (table indexes)
    outputs: list[int]
    with_lineage: dict[int, bool]  # per output: a columnLineage facet, or dataset-level only


@st.composite
def jobs(draw: st.DrawFn, shape: Shape, count: int) -> list[Job]:
    found: list[Job] = []
    out = 2  # tables 0 and 1 are sources
    while out < count:
        outputs = [out]
        if shape.partial and out + 1 < count and draw(st.booleans()):
            outputs.append(out + 1)
        inputs = draw(st.lists(st.integers(0, out - 1), min_size=1, max_size=2, unique=True))
        lineage = {
            o: not shape.dataset_level and (draw(st.integers(0, 2)) > 0 if shape.partial else True)
            for o in outputs
        }
        found.append(Job(f"job_{len(found)}", sorted(inputs), outputs, lineage))
        out += len(outputs)
    return found


@st.composite
def mention(draw: st.DrawFn, table: Table, *, schema: str) -> dict[str, Any]:
    """A dataset as one event names it: a spelling, maybe the symlinks facet, maybe a schema
    (`schema`: "full", "maybe" (full or absent) or "partial" (absent, full or a subset))."""
    if table.table is not None:
        how = draw(st.sampled_from(["path+symlink", "path", "table"]))
        ns, name = table.table if how == "table" else table.spellings[0]
    else:
        how, (ns, name) = "name", draw(st.sampled_from(table.spellings))
    facets: dict[str, Any] = {}
    if how == "path+symlink":
        ns_t, name_t = table.table  # type: ignore[misc]
        facets["symlinks"] = {"identifiers": [{"namespace": ns_t, "name": name_t, "type": "TABLE"}]}
    fields = list(table.fields)
    if schema == "maybe" and draw(st.booleans()):
        fields = []
    elif schema == "partial":
        fields = draw(st.sampled_from([[], fields, fields[:1], fields[1:]]))
    if fields:
        facets["schema"] = {"fields": [{"name": f, "type": "STRING"} for f in fields]}
    return {"namespace": ns, "name": name, "facets": facets}


@st.composite
def column_lineage(
    draw: st.DrawFn, shape: Shape, inputs: list[dict[str, Any]], out: Table
) -> dict[str, Any]:
    """A columnLineage facet from `inputs` (as this event names them) to `out`'s columns."""
    per_field: dict[str, list[dict[str, Any]]] = {f: [] for f in out.fields}
    whole: list[dict[str, Any]] = []
    legacy = not (shape.indirect or shape.field_indirect) and draw(st.booleans())
    for ds in inputs:
        for f in ds["_fields"]:
            source = {"namespace": ds["namespace"], "name": ds["name"], "field": f}
            how = draw(st.sampled_from(["dataset", "every field", "direct"]))
            if shape.indirect and how == "dataset":
                whole.append(dict(source))
                continue
            if shape.indirect and how == "every field":
                subtype = draw(st.sampled_from(INDIRECT_SUBTYPES))
                for target in out.fields:
                    kinds = [{"type": "INDIRECT", "subtype": subtype}]
                    per_field[target].append({**source, "transformations": kinds})
                continue
            targets = draw(
                st.lists(st.sampled_from(out.fields), min_size=0 if shape.partial else 1,
                         max_size=2, unique=True)
            )  # fmt: skip
            for target in targets:
                indirect = shape.field_indirect and draw(st.booleans())
                kind = "INDIRECT" if indirect else "DIRECT"
                subtype = draw(
                    st.sampled_from(INDIRECT_SUBTYPES if kind == "INDIRECT" else DIRECT_SUBTYPES)
                )
                entry = dict(source)
                if not legacy:
                    entry["transformations"] = [{"type": kind, "subtype": subtype}]
                per_field[target].append(entry)
    if not whole and not any(per_field.values()):  # a facet that maps nothing is no lineage
        first = inputs[0]
        source = {"namespace": first["namespace"], "name": first["name"]}
        per_field[out.fields[0]].append({**source, "field": first["_fields"][0]})
    facet: dict[str, Any] = {
        "fields": {
            f: {"inputFields": entries}
            for f, entries in per_field.items()
            if entries or shape.every_field_named
        }
    }
    if whole:
        facet["dataset"] = whole
    return facet


@st.composite
def streams(draw: st.DrawFn, shape: Shape) -> Stream:
    count = draw(st.integers(3, 6))
    world = draw(tables(shape, count))
    timeline: list[tuple[int, Event]] = []
    minute = 0
    for job in draw(jobs(shape, count)):
        for _run in range(draw(st.integers(1, shape.runs))):
            minute += 2
            run_id = f"00000000-0000-4000-8000-{minute:012d}"
            read = job.inputs
            if shape.runs > 1:  # lineage changes from run to run
                read = draw(st.lists(st.sampled_from(job.inputs), min_size=1, unique=True))
            inputs = []
            for i in sorted(read):
                schema = "partial" if shape.partial else "maybe"
                ds = draw(mention(world[i], schema=schema))
                inputs.append({**ds, "_fields": world[i].fields})
            outputs = []
            for o in job.outputs:
                ds = draw(mention(world[o], schema="maybe" if shape.partial else "full"))
                if job.with_lineage[o]:
                    ds["facets"]["columnLineage"] = draw(column_lineage(shape, inputs, world[o]))
                outputs.append(ds)
            for ds in inputs:
                del ds["_fields"]
            base = {"producer": PRODUCER, "schemaURL": SCHEMA_URL, "run": {"runId": run_id},
                    "job": {"namespace": "oracle", "name": job.name}}  # fmt: skip
            if draw(st.booleans()):  # some producers send a START listing the datasets too
                start = {**base, "eventType": "START", "eventTime": _time(minute - 1),
                         "inputs": [_bare(ds) for ds in inputs],
                         "outputs": [_bare(ds) for ds in outputs]}  # fmt: skip
                timeline.append((minute - 1, start))
            complete = {**base, "eventType": "COMPLETE", "eventTime": _time(minute),
                        "inputs": inputs, "outputs": outputs}  # fmt: skip
            timeline.append((minute, complete))
    events = [e for _, e in sorted(timeline, key=lambda t: t[0])]
    if shape.shuffled:
        events = draw(st.permutations(events))
    stream = Stream(world, events)
    # where to start impact: a table (one of its names), and a column of it or the whole table
    for _ in range(4):
        i = draw(st.integers(0, count - 1))
        columns = st.sampled_from(world[i].fields)  # authority shows from a column
        col = draw(columns if shape.partial else st.one_of(st.none(), columns))
        stream.starts.append((i, col, draw(st.integers(0, 9))))
    return stream


def _bare(ds: dict[str, Any]) -> dict[str, Any]:
    """A dataset without its facets (what a START lists)."""
    return {"namespace": ds["namespace"], "name": ds["name"]}


def describe(events: list[Event]) -> str:
    """The stream in a few lines, for failure messages: one event a line, in arrival order."""

    def ds(d: dict[str, Any]) -> str:
        facets = d.get("facets") or {}
        text = f"{d['namespace']}|{d['name']}"
        if sym := facets.get("symlinks"):
            text += "~" + ",".join(f"{i['namespace']}|{i['name']}" for i in sym["identifiers"])
        if schema := facets.get("schema"):
            text += "[" + ",".join(f["name"] for f in schema["fields"]) + "]"
        if cl := facets.get("columnLineage"):
            maps = []
            for out, spec in cl["fields"].items():
                for i in spec["inputFields"]:
                    kinds = "/".join(t["type"][0] for t in i.get("transformations", [])) or "L"
                    maps.append(f"{i['name'].rsplit('/', 1)[-1]}.{i['field']}-{kinds}->{out}")
            for i in cl.get("dataset", []):
                maps.append(f"{i['name'].rsplit('/', 1)[-1]}.{i['field']}->*")
            text += "{" + " ".join(maps) + "}"
        return text

    lines = []
    for e in events:
        ins = " ".join(ds(d) for d in e.get("inputs", []))
        outs = " ".join(ds(d) for d in e.get("outputs", []))
        lines.append(
            f"{e['eventTime'][11:16]} {e['eventType']:<8} {e['job']['name']} "
            f"run {e['run']['runId'][-3:]}: {ins} => {outs}"
        )
    return "\n".join(lines)
