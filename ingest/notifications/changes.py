"""Which changes one event's mutations bring that may break something downstream. Pure: the
state it compares against is handed in (and updated in place), no I/O.

Detected, from any source's mutations (so dbt, OpenLineage, MLflow and the catalog alike):
- a dataset's complete schema (the writer's: it retires the columns it does not list) dropping
  a column it had, or giving a column another type than the one last seen (a reader's partial
  schema only adds to what is known: it never drops);
- a run ending FAIL or ABORT;
- a failed data quality assertion on a dataset (or the version read or written);
- a monitoring check turning `fail` (not while it stays failing);
- a model alias pointing at a version it did not point at (its first assignment included);
- a deployment starting (a DEPLOYED_TO edge not seen, or with another start).

The state is keyed by what it is about, with the stamp (event time, event id) of the event that
set it: an older event arriving late neither changes it nor counts as a change. The first schema
seen of a dataset is a fact, not a change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, MutableMapping
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    EdgeRetire,
    EdgeUpsert,
    Mutation,
    NodeUpsert,
    Provenance,
)
from lineage_kg.graph.sides.outbox import Change, ChangeKind

FAILED_RUN = frozenset({"FAIL", "ABORT"})
FAILING_CHECK = "fail"

State = MutableMapping[str, Any]


def _schema(ds: str) -> str:
    return f"schema|{ds}"


def _alias(model: str, alias: str) -> str:
    return f"alias|{model}|{alias}"


def _check(check: str) -> str:
    return f"check|{check}"


def _deploy(version: str, point: str, mode: str) -> str:
    return f"deploy|{version}|{point}|{mode}"


def state_keys(mutations: Iterable[Mutation]) -> set[str]:
    """The state keys `detect` may read for these mutations (read before, in one go)."""
    keys = set()
    for m in mutations:
        if isinstance(m, EdgeUpsert):
            k = m.key
            if k.kind is EdgeKind.HAS_COLUMN:
                keys.add(_schema(k.src.id))
            elif k.kind is EdgeKind.ALIAS:
                keys.add(_alias(k.src.id, k.disc))
            elif k.kind is EdgeKind.DEPLOYED_TO:
                keys.add(_deploy(k.src.id, k.dst.id, k.disc))
        elif isinstance(m, EdgeRetire) and m.kind is EdgeKind.HAS_COLUMN:
            keys.add(_schema(m.anchor.id))
        elif isinstance(m, NodeUpsert) and m.key.kind is NodeKind.CHECK:
            keys.add(_check(m.key.id))
    return keys


# what detect reads: edges of these kinds, HAS_COLUMN retirements, and these node upserts
_EDGES = frozenset(
    {
        EdgeKind.HAS_COLUMN,
        EdgeKind.ALIAS,
        EdgeKind.DEPLOYED_TO,
        EdgeKind.RUN_OF,
        EdgeKind.PRODUCES,
        EdgeKind.HAS_VERSION,
        EdgeKind.CHECKS,
    }
)


def relevant(mutations: Iterable[Mutation]) -> list[Mutation]:
    """The mutations `detect` looks at, in order (`detect(relevant(m)) == detect(m)`): what the
    change projection keeps of a batch the projector hands it."""
    kept: list[Mutation] = []
    for m in mutations:
        if isinstance(m, EdgeUpsert):
            keep = m.key.kind in _EDGES
        elif isinstance(m, EdgeRetire):
            keep = m.kind is EdgeKind.HAS_COLUMN
        elif isinstance(m, NodeUpsert):
            keep = (
                m.key.kind in (NodeKind.RUN, NodeKind.CHECK)
                or m.props.get("quality_failed") is not None
            )
        else:
            keep = False
        if keep:
            kept.append(m)
    return kept


def _newer(state: State, key: str, prov: Provenance) -> bool:
    """True if this event is not older than what set `state[key]` (absent: True)."""
    held = state.get(key)
    return held is None or tuple(held["stamp"]) <= prov.stamp


def detect(mutations: list[Mutation], state: State) -> list[Change]:
    """The changes one event's mutations bring, against `state` (updated in place)."""
    changes: list[Change] = []
    changes += _schema_changes(mutations, state)
    changes += _run_failures(mutations)
    changes += _quality_failures(mutations)
    changes += _check_failures(mutations, state)
    changes += _alias_moves(mutations, state)
    changes += _deployments(mutations, state)
    return changes


def _change(
    kind: ChangeKind, subject: NodeKey, starts: Iterable[str], detail: dict[str, Any], p: Provenance
) -> Change:
    return Change(kind, subject.id, tuple(sorted(set(starts))), detail, p.event_id, p.event_time)


# ---- schemas ------------------------------------------------------------------------------------


def _schema_changes(mutations: list[Mutation], state: State) -> list[Change]:
    seen: dict[NodeKey, dict[str, str | None]] = {}  # dataset -> column -> type (None: not said)
    columns: dict[tuple[NodeKey, str], NodeKey] = {}
    complete: dict[NodeKey, set[str]] = {}  # dataset -> the columns its complete schema keeps
    prov: dict[NodeKey, Provenance] = {}
    for m in mutations:
        if isinstance(m, EdgeUpsert) and m.key.kind is EdgeKind.HAS_COLUMN:
            ds, column = m.key.src, m.key.dst
            name = column.fields["field"]
            typed = m.props.get("type")
            held = seen.setdefault(ds, {})
            if typed is not None or name not in held:
                held[name] = None if typed is None else str(typed)
            columns[(ds, name)] = column
            prov.setdefault(ds, m.prov)
        elif isinstance(m, EdgeRetire) and m.kind is EdgeKind.HAS_COLUMN:
            complete[m.anchor] = {k.fields["field"] for k in m.keep if k.kind is NodeKind.COLUMN}
            prov.setdefault(m.anchor, m.prov)
    found = []
    for ds, p in prov.items():
        key = _schema(ds.id)
        if not _newer(state, key, p):
            continue
        held = state.get(key)
        before: dict[str, str | None] = dict(held["columns"]) if held else {}
        now_ = seen.get(ds, {})
        after = dict(before)
        for name, typed in now_.items():
            if typed is not None or name not in after:
                after[name] = typed
        dropped: list[str] = []
        if ds in complete:
            dropped = sorted(set(before) - complete[ds])
            after = {n: t for n, t in after.items() if n in complete[ds]}
        retyped = {
            n: {"from": before[n], "to": t}
            for n, t in sorted(now_.items())
            if t is not None and before.get(n) is not None and before[n] != t
        }
        state[key] = {"stamp": list(p.stamp), "columns": after}
        if held is None or not (dropped or retyped):
            continue
        starts = [columns.get((ds, n), _column_of(ds, n)).id for n in [*dropped, *retyped]]
        detail = {"dataset": ds.display, "dropped": dropped, "retyped": retyped}
        found.append(_change(ChangeKind.SCHEMA, ds, starts, detail, p))
    return found


def _column_of(ds: NodeKey, name: str) -> NodeKey:
    namespace, dataset = ds.parts
    return NodeKey.of(NodeKind.COLUMN, namespace=namespace, name=dataset, field=name)


# ---- runs, quality, checks ----------------------------------------------------------------------


def _run_failures(mutations: list[Mutation]) -> list[Change]:
    failed = {
        m.key: m
        for m in mutations
        if isinstance(m, NodeUpsert)
        and m.key.kind is NodeKind.RUN
        and m.props.get("state") in FAILED_RUN
    }
    if not failed:
        return []
    jobs: dict[NodeKey, NodeKey] = {}
    outputs: dict[NodeKey, set[str]] = {}
    for m in mutations:
        if isinstance(m, EdgeUpsert):
            if m.key.kind is EdgeKind.RUN_OF and m.key.src in failed:
                jobs[m.key.src] = m.key.dst
            elif m.key.kind is EdgeKind.PRODUCES:
                outputs.setdefault(m.key.src, set()).add(m.key.dst.id)
    found = []
    for run, m in failed.items():
        job = jobs.get(run)
        starts = {job.id, *outputs.get(job, ())} if job else {run.id}
        detail = {
            "run": run.fields["run_id"],
            "job": job.display if job else None,
            "state": m.props["state"],
        }
        found.append(_change(ChangeKind.RUN_FAILED, run, starts, detail, m.prov))
    return found


def _failed_assertions(text: Any) -> list[dict[str, Any]]:
    try:
        listed = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return []
    return [
        {"assertion": a.get("assertion"), "column": a.get("column")}
        for a in listed
        if isinstance(a, dict) and a.get("success") is False
    ]


def _quality_failures(mutations: list[Mutation]) -> list[Change]:
    datasets: dict[NodeKey, NodeKey] = {
        m.key.dst: m.key.src
        for m in mutations
        if isinstance(m, EdgeUpsert) and m.key.kind is EdgeKind.HAS_VERSION
    }
    found = []
    for m in mutations:
        if not isinstance(m, NodeUpsert) or not m.props.get("quality_failed"):
            continue
        target = m.key
        dataset = datasets.get(target)
        if dataset is None and target.kind is NodeKind.DATASET_VERSION:
            namespace, name, _ = target.parts
            dataset = NodeKey.of(NodeKind.DATASET, namespace=namespace, name=name)
        detail = {
            "target": target.display,
            "failed": int(m.props["quality_failed"]),
            "assertions": _failed_assertions(m.props.get("quality_assertions")),
        }
        starts = [(dataset or target).id]
        found.append(_change(ChangeKind.QUALITY_FAILED, target, starts, detail, m.prov))
    return found


def _check_failures(mutations: list[Mutation], state: State) -> list[Change]:
    subjects = {
        m.key.src: m.key.dst
        for m in mutations
        if isinstance(m, EdgeUpsert) and m.key.kind is EdgeKind.CHECKS
    }
    found = []
    for m in mutations:
        if not isinstance(m, NodeUpsert) or m.key.kind is not NodeKind.CHECK:
            continue
        status = m.props.get("status")
        key = _check(m.key.id)
        if status is None or not _newer(state, key, m.prov):
            continue
        held = state.get(key)
        state[key] = {"stamp": list(m.prov.stamp), "status": status}
        if status != FAILING_CHECK or (held is not None and held["status"] == FAILING_CHECK):
            continue
        subject = subjects.get(m.key)
        detail = {
            "check": m.key.fields["name"],
            "subject": m.key.fields["subject"],
            "value": m.props.get("value"),
            "threshold": m.props.get("threshold"),
            "checked_at": m.props.get("checked_at"),
        }
        starts = [subject.id] if subject else [m.key.id]
        found.append(_change(ChangeKind.CHECK_FAILING, m.key, starts, detail, m.prov))
    return found


# ---- models: aliases and deployments -------------------------------------------------------------


def _alias_moves(mutations: list[Mutation], state: State) -> list[Change]:
    found = []
    for m in mutations:
        if not isinstance(m, EdgeUpsert) or m.key.kind is not EdgeKind.ALIAS:
            continue
        model, version, alias = m.key.src, m.key.dst, m.key.disc
        key = _alias(model.id, alias)
        if not _newer(state, key, m.prov):
            continue
        held = state.get(key)
        state[key] = {"stamp": list(m.prov.stamp), "version": version.id}
        if held is not None and held["version"] == version.id:
            continue
        previous = NodeKey.from_id(held["version"]) if held else None
        detail = {
            "model": model.display,
            "alias": alias,
            "from": previous.fields["version"] if previous else None,
            "to": version.fields["version"],
        }
        found.append(_change(ChangeKind.ALIAS_MOVED, model, [version.id], detail, m.prov))
    return found


def _deployments(mutations: list[Mutation], state: State) -> list[Change]:
    found = []
    for m in mutations:
        if not isinstance(m, EdgeUpsert) or m.key.kind is not EdgeKind.DEPLOYED_TO:
            continue
        version, point, mode = m.key.src, m.key.dst, m.key.disc
        key = _deploy(version.id, point.id, mode)
        if not _newer(state, key, m.prov):
            continue
        held = state.get(key)
        began = m.props.get("valid_from")
        state[key] = {"stamp": list(m.prov.stamp), "valid_from": began}
        if held is not None and held["valid_from"] == began:
            continue
        detail = {
            "version": version.display,
            "decision_point": point.display,
            "mode": mode,
            "traffic": m.props.get("traffic"),
            "valid_from": began,
        }
        starts = [version.id, point.id]
        found.append(_change(ChangeKind.DEPLOYMENT_STARTED, version, starts, detail, m.prov))
    return found
