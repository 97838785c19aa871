"""The log cannot grow (disk full): intake answers 503 with Retry-After, never a 2xx for an
event that is not durable.

Mechanism: RLIMIT_FSIZE on the real `lkg serve` process (a kernel-enforced cap on file size; the
writes past it fail with EFBIG, as on a full disk they fail with ENOSPC; Python ignores SIGXFSZ).
It needs no root, mount or loop device, so it runs the same in CI. Root defeats chmod, so a
read-only directory is not simulated; SQLite reports both as a failed write the same way.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.faults.load import logged_ids, ol_id, run_event

LIMIT = 512 * 1024  # bytes per file: room for a few hundred events


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Children started inside inherit the cap; this process gets its own back after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.mark.timeout(300)  # two service starts: a bound on a hang (38 s at load 8-20, ci32)
def test_full_disk_gets_503_and_every_2xx_is_durable(service_factory: Callable) -> None:
    service = service_factory()
    with file_size_limit(LIMIT):
        service.start()
    acknowledged: set[str] = set()
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for i in range(0, 4000, 20):
            chunk = [run_event(i + k) for k in range(20)]
            response = client.post("/api/v1/lineage/bulk", json=chunk)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                acknowledged |= {ol_id(e) for e in chunk}
            else:
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] and "retry" in response.json()["error"]
                # a smaller write may still fit; if it is acknowledged it must be durable too
                single_event = run_event(10_000 + i)
                single = client.post("/api/v1/lineage", json=single_event)
                assert single.status_code in {201, 503}, single.text
                if single.status_code == 201:
                    acknowledged.add(ol_id(single_event))
                statuses[single.status_code] = statuses.get(single.status_code, 0) + 1
                if statuses[503] >= 20:
                    break
        assert statuses.get(503), f"the log never filled up: {statuses}"
        assert acknowledged, statuses
        service.kill()

    service.start()  # without the cap: the disk has room again
    ids = logged_ids(service.data_dir)
    assert acknowledged <= set(ids)  # every 2xx is durable
    assert len(ids) == len(set(ids))
    # and intake works again
    assert httpx.post(f"{service.url}/api/v1/lineage", json=run_event(99_999)).status_code == 201
    print(f"disk full: {statuses} requests by status; acknowledged={len(acknowledged)} "
          f"logged={len(ids)} lost=0")  # fmt: skip
