"""The watcher of the policy (issue 20, part 2): violations' starts and ends into the audit trail.

A thread started by the composition root (`Runtime.start_governance_watch`) looks at the
projector's position every `interval` seconds; when the graph moved since its last evaluation
(or, without moving, after `STALE_FACTOR` intervals: a check failing for N days becomes a
violation without a new event), it evaluates the policy off the event loop — the evaluation is
handed in (the API gives queries/governance/trail.py `observe`; the service room does not
import the read side) — and records the result in the governance log
(graph/sides/governance_log.py), which opens a transition for a new violation and closes the
ones gone. A transition is dated at the position read after the evaluation: the event that
started (ended) the violation is at or before it. The one read before decides whether the graph
moved, so a graph that moved during an evaluation is evaluated again at the next look. A
restart evaluates again and finds the same open rows: nothing is doubled.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from lineage_kg.graph.sides.governance_log import GovernanceLog, Observation

log = logging.getLogger(__name__)

Observe = Callable[[], Observation]


class GovernanceWatch:
    STALE_FACTOR = 10

    def __init__(
        self,
        governance: GovernanceLog,
        position: Callable[[], int],
        observe: Observe,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.governance, self.position, self.observe = governance, position, observe
        self.interval, self.clock = interval, clock
        self._seen: int | None = None  # the position of the last recorded evaluation
        self._at = -math.inf
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.evaluations = 0
        self.latest: Observation | None = None  # the last evaluation recorded (the gauge's)

    def check(self, *, force: bool = False) -> bool:
        """One look: evaluate and record if the graph moved (or the last one is stale).
        True when it evaluated."""
        position = self.position()
        stale = self.clock() - self._at >= self.STALE_FACTOR * self.interval
        if not force and position == self._seen and not stale:
            return False
        found = self.observe()
        seen = self.position()  # what the evaluation saw is at or before this
        opened, closed = self.governance.record(
            found.sightings, position=seen, at=found.at, close=found.complete
        )
        self._seen, self._at, self.latest = position, self.clock(), found
        self.evaluations += 1
        if opened or closed:
            log.info("governance at seq %d: %d violation(s) started, %d ended", seen,
                     opened, closed)  # fmt: skip
        return True

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # the store is down, a rule failed: the next look tries again
                log.warning("governance watch: evaluation failed", exc_info=True)
            self._wake.wait(self.interval)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lkg-governance", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
