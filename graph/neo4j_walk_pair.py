"""Neo4j's `walk_pair`: two walks from the same starts at once, the second on a worker thread.

Each walk spends most of its time waiting on the server (its read-ahead statements), so the two
overlap: the accountability map's downstream and upstream walks at 100k took 2.39 s one after
the other and 1.60 s at once (docs/bench-notes/target1-neo4j.md, session 26). Each walk is the
store's own `walk`, unchanged, on its own thread's session (`Neo4jStore._session` keeps one per
thread), so each answers exactly as it would alone.

Bounded: a store has at most `workers` walks on worker threads at a time, whatever the number of
requests. A pair asked when they are all busy walks both in the asking thread, one after the
other: it never waits on another request's walk. An error of either walk is raised, after both
have ended (no walk runs on past the call); the first walk's when both fail, as one after the
other would have raised it.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from lineage_kg.graph.store import PairedWalk, Walked


class WalkPairs:
    """One store's worker threads for the second walks of pairs (made at the first pair)."""

    def __init__(self, workers: int = 2) -> None:
        self._workers = workers
        self._free = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def run(
        self,
        walk: Callable[..., Walked | None],
        start_ids: Sequence[str],
        first: PairedWalk,
        second: PairedWalk,
        *,
        then: Callable[[PairedWalk, Walked | None], Any] | None = None,
        **bounds: Any,
    ) -> tuple[Any, Any]:
        """`walk` (the store's) of `first`, then of `second`, from `start_ids` within `bounds`:
        the second on a worker thread while the first runs here (one after the other here when
        no worker is free, or once closed). With `then`, each walk's answer is `then` of the
        walk asked and its answer, called on the thread that walked it as soon as it ended (the
        caller's reads after one walk overlap the other)."""

        def one(asked: PairedWalk) -> Any:
            walked = walk(
                start_ids, asked.steps, start_state=asked.start_state, covers=asked.covers,
                **bounds,
            )  # fmt: skip
            return walked if then is None else then(asked, walked)

        return self.both(lambda: one(first), lambda: one(second))

    def both(self, first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
        """`first()` here and `second()` on a worker thread at once (one after the other here
        when no worker is free, or once closed); an error of either raised after both ended,
        the first's when both fail."""
        if not self._free.acquire(blocking=False):
            return first(), second()
        try:
            pool = self._pool_or_none()
            if pool is None:
                return first(), second()
            # the asking thread's context (the request id its log lines carry) goes along
            later = pool.submit(contextvars.copy_context().run, second)
            try:
                done = first()
            finally:
                wait([later])
            return done, later.result()
        finally:
            self._free.release()

    def _pool_or_none(self) -> ThreadPoolExecutor | None:
        with self._lock:
            if self._closed:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="lkg-walk")
            return self._pool

    def close(self) -> None:
        """Let the walks under way end, then stop the threads (before the store closes the
        sessions they hold)."""
        with self._lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
