"""A generated lineage graph with about 5,000 nodes downstream of one dataset, as OpenLineage
events for the real intake (POST /api/v1/lineage/bulk): `root` → 1 job → FANOUT datasets, each
read by its own job writing WIDTH datasets. Plain dicts: the intake validates them."""

from __future__ import annotations

import json

NS = "s3://big-lake"
ROOT = "root.events"
FANOUT = 20
WIDTH = 248  # 1 + 20 + 20 + 20 * 248 = 5,001 nodes downstream of the root
PRODUCER = "https://example.com/lineage-kg/tests/browser"


def _event(index: int, job: str, inputs: list[str], outputs: list[str]) -> dict[str, object]:
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-02-01T00:{index // 60:02d}:{index % 60:02d}.000Z",
        "run": {"runId": f"00000000-0000-4000-8000-{index:012d}"},
        "job": {"namespace": "big-airflow", "name": job},
        "inputs": [{"namespace": NS, "name": name} for name in inputs],
        "outputs": [{"namespace": NS, "name": name} for name in outputs],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def events() -> list[dict[str, object]]:
    middle = [f"mid.d{i:02d}" for i in range(FANOUT)]
    out = [_event(0, "fan.out", [ROOT], middle)]
    for i, name in enumerate(middle, start=1):
        leaves = [f"leaf.d{i:02d}_{j:03d}" for j in range(WIDTH)]
        out.append(_event(i, f"fan.{name}", [name], leaves))
    return out


def ndjson() -> bytes:
    return "\n".join(json.dumps(e) for e in events()).encode()
