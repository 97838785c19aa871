# ruff: noqa
"""Measurement scaffolding (target 3): a ~1M state as 10 renamed copies of the 100k state, since
the 1M replay could not finish on this loaded machine. Per copy k > 0, every string renamed so
that node ids, run ids and event ids are its own: "p0" -> "p<k>" (the estate's pipelines are
p00000..p00135), uuids and 64-hex event ids get their first digit rotated by k, owners and the
entity get k in their names. Sharing within a copy is kept (objects renamed once each, by id),
so the copy holds what the original holds. Written as a format-1 snapshot (run under the base)."""

import gc, re, sys, time
from array import array
from pathlib import Path
from lineage_kg.graph import snapshot as snap
from lineage_kg.graph.snapshot import read_snapshot, write_snapshot
from lineage_kg.graph.embedded import EmbeddedState

gc.disable()
src, dst, copies = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
header, s = read_snapshot(src)
HEX = re.compile(
    r"\b[0-9a-f]{64}\b|\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)


def renamer(k):
    memo = {}
    rot = lambda m: format((int(m.group(0)[0], 16) + k) % 16, "x") + m.group(0)[1:]

    def r(v):
        t = type(v)
        if t is str:
            out = memo.get(id(v))
            if out is None:
                out = HEX.sub(
                    rot,
                    v.replace("p0", f"p{k}")
                    .replace("team:data-", f"team:data{k}-")
                    .replace("@example.com", f"@{k}.example.com")
                    .replace('"Entity","', f'"Entity","{k}'),
                )
                if out == v:
                    out = v
                memo[id(v)] = out
            return out
        if t is list or t is tuple:
            out = memo.get(id(v))
            if out is None:
                out = memo[id(v)] = t(map(r, v))
            return out
        if t is dict:
            return {r(a): r(b) for a, b in v.items()}
        if t is set:
            return {r(a) for a in v}
        return v

    return r


N, E = len(s.names), len(s.edge_disc)
src_a, dst_a, kind_a = array("q"), array("q"), array("b")
src_a.frombytes(s.edge_src)
dst_a.frombytes(s.edge_dst)
kind_a.frombytes(s.edge_kind)
names, nodes, edges, discs = [], [], [], []
esrc, edst, ekind = array("q"), array("q"), array("b")
for k in range(copies):
    r = (lambda v: v) if k == 0 else renamer(k)
    names += [None if n is None else r(n) for n in s.names]
    nodes += [None if x is None else (x[0], *map(r, x[1:])) if k else x for x in s.nodes]
    edges += [None if x is None else (x[0], *map(r, x[1:])) if k else x for x in s.edges]
    discs += s.edge_disc
    esrc.extend(v if v < 0 else v + k * N for v in src_a)
    edst.extend(v if v < 0 else v + k * N for v in dst_a)
    ekind.extend(kind_a)
live = [n for n in names if n is not None]
assert len(set(live)) == len(live), (len(live), len(set(live)))
state = EmbeddedState(
    names=names,
    nodes=nodes,
    shapes=s.shapes,
    edge_src=esrc.tobytes(),
    edge_kind=ekind.tobytes(),
    edge_dst=edst.tobytes(),
    edge_disc=discs,
    edges=edges,
    aliases=s.aliases,
    links=s.links,
    links_to=s.links_to,
    checkpoint=s.checkpoint,
)
size = write_snapshot(dst, state, header)
print(len(live), "nodes", len(discs), "edges", size / 2**20, "MiB", file=sys.stderr)
