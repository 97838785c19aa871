"""A restricted key's event writes only inside its namespaces, even after its names are joined.

Intake judges a namespace-restricted key's event on what its mutations are about to write,
including the dataset the store's alias table already joined a name onto
(ingest/openlineage/reach.py). Intake cannot always know: the store may be down when it checks
(the alias table unreadable), or a link logged before the event may be projected after intake
checked. The projection is the one place where names are rewritten onto their canonical
dataset (graph/merge.py), so it is also where confinement holds by construction:

- the log keeps a restricted key's namespaces beside each event it accepted; the projector
  hands them to the store with the event's mutations (`MutationBatch.confined`, by event id);
- a link of such an event that would join its names into a set whose canonical dataset is
  outside those namespaces is not applied (`links_kept`);
- after the rewrite onto canonical names, a mutation of such an event that touches a node
  outside those namespaces (a Dataset, Column, DatasetVersion, Job or Exposure of another
  namespace) is not applied (`keep_confined`). The rest of the event is, as for a run claimed
  by another job (graph/run_owner.py); each drop is logged with the event's id.

Runs have no namespace and stay with their first job (graph/run_owner.py); Owners are shared.
Both stores merge through `GraphStore._prepare`, which calls this, so they agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from lineage_kg.graph.merge import Mutation, Plan
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import DatasetLink, EdgeRetire, EdgeUpsert, NodeUpsert
from lineage_kg.graph.naming import normalise_job_namespace, normalise_namespace

log = logging.getLogger(__name__)

# a plan of the batch with these links (graph/merge.py `plan`, the held rows bound)
PlanWith = Callable[[Sequence[DatasetLink]], Plan]

NAMESPACED = frozenset(
    {
        NodeKind.DATASET,
        NodeKind.COLUMN,
        NodeKind.DATASET_VERSION,
        NodeKind.JOB,
        NodeKind.EXPOSURE,
    }
)


def allowed_names(namespaces: Iterable[str]) -> frozenset[str]:
    """A key's namespaces as the graph names them (`postgres://db` is `postgres://db:5432`)."""
    given = set(namespaces)
    normalised: set[str] = set()
    for ns in given:
        for normalise in (normalise_namespace, normalise_job_namespace):
            try:
                normalised.add(normalise(ns))
            except ValueError:
                continue
    return frozenset(given | normalised)


def _keys(m: Mutation) -> tuple[NodeKey, ...]:
    if isinstance(m, NodeUpsert):
        return (m.key,)
    if isinstance(m, EdgeUpsert):
        return (m.key.src, m.key.dst)
    if isinstance(m, EdgeRetire):  # what it keeps it does not write
        return (m.anchor, *(m.only or ()))
    return (m.alias, m.canonical)


def outside(key: NodeKey, allowed: frozenset[str]) -> bool:
    return key.kind in NAMESPACED and key.parts[0] not in allowed


def links_kept(
    links: Sequence[DatasetLink],
    canon: Mapping[str, NodeKey],
    confined: Mapping[str, frozenset[str]],
) -> list[DatasetLink]:
    """`links` without those of a restricted event whose names `canon` (a plan of the batch)
    puts onto a dataset outside its namespaces."""
    kept = []
    for link in links:
        allowed = confined.get(link.prov.event_id)
        if allowed is not None and any(
            outside(canon.get(key.id, key), allowed) for key in (link.alias, link.canonical)
        ):
            log.warning(
                "event %s links %s to %s, joined onto a dataset outside its key's namespaces "
                "%s: link not applied",
                link.prov.event_id,
                link.alias.display,
                link.canonical.display,
                sorted(allowed),
            )
            continue
        kept.append(link)
    return kept


def plan_confined(
    links: Sequence[DatasetLink],
    confined: Mapping[str, frozenset[str]],
    plan_with: PlanWith,
) -> Plan:
    """The plan of the batch's links, those `links_kept` leaves out dropped (planned again until
    no restricted event's link joins outside its namespaces: each round drops one or more)."""
    linked = plan_with(links)
    while confined:
        kept = links_kept(links, linked.canon, confined)
        if len(kept) == len(links):
            break
        links = kept
        linked = plan_with(links)
    return linked


def keep_confined(
    mutations: Sequence[Mutation], confined: Mapping[str, frozenset[str]]
) -> Sequence[Mutation]:
    """`mutations` (on canonical names) without those of a restricted event touching a node
    outside its namespaces. The same object when nothing is dropped."""
    if not confined:
        return mutations
    dropped: dict[str, list[str]] = {}
    kept: list[Mutation] = []
    for m in mutations:
        allowed = confined.get(m.prov.event_id)
        if allowed is not None and (far := [k for k in _keys(m) if outside(k, allowed)]):
            dropped.setdefault(m.prov.event_id, []).extend(k.display for k in far)
            continue
        kept.append(m)
    if not dropped:
        return mutations
    for event_id, names in sorted(dropped.items()):
        log.warning(
            "event %s of a key confined to %s writes outside them through a joined name "
            "(%s): those writes not applied",
            event_id,
            sorted(confined[event_id]),
            ", ".join(sorted(set(names))),
        )
    return kept
