"""Where a resolver's blocking call (the store, the log, the side tables) runs.

The router (api/graphql/router.py) runs each request in a worker thread, on that thread's own
event loop (one request at a time), and lets that loop one blocking thread at a time: the
request's calls run one after another whatever happens. There, a call runs on the request's
own thread: handing it to yet another thread would add a thread start and two switches per
call (issue 19: a few tenths of a millisecond at the median, milliseconds at p95 on a loaded
machine) and change nothing else.
On any other loop — a schema executed directly, as some tests do — it runs off the loop, in the
thread pool, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


async def run_blocking(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(*args, **kwargs)`: here on a request's own loop, else in the thread pool."""
    if anyio.to_thread.current_default_thread_limiter().total_tokens == 1:
        return call(*args, **kwargs)
    return await run_in_threadpool(call, *args, **kwargs)
