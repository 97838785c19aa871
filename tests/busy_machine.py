"""Load this machine the way a busy CI host is loaded, to find tests whose verdict depends on speed.

    .venv/bin/python -m tests.busy_machine            # until Ctrl-C
    .venv/bin/python -m tests.busy_machine --cores 2  # one CPU-bound process per core (default)

It starts one CPU-bound process per core and a second Neo4j server (the project's own launcher,
its own data dir and port) that a writer keeps busy with small write transactions. Run
`bash .ci/run` (or a tier) in another shell meanwhile; docs/testing.md tells the whole recipe.
Not a test: pytest collects only `test_*.py`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from tools.neo4j_server import LocalNeo4j


def _burn() -> None:
    """One core's worth of pure-Python work, forever."""
    x = 0
    while True:
        x = (x * 1_103_515_245 + 12_345) % 2_147_483_648


def _write_forever(server: LocalNeo4j, stop: threading.Event) -> int:
    """Small write transactions, as a neighbour's database would make; returns how many ran."""
    done = 0
    with server.driver() as driver:
        while not stop.is_set():
            driver.execute_query(
                "UNWIND range(1, 200) AS i MERGE (n:Busy {k: i % 5000 + $b}) SET n.t = timestamp()",
                b=done % 50 * 100,
            )
            done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-neo4j", action="store_true", help="CPU burners only")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    args = parser.parse_args()

    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.cores)]
    for p in burners:
        p.start()
    print(f"busy: {len(burners)} CPU burners", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="lkg-busy-") as tmp:
        server = None if args.no_neo4j else LocalNeo4j(data_dir=Path(tmp) / "neo4j")
        writer = None
        if server is not None:
            server.start()
            print(f"busy: second Neo4j at {server.uri}, writing", flush=True)
            writer = threading.Thread(target=_write_forever, args=(server, stop), daemon=True)
            writer.start()
        try:
            deadline = time.monotonic() + args.seconds if args.seconds else None
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                stop.wait(1)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if writer is not None:
                writer.join(30)
            if server is not None:
                server.stop()
            for p in burners:
                p.kill()


if __name__ == "__main__":
    main()
