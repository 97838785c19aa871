"""The cyclic garbage collector paused for a block that makes millions of containers and no garbage
(a snapshot read or written, a store's state copied). Left on, it runs again and again over the
growing heap: measured at 2-4x the unpickling time at 10k nodes."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The collector off inside the block, and back as it was after (nested blocks keep it off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
