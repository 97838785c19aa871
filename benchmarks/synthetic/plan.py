"""The shape of a synthetic lineage estate: pipelines of jobs in layers, decided before any file
is written, so that the OpenLineage events and the source files (catalog, Feast, MLflow,
deployments, decisions) all name the same tables, columns and teams.

Seeded: the same `(nodes, seed)` gives the same plan, byte for byte. Each pipeline is

    landing files -> raw -> staging -> marts -> features  (-> feature view -> model -> decisions)

with ~3 inputs and ~2 outputs per job, 10-50 columns per table and column lineage on every output
column. Some staging jobs also read another pipeline's marts (shared dimensions), so pipelines
connect. Every `LATTICE_EVERY`-th pipeline grows a diamond lattice after its marts: layers of
tables where each table reads three of the previous layer's and each column reads the
same-named column of each input, so paths multiply like 3**depth while nodes grow linearly.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

WAREHOUSE = "postgres://warehouse:5432"
LANDING = "s3://landing"
# features are Parquet files in an object store: Feast (a FileSource) and MLflow (an s3 dataset
# source) name them by URI alone, so all three sources meet on one Dataset node without any
# offline-store config (a Feast Postgres source needs the repo's feature_store.yaml to be named)
FEATURE_STORE = "s3://feature-store"
LATTICE_EVERY = 25
LATTICE_LAYERS = 12
LATTICE_WIDTH = 4
LATTICE_COLUMNS = 12
# jobs per pipeline layer: (layer, jobs, inputs per job, outputs per job)
LAYERS = (("raw", 2, 2, 2), ("staging", 3, 3, 2), ("marts", 2, 3, 2), ("features", 1, 3, 2))
# measured on generated graphs (events + every source file projected, seed 7: 7 pipelines 5,659
# nodes, 14: 10,654, 41: 30,087): nodes per pipeline with its model side (runs, versions, feature
# views and features, decision point, KPI), ~700; per lattice (48 tables of 12 columns, their
# versions, jobs and runs), ~770. Used only to pick the pipeline count.
NODES_PER_PIPELINE = 700
NODES_PER_LATTICE = 770


@dataclass(frozen=True, slots=True)
class Table:
    namespace: str
    name: str
    columns: tuple[str, ...]
    layer: str
    pipeline: int
    team: str

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Job:
    namespace: str
    name: str
    pipeline: int
    layer: str
    inputs: tuple[Table, ...]
    outputs: tuple[Table, ...]
    # (output table name, output column) -> the (input table, input column)s it is computed from
    column_lineage: dict[tuple[str, str], tuple[tuple[Table, str], ...]]
    team: str
    runs: int = 1


@dataclass(slots=True)
class Plan:
    seed: int
    target_nodes: int
    pipelines: int
    teams: list[str]
    people: dict[str, list[str]]  # team -> member emails
    tables: list[Table] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)

    def layer(self, name: str) -> list[Table]:
        return [t for t in self.tables if t.layer == name]

    @property
    def largest_team(self) -> str:
        """The team owning the most tables (the first team by design at scale; with only a few
        teams the others' shares can be larger, so it is counted)."""
        owned = Counter(t.team for t in self.tables)
        return min(self.teams, key=lambda team: (-owned[team], team))


def location(prefix: str, layer: str, table: str) -> tuple[str, str]:
    """(namespace, name) of a pipeline's table: warehouse tables, feature-store Parquet files."""
    if layer == "features":
        return FEATURE_STORE, f"{prefix}/features/{table}.parquet"
    return WAREHOUSE, f"{prefix}.{layer}.{table}"


def team_of(pipeline: int, teams: list[str], rng: random.Random) -> str:
    """About a fifth of all pipelines belong to the first team (the large one), the rest spread."""
    return teams[0] if rng.random() < 0.2 else teams[1 + pipeline % (len(teams) - 1)]


def columns(rng: random.Random, low: int = 10, high: int = 50) -> tuple[str, ...]:
    return tuple(f"c{i:02d}" for i in range(rng.randint(low, high)))


def lineage(
    rng: random.Random, inputs: tuple[Table, ...], outputs: tuple[Table, ...]
) -> dict[tuple[str, str], tuple[tuple[Table, str], ...]]:
    """Each output column computed from 1-3 input columns, drawn from all the job's inputs."""
    pool = [(t, c) for t in inputs for c in t.columns]
    return {
        (out.name, col): tuple(
            sorted(
                rng.sample(pool, k=min(len(pool), rng.randint(1, 3))),
                key=lambda tc: (tc[0].name, tc[1]),
            )
        )
        for out in outputs
        for col in out.columns
    }


def pipelines_for(nodes: int) -> int:
    """The pipeline count whose expected graph size is nearest `nodes` (lattices come in whole:
    pipelines 0, 25, 50, … grow one each)."""

    def size(pipelines: int) -> int:
        lattices = -(-pipelines // LATTICE_EVERY)
        return pipelines * NODES_PER_PIPELINE + lattices * NODES_PER_LATTICE

    guess = max(2, round(nodes / (NODES_PER_PIPELINE + NODES_PER_LATTICE / LATTICE_EVERY)))
    return min(range(max(2, guess - 3), guess + 4), key=lambda p: (abs(size(p) - nodes), p))


def make_plan(nodes: int, seed: int = 7) -> Plan:
    """A plan whose graph has about `nodes` nodes (the event mapping decides the exact count)."""
    rng = random.Random(seed)
    pipelines = pipelines_for(nodes)
    team_count = max(3, pipelines // 40)
    teams = [f"team:data-{i:03d}" for i in range(team_count)]
    people = {t: [f"person{i:03d}.{j}@example.com" for j in range(3)] for i, t in enumerate(teams)}
    plan = Plan(seed, nodes, pipelines, teams, people)
    marts_so_far: list[Table] = []
    for p in range(pipelines):
        team = team_of(p, teams, rng)
        prefix = f"p{p:05d}"
        landing = [
            Table(LANDING, f"{prefix}/in{i}.csv", columns(rng), "landing", p, team)
            for i in range(4)
        ]
        plan.tables += landing
        previous = landing
        for layer, jobs, n_in, n_out in LAYERS:
            produced: list[Table] = []
            for j in range(jobs):
                ins = rng.sample(previous, k=min(n_in, len(previous)))
                if layer == "staging" and marts_so_far and rng.random() < 0.3:
                    ins[-1] = rng.choice(marts_so_far)  # a shared dimension from elsewhere
                outs = tuple(
                    Table(*location(prefix, layer, f"t{j}_{k}"), columns(rng), layer, p, team)
                    for k in range(n_out)
                )
                inputs = tuple(sorted(ins, key=lambda t: t.qualified))
                plan.jobs.append(
                    Job(
                        "airflow://scheduler",
                        f"{prefix}.{layer}_{j}",
                        p,
                        layer,
                        inputs,
                        outs,
                        lineage(rng, inputs, outs),
                        team,
                        runs=2 if rng.random() < 0.1 else 1,
                    )
                )
                produced += outs
            plan.tables += produced
            previous = produced
            if layer == "marts":
                marts_so_far += produced
                if p % LATTICE_EVERY == 0:
                    _lattice(plan, rng, prefix=prefix, p=p, team=team, marts=produced)
    return plan


def _lattice(
    plan: Plan, rng: random.Random, *, prefix: str, p: int, team: str, marts: list[Table]
) -> None:
    cols = tuple(f"c{i:02d}" for i in range(LATTICE_COLUMNS))
    previous = marts
    for layer in range(LATTICE_LAYERS):
        produced = []
        for w in range(LATTICE_WIDTH):
            out = Table(WAREHOUSE, f"{prefix}.lattice.l{layer:02d}_{w}", cols, "lattice", p, team)
            ins = tuple(sorted(rng.sample(previous, k=min(3, len(previous))), key=lambda t: t.name))
            column_lineage = {
                (out.name, c): tuple((t, c) for t in ins if c in t.columns)
                or ((ins[0], ins[0].columns[0]),)
                for c in cols
            }
            plan.jobs.append(
                Job(
                    "airflow://scheduler",
                    f"{prefix}.lattice_{layer:02d}_{w}",
                    p,
                    "lattice",
                    ins,
                    (out,),
                    column_lineage,
                    team,
                )
            )
            produced.append(out)
        plan.tables += produced
        previous = produced
