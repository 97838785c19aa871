"""`GraphStore.apply` before and after the ownership retirement (session 34, helper 94: scoped
OWNS retirements, graph/validity.py), interleaved, one process per round and version:
benchmarks/dropped_columns_s34.py with the OWNS edges' ends left out of the second digest.

    python -m benchmarks.owners_retired_s34 --log /work/q31/estate/10000/log \
        --before /tmp/h94/before --after /tmp/h94/after --rounds 4

It reports each version's apply CPU, the graph's digest (every node and edge record with its
dates), the digest with the OWNS edges' ends left out, and how many OWNS edges are closed. The
mend changes only OWNS ends, so the second digest must be equal across versions, and the first
equal across the rounds of one version.
"""

from __future__ import annotations

from benchmarks.dropped_columns_s34 import main

if __name__ == "__main__":
    main("OWNS", __doc__)
