# ruff: noqa
import sys, time, gc
from pathlib import Path
from lineage_kg.graph.snapshot import read_snapshot
import lineage_kg.graph.embedded as emb

h, s = read_snapshot(Path(sys.argv[1]))
st = emb.EmbeddedStore.from_state(s)
gc.disable()
orig = emb._export_adjacency
spent = []


def timed(*a):
    t = time.perf_counter()
    r = orig(*a)
    spent.append(time.perf_counter() - t)
    return r


emb._export_adjacency = timed
for i in range(2):
    t = time.perf_counter()
    x = st.export_state()
    total = time.perf_counter() - t
    print(
        f"export_state {total:.2f} s, of which after the lock (adjacency arrays) {spent[-1]:.2f} s: under the lock {total - spent[-1]:.2f} s"
    )
    del x
