# ruff: noqa
"""Measurement scaffolding (target 3): a format-1 snapshot (the base code's) rewritten as format 2
by this build, as this build would have written it: the adjacency built from the edge columns
(the old `_link_all`), every record packed again through `Shapes.pack` in slot order (its
sharing of stamps and records). Header kept (seq, log hash, writer) but the format."""

import dataclasses, gc, io, sys, time
from array import array
from collections import defaultdict
from pathlib import Path

from lineage_kg.graph import snapshot as snap
from lineage_kg.graph.embedded import KINDS, NO_SLOT, EmbeddedState, _export_adjacency
from lineage_kg.graph.packed import Shapes

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
gc.disable()
t = time.perf_counter()
with src.open("rb") as f:
    assert f.read(len(snap.MAGIC)) == snap.MAGIC
    import json

    fields = json.loads(f.readline())
    assert fields["format"] == 1, fields
    start = f.tell()
    size = src.stat().st_size
    f.seek(size - snap._TRAILER)
    payload = int.from_bytes(f.read(8), "big")
    f.seek(start)
    state = snap._Restricted(io.BufferedReader(snap._Bounded(f, payload))).load()
print("read v1", time.perf_counter() - t, file=sys.stderr)


def ints(code, raw):
    a = array(code)
    a.frombytes(raw)
    return a


esrc, edst, ekind = ints("q", state.edge_src), ints("q", state.edge_dst), ints("b", state.edge_kind)
n = len(state.names)
tables = [defaultdict(list) for _ in range(2 * len(KINDS))]
for e, (s, k, d) in enumerate(zip(esrc, ekind, edst)):
    if k != NO_SLOT:
        tables[k * 2][s].append(e)
        tables[k * 2 + 1][d].append(e)
masks = (array("q", bytes(8 * n)), array("q", bytes(8 * n)))
for index, table in enumerate(tables):
    for node in table:
        masks[index & 1][node] |= 1 << (index >> 1)
state.adjacency = _export_adjacency([dict(t) for t in tables], len(state.edge_disc))
state.kind_masks = (masks[0].tobytes(), masks[1].tobytes())
old, new = Shapes(state.shapes), Shapes(state.shapes)
state.nodes = [None if r is None else new.pack(old.unpack(r)) for r in state.nodes]
state.edges = [None if r is None else new.pack(old.unpack(r)) for r in state.edges]
state.shapes = new.keys()
fields["format"] = snap.FORMAT
size = snap.write_snapshot(dst, state, snap.SnapshotHeader(**fields))
print("wrote v2", size / 2**20, "MiB", time.perf_counter() - t, file=sys.stderr)
