# ruff: noqa
import resource, sys, time
from pathlib import Path


def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024


def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


import lineage_kg.runtime, lineage_kg.graph.embedded as emb
from lineage_kg.graph.snapshot import read_snapshot
from lineage_kg.graph.embedded import EmbeddedStore

if hasattr(emb, "_take_over"):
    orig = emb._take_over

    def timed(g, s):
        t = time.perf_counter()
        orig(g, s)
        print(f"  _take_over {time.perf_counter() - t:.2f}s")

    emb._take_over = timed
t = time.perf_counter()
h, s = read_snapshot(Path(sys.argv[1]))
t1 = time.perf_counter()
print(f"read {t1 - t:.2f}s rss {rss():.0f} peak {peak():.0f}")
st = EmbeddedStore.from_state(s)
t2 = time.perf_counter()
print(f"from_state {t2 - t1:.2f}s rss {rss():.0f} peak {peak():.0f}")
x = [[] for _ in range(100000)]
t3 = time.perf_counter()
print(f"100k allocs after {t3 - t2:.2f}s")
