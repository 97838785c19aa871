"""Marquez's lineage and column-lineage graphs (queries/marquez.py) on both stores, against an
oracle computed separately from the generated OpenLineage events with networkx (issue 18 §7).

The oracle states Marquez's semantics its own way: in the undirected job-dataset graph of the
events' inputs and outputs, the jobs within `depth` job-to-job hops of a job are those at most
`2·depth` steps away (`2·depth + 1` from a dataset, whose own jobs are hop 0); the graph is those
jobs with every dataset they read or write. Column lineage: the columns within `depth` steps up
(and down) the directed column graph of the events' columnLineage facets, plus the direct inputs
of each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries import marquez

# a namespace with `:` and `//` in it, as Marquez's node ids must cope with
NS = "postgres://db:5432"
JOB_NS = "etl"


@dataclass(frozen=True)
class Estate:
    fields: dict[str, list[str]]  # dataset name -> its fields
    jobs: dict[str, tuple[list[str], list[str]]]  # job name -> (inputs, outputs)
    feeds: list[tuple[tuple[str, str], tuple[str, str]]]  # (ds, field) -> (ds, field)

    def events(self) -> list[dict[str, Any]]:
        found = []
        for i, (job, (inputs, outputs)) in enumerate(sorted(self.jobs.items())):
            outs = []
            for ds in outputs:
                lineage = {
                    f: {
                        "inputFields": [
                            {"namespace": NS, "name": s, "field": sf}
                            for (s, sf), (d, df) in self.feeds
                            if (d, df) == (ds, f) and s in inputs
                        ]
                    }
                    for f in self.fields[ds]
                }
                facets = {
                    "schema": {"fields": [{"name": f, "type": "INT"} for f in self.fields[ds]]},
                    "columnLineage": {
                        "fields": {f: v for f, v in lineage.items() if v["inputFields"]}
                    },
                }
                outs.append({"namespace": NS, "name": ds, "facets": facets})
            found.append(
                {
                    "eventType": "COMPLETE",
                    "eventTime": f"2026-01-05T06:{i:02d}:00Z",
                    "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"},
                    "job": {"namespace": JOB_NS, "name": job},
                    "inputs": [{"namespace": NS, "name": ds} for ds in inputs],
                    "outputs": outs,
                    "producer": "https://example.com/test",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                }
            )
        return found


@st.composite
def estates(draw: st.DrawFn) -> Estate:
    names = [f"s.t{i}" for i in range(draw(st.integers(2, 7)))]
    fields = {ds: [f"c{k}" for k in range(draw(st.integers(1, 3)))] for ds in names}
    jobs: dict[str, tuple[list[str], list[str]]] = {}
    feeds: list[tuple[tuple[str, str], tuple[str, str]]] = []
    written: set[str] = set()
    for j in range(draw(st.integers(1, 6))):
        inputs = sorted(draw(st.sets(st.sampled_from(names), max_size=3)))
        # one writer per dataset: the newest writer's column lineage is a dataset's current one
        free = [ds for ds in names if ds not in written]
        outputs = sorted(draw(st.sets(st.sampled_from(free), max_size=2))) if free else []
        written.update(outputs)
        jobs[f"job{j}"] = (inputs, outputs)
        # column lineage only from the job's own inputs (else the mapping derives more inputs)
        sources = [(ds, f) for ds in inputs for f in fields[ds]]
        for ds in outputs:
            for f in fields[ds]:
                if sources and draw(st.booleans()):
                    feeds += [
                        (s, (ds, f)) for s in draw(st.sets(st.sampled_from(sources), max_size=2))
                    ]
    return Estate(fields, jobs, sorted(set(feeds)))


# ---- the oracle ---------------------------------------------------------------------------------
def did(ds: str) -> str:
    return f"dataset:{NS}:{ds}"


def jid(job: str) -> str:
    return f"job:{JOB_NS}:{job}"


def fid(ds: str, field: str) -> str:
    return f"datasetField:{NS}:{ds}:{field}"


def io_graph(estate: Estate) -> nx.Graph:
    g = nx.Graph()
    for job, (inputs, outputs) in estate.jobs.items():
        g.add_node(jid(job))
        g.add_edges_from((did(ds), jid(job)) for ds in [*inputs, *outputs])
    return g


def expected_lineage(estate: Estate, start: str, depth: int) -> dict[str, tuple[set, set]]:
    """node id -> (in-edges, out-edges) as (origin, destination) pairs."""
    g = io_graph(estate)
    reach = 2 * depth + (1 if start.startswith("dataset:") else 0)
    near = nx.single_source_shortest_path_length(g, start, cutoff=reach)
    jobs = {n for n in near if n.startswith("job:")}
    if not jobs:
        return {start: (set(), set())}
    found: dict[str, tuple[set, set]] = {}
    for job, (inputs, outputs) in estate.jobs.items():
        if jid(job) not in jobs:
            continue
        found[jid(job)] = (
            {(did(d), jid(job)) for d in inputs},
            {(jid(job), did(d)) for d in outputs},
        )
        for d in inputs:
            found.setdefault(did(d), (set(), set()))[1].add((did(d), jid(job)))
        for d in outputs:
            found.setdefault(did(d), (set(), set()))[0].add((jid(job), did(d)))
    return found


def expected_columns(estate: Estate, start: tuple[str, str], depth: int, down: bool) -> set[str]:
    g = nx.DiGraph()
    g.add_edges_from((fid(*s), fid(*d)) for s, d in estate.feeds)
    g.add_node(fid(*start))
    reached = set(nx.single_source_shortest_path_length(g.reverse(), fid(*start), cutoff=depth))
    if down:
        reached |= set(nx.single_source_shortest_path_length(g, fid(*start), cutoff=depth))
    return reached | {p for n in reached for p in g.predecessors(n)}


# ---- the tests ----------------------------------------------------------------------------------
def load(store: GraphStore, estate: Estate) -> None:
    store.clear()
    for i, event in enumerate(estate.events()):
        store.apply(map_event(event, f"ev-{i}"))


def answered(graph: marquez.Graph) -> dict[str, tuple[set, set]]:
    return {
        n["id"]: (
            {(e["origin"], e["destination"]) for e in n["inEdges"]},
            {(e["origin"], e["destination"]) for e in n["outEdges"]},
        )
        for n in graph.nodes
    }


SETTINGS = settings(
    max_examples=12,  # Neo4j on a loaded 2-core machine
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(estates(), st.integers(0, 3))
def test_lineage_graph_is_the_oracles(store: GraphStore, estate: Estate, depth: int) -> None:
    load(store, estate)
    starts = sorted(io_graph(estate))  # every job and every dataset of the events
    for start in starts:
        graph = marquez.lineage(store, start, depth)
        assert answered(graph) == expected_lineage(estate, start, depth), (start, depth)
        assert [n["id"] for n in graph.nodes] == sorted(n["id"] for n in graph.nodes)
        assert not graph.truncated


@SETTINGS
@given(estates(), st.integers(0, 3), st.booleans())
def test_column_lineage_is_the_oracles(
    store: GraphStore, estate: Estate, depth: int, down: bool
) -> None:
    load(store, estate)
    written = {ds for _, outs in estate.jobs.values() for ds in outs}
    for ds in sorted(written):
        for f in estate.fields[ds]:
            graph = marquez.column_lineage(store, fid(ds, f), depth, down)
            got = {n["id"] for n in graph.nodes}
            assert got == expected_columns(estate, (ds, f), depth, down), (ds, f, depth, down)
            for node in graph.nodes:  # each in-edge is an input field's, Marquez's way round
                inputs = {
                    f"datasetField:{i['namespace']}:{i['dataset']}:{i['field']}"
                    for i in node["data"]["inputFields"]
                }
                assert {e["destination"] for e in node["inEdges"]} >= inputs


def test_bad_node_ids_and_unknown_names(store: GraphStore) -> None:
    estate = Estate({"s.a": ["x"], "s.b": ["x"]}, {"j": (["s.a"], ["s.b"])}, [])
    load(store, estate)
    for bad in ["", "table:x:y", "dataset:only", "dataset:ns:a#v1", "run:abc"]:
        with pytest.raises(InvalidArgument, match="nodeId"):
            marquez.lineage(store, bad, 2)
    with pytest.raises(InvalidArgument, match="depth"):
        marquez.lineage(store, did("s.a"), marquez.MAX_DEPTH + 1)
    with pytest.raises(NotFound, match=r"Dataset 's\.zzz' not found"):
        marquez.lineage(store, did("s.zzz"), 2)
    with pytest.raises(NotFound, match="Namespace 'nowhere' not found"):
        marquez.datasets(store, "nowhere")
    with pytest.raises(InvalidArgument, match="limit"):
        marquez.datasets(store, NS, limit=marquez.MAX_LIMIT + 1)
    # the spelling a producer used finds the node ingest normalised (graph/resolve.py)
    graph = marquez.lineage(store, "dataset:postgresql://DB:s.a", 1)
    assert {n["id"] for n in graph.nodes} == {did("s.a"), did("s.b"), jid("j")}


def test_node_ids_split_like_marquez() -> None:
    parse = marquez.parse_node_id
    assert parse(f"dataset:{NS}:public.orders").parts == (NS, "public.orders")
    assert parse("dataset:food_delivery:public.menus").parts == ("food_delivery", "public.menus")
    assert parse("datasetField:s3://bucket:path/x:col").parts == ("s3://bucket", "path/x", "col")
    assert parse("job:airflow:dag.task").parts == ("airflow", "dag.task")


@SETTINGS
@given(estates(), st.integers(1, 4), st.sampled_from(["t", "T1", "s.t_", "%0", "job"]))
def test_lists_and_search_are_the_oracles(
    store: GraphStore, estate: Estate, size: int, q: str
) -> None:
    load(store, estate)
    datasets = sorted({d for ins, outs in estate.jobs.values() for d in (*ins, *outs)})
    for kind, ns, want, ask in [
        ("datasets", NS, datasets, marquez.datasets),
        ("jobs", JOB_NS, sorted(estate.jobs), marquez.jobs),
    ]:
        if not want:  # nothing in that namespace: Marquez's 404
            with pytest.raises(NotFound, match="Namespace"):
                ask(store, ns, size, 0)
            continue
        got: list[str] = []
        for offset in range(0, len(want) + size, size):
            page = ask(store, ns, size, offset)
            assert page.total == len(want), kind
            got += [item["name"] for item in page.items]
        assert got == want, kind
    # q as SQL's ILIKE '%q%' reads it, by a regex made here
    pattern = "".join("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in q)
    names = [*datasets, *estate.jobs]
    expected = sorted(n for n in names if re.search(pattern, n, re.IGNORECASE))
    found = marquez.search(store, q, limit=marquez.MAX_LIMIT)
    assert sorted(r["name"] for r in found["results"]) == expected
    assert found["totalCount"] == len(expected)


def test_each_jobs_latest_runs_are_its_own_newest_ten(store: GraphStore) -> None:
    # jobs with 1 to 12 runs: each job's JSON lists its own newest ten, newest first (the runs of
    # every job are read in one batch, so a run must not leak into another job's list)
    store.clear()
    started: dict[str, list[str]] = {}  # job -> its run ids, oldest first
    n = 0
    for j, count in enumerate([12, 1, 10, 11, 3]):
        job = f"j{j}"
        started[job] = []
        for r in range(count):
            run_id = f"00000000-0000-4000-8000-{n:012d}"
            n += 1
            for kind, minute in (("START", 0), ("COMPLETE", 1)):
                event = {
                    "eventType": kind,
                    "eventTime": f"2026-01-05T{r:02d}:{j * 2 + minute:02d}:00Z",
                    "run": {"runId": run_id},
                    "job": {"namespace": JOB_NS, "name": job},
                    "inputs": [{"namespace": NS, "name": f"s.in{j}"}],
                    "outputs": [],
                    "producer": "https://example.com/test",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                }
                store.apply(map_event(event, f"ev-{n}-{kind}"))
            started[job].append(run_id)
    nodes = [marquez.find_job(store, JOB_NS, job) for job in sorted(started)]
    for job, got in zip(sorted(started), marquez.job_json(store, nodes), strict=True):
        want = list(reversed(started[job]))[:10]
        assert [r["id"] for r in got["latestRuns"]] == want, job
        assert got["latestRun"]["id"] == want[0], job
        assert [r["id"] for r in got["latestRuns"]] == [
            r["id"] for r in marquez.runs(store, JOB_NS, job, limit=10).items
        ], job
