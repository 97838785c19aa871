"""The cyclic garbage collector paused for a block that makes millions of containers and no garbage
(a snapshot read or written, a store's state copied), or (the accountability map's walks) hundreds
of thousands that live a moment. Left on, it runs again and again over the growing heap: measured
at 2-4x the unpickling time at 10k nodes."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# The longest the collector stays off at a stretch. Blocks of several threads that keep
# overlapping (the projector's map and merge, the audit trail's derivation, requests' traces and
# maps) could otherwise leave it off for good on a busy service, and cyclic garbage made meanwhile
# anywhere in the process would never be freed: a block ending after this long runs one full
# collection (the others may still be inside theirs; it is only slower for them) and the stretch
# starts again.
MAX_OFF_S = 30.0
_clock = time.monotonic


# The collector is one per process, the blocks may be in several threads at once (requests,
# the snapshot writer): counted under a lock, it is off from the first block's start to the last
# one's end, and back as it was before the first. Each thread reading `gc.isenabled()` for itself
# could leave it off for good: a block starting while another one had it off, then disabling it
# again after that one had turned it back on, would remember "off".
class _Paused:
    lock = threading.Lock()
    open = 0  # blocks under way, in every thread
    was_enabled = False  # as the collector was when the first of them began
    off_since = 0.0  # when the collector last went off, or was last run inside a stretch


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The collector off inside the block, and back as it was after the last block under way
    (nested blocks, and blocks in other threads, keep it off until then), exceptions too."""
    with _Paused.lock:
        if _Paused.open == 0:
            _Paused.was_enabled = gc.isenabled()
            _Paused.off_since = _clock()
            gc.disable()
        _Paused.open += 1
    try:
        yield
    finally:
        overdue = False
        with _Paused.lock:
            _Paused.open -= 1
            if _Paused.open == 0:
                if _Paused.was_enabled:
                    gc.enable()
            elif _Paused.was_enabled and _clock() - _Paused.off_since >= MAX_OFF_S:
                _Paused.off_since, overdue = _clock(), True
        if overdue:  # outside the lock: other blocks start and end meanwhile
            gc.collect()
