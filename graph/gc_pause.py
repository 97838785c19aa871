"""The cyclic garbage collector paused for a block that makes millions of containers and no garbage
(a snapshot read or written, a store's state copied), or (the accountability map's walks) hundreds
of thousands that live a moment. Left on, it runs again and again over the growing heap: measured
at 2-4x the unpickling time at 10k nodes."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


# The collector is one per process, the blocks may be in several threads at once (requests,
# the snapshot writer): counted under a lock, it is off from the first block's start to the last
# one's end, and back as it was before the first. Each thread reading `gc.isenabled()` for itself
# could leave it off for good: a block starting while another one had it off, then disabling it
# again after that one had turned it back on, would remember "off".
class _Paused:
    lock = threading.Lock()
    open = 0  # blocks under way, in every thread
    was_enabled = False  # as the collector was when the first of them began


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The collector off inside the block, and back as it was after the last block under way
    (nested blocks, and blocks in other threads, keep it off until then), exceptions too."""
    with _Paused.lock:
        if _Paused.open == 0:
            _Paused.was_enabled = gc.isenabled()
            gc.disable()
        _Paused.open += 1
    try:
        yield
    finally:
        with _Paused.lock:
            _Paused.open -= 1
            if _Paused.open == 0 and _Paused.was_enabled:
                gc.enable()
