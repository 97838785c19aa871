# ruff: noqa
import sys
from pathlib import Path
from lineage_kg.graph.snapshot import read_snapshot
from lineage_kg.graph.embedded import EmbeddedStore

h, s = read_snapshot(Path(sys.argv[1]))
st = EmbeddedStore.from_state(s)
g = st._g
gs = sys.getsizeof
M = 2**20
lists = [l for t in g.adj for l in t.values()]
print(
    "adj lists",
    len(lists),
    sum(map(gs, lists)) / M,
    "+gc hdr",
    len(lists) * 16 / M,
    "dicts",
    sum(gs(t) for t in g.adj) / M,
)
import collections

print("list lens", collections.Counter(min(len(l), 5) for l in lists))
print(
    "ids dict",
    gs(g.ids) / M,
    "names list",
    gs(g.names) / M,
    "name strs",
    sum(gs(x) for x in g.names if x) / M,
)
for name in ("esrc", "edst", "ekind", "efirst", "eto", "edisc", "erec", "nrec", "nkind"):
    print(name, gs(getattr(g, name)) / M)
nodes_t = sum(gs(r) for r in g.nrec if r)
print("node tuples", nodes_t / M)
seen = set()
et = 0
for r in g.erec:
    if r is not None and id(r) not in seen:
        seen.add(id(r))
        et += gs(r)
print("edge tuples distinct", len(seen), et / M)
print("ints", (len(g.names) + len(g.esrc)) * 32 / M)
import zlib

ret = 0
stamps = set()
st_b = 0
for r in g.nrec:
    if r is None:
        continue
    sh = g.shapes.all[r[0]]
    if sh.retired and type(r[sh.retired]) is bytes:
        ret += gs(r[sh.retired])
print("retired deflated", ret / M)
disp = sum(gs(g.shapes.get(r, "display")) for r in g.nrec if r) / M
print("display strs", disp)
