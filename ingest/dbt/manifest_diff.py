"""Two dbt manifests (base, proposed) → the schema changes a merge would make, named as the graph
names them (the dbt sync's own reader, ingest/dbt/sync.py, turns a model into its dataset; the
keys come from graph/naming.py — no second naming scheme).

What counts, per model, seed, snapshot or source (by unique_id):
- gone from the proposed manifest: the dataset is dropped (`drop` on the dataset);
- its relation renamed (alias, schema or database changed): `rename:<new dataset name>`;
- a column gone: `drop`, unless it is taken for a rename (below);
- a column whose declared `data_type` differs (case and blanks aside): `type:<new type>`;
  a type declared on one side only is unknown, not a change;
- its SQL changed (compiled_code, else raw_code, blanks collapsed, differ): each column it
  keeps gets `semantics` (its lineage or values may change); a model that documents no column
  gets `semantics` on the dataset itself.

Renames, best effort: in one model, the dropped and added columns are grouped by declared type;
where a type has exactly one dropped and one added column, that pair is `rename:<new>`. Columns
without a declared type pair only when they are the model's only dropped and only added
column. Anything else stays a drop (a drop is the safer reading: every reader of the old name
breaks either way).

The manifest lists documented columns only (dbt's `columns:`), so an undocumented column's drop
is not seen here; catalog.json would add them (not read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest.dbt.records import ColumnInfo, Manifest, RelationNode
from lineage_kg.ingest.dbt.sync import ManifestReader
from lineage_kg.ingest.source_sync import SyncReport

DROP, SEMANTICS = "drop", "semantics"
RENAME, TYPE = "rename:", "type:"
_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ManifestChange:
    node: NodeKey  # a Column or a Dataset, as the graph keys it
    kind: str  # drop | rename:<new> | type:<new> | semantics
    unique_id: str  # the dbt node it comes from
    detail: str  # for people: "decimal(10,2) -> bigint", "compiled SQL changed", …
    path: str = ""  # the dbt file defining it (original_file_path), for CI annotations

    @property
    def ref(self) -> str:
        """The node as a change reference (its id: resolved as every name is)."""
        return self.node.id


@dataclass(slots=True)
class ManifestDiff:
    changes: list[ManifestChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries dbt's schema check refused


def _type(col: ColumnInfo) -> str | None:
    return _BLANKS.sub(" ", col.data_type).strip().lower() if col.data_type else None


def _sql(node: RelationNode) -> str | None:
    code = node.compiled_code or (node.model_extra or {}).get("raw_code")
    return _BLANKS.sub(" ", code).strip() if isinstance(code, str) and code.strip() else None


def renames(dropped: dict[str, ColumnInfo], added: dict[str, ColumnInfo]) -> dict[str, str]:
    """old column → new column, by the rule in the module docstring."""
    by_type: dict[str | None, tuple[list[str], list[str]]] = {}
    for name, col in dropped.items():
        by_type.setdefault(_type(col), ([], []))[0].append(name)
    for name, col in added.items():
        by_type.setdefault(_type(col), ([], []))[1].append(name)
    found: dict[str, str] = {}
    for declared, (old, new) in by_type.items():
        if len(old) == 1 and len(new) == 1:
            if declared is None and (len(dropped) != 1 or len(added) != 1):
                continue
            found[old[0]] = new[0]
    return found


def _model_changes(
    base: RelationNode, new: RelationNode, ds: NodeKey, new_ds: NodeKey
) -> list[ManifestChange]:
    uid = base.unique_id
    changes: list[ManifestChange] = []
    if new_ds != ds:
        changes.append(
            ManifestChange(ds, f"{RENAME}{new_ds.parts[1]}", uid, f"relation now {new_ds.display}")
        )
    old_cols = {c.name: c for c in base.columns.values()}
    new_cols = {c.name: c for c in new.columns.values()}
    dropped = {n: c for n, c in old_cols.items() if n not in new_cols}
    added = {n: c for n, c in new_cols.items() if n not in old_cols}
    renamed = renames(dropped, added)
    for name in sorted(dropped):
        col = column_key(ds, name)
        if name in renamed:
            to = renamed[name]
            changes.append(ManifestChange(col, f"{RENAME}{to}", uid, f"renamed to {to}"))
        else:
            changes.append(ManifestChange(col, DROP, uid, "column dropped"))
    typed: set[str] = set()
    for name in sorted(set(old_cols) & set(new_cols)):
        before, after = _type(old_cols[name]), _type(new_cols[name])
        if before is not None and after is not None and before != after:
            typed.add(name)
            changes.append(
                ManifestChange(
                    column_key(ds, name),
                    f"{TYPE}{new_cols[name].data_type.strip()}",  # type: ignore[union-attr]
                    uid,
                    f"{old_cols[name].data_type} -> {new_cols[name].data_type}",
                )
            )
    if _sql(base) != _sql(new):
        kept = sorted((set(old_cols) & set(new_cols)) - typed)
        compiled = base.compiled_code or new.compiled_code
        detail = "compiled SQL changed" if compiled else "SQL changed"
        if not old_cols and not new_cols:
            changes.append(ManifestChange(ds, SEMANTICS, uid, detail))
        changes += [ManifestChange(column_key(ds, n), SEMANTICS, uid, detail) for n in kept]
    return changes


def _relations(
    manifest: dict[str, Any], namespace: str, diff: ManifestDiff, side: str
) -> dict[str, tuple[RelationNode, NodeKey]]:
    report = SyncReport("dbt")
    reader = ManifestReader(Manifest.model_validate(manifest), namespace, report)
    diff.skipped += [f"{side} {s.where}: {s.why}" for s in report.skipped]
    found = {}
    for uid, node in reader.relations.items():
        ref = reader.dataset(node)
        found[uid] = (node, dataset_key(ref["namespace"], ref["name"]))
    return found


def diff_manifests(base: dict[str, Any], proposed: dict[str, Any], namespace: str) -> ManifestDiff:
    """The changes from `base` to `proposed`, datasets in `namespace` (the warehouse's, as
    `lkg sync dbt` takes it); ValidationError if either top level is not a dbt manifest."""
    diff = ManifestDiff()
    before = _relations(base, namespace, diff, "base")
    after = _relations(proposed, namespace, diff, "proposed")
    for uid, (node, ds) in sorted(before.items()):
        if uid not in after:
            diff.changes.append(ManifestChange(ds, DROP, uid, f"{node.resource_type} removed"))
            continue
        new, new_ds = after[uid]
        diff.changes += _model_changes(node, new, ds, new_ds)
    files = {uid: _file(node) for uid, (node, _) in {**before, **after}.items()}
    diff.changes = [replace(c, path=files.get(c.unique_id, "")) for c in diff.changes]
    return diff


def _file(node: RelationNode) -> str:
    # the model's .sql (a source's .yml); "patch_path" would be its schema.yml
    path = (node.model_extra or {}).get("original_file_path")
    return path if isinstance(path, str) else ""
