"""How fast the outbox delivers (issue 20 part 3): N changes (a dataset losing a column, one
per event, as tests/faults/test_notifications_kill.py loads them) projected into the outbox,
then delivered by `Notifier` (who to tell from queries/audience.py, one signed POST per change,
the outbox's marks) to a local receiver; against the naive baseline in the same run: the same
signed bodies POSTed in a plain loop with the same httpx client (no audience, no outbox).

    python -m benchmarks.notifications_delivery --changes 2000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import machine


def _events(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(2 * n):
        fields = [("a", "int"), ("b", "int")] if i % 2 == 0 else [("a", "int")]
        out.append(
            {
                "eventType": "COMPLETE",
                "eventTime": f"2026-02-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"},
                "job": {"namespace": "bench", "name": f"w-{i // 2}"},
                "inputs": [],
                "outputs": [
                    {
                        "namespace": "bench",
                        "name": f"ds-{i // 2}",
                        "facets": {
                            "schema": {
                                "_producer": "b",
                                "_schemaURL": "b",
                                "fields": [{"name": f, "type": t} for f, t in fields],
                            }
                        },
                    }
                ],
                "producer": "https://example.com/bench",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"
                "#/definitions/RunEvent",
            }
        )
    return out


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=2000)
    args = parser.parse_args()

    from lineage_kg.ingest.intake import accept_many
    from lineage_kg.notifications import generic_body, signature
    from lineage_kg.queries.audience import audience
    from lineage_kg.runtime import Runtime
    from lineage_kg.settings import Settings

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    data = Path(tempfile.mkdtemp(prefix="lkg-deliver-bench-"))
    settings = Settings(data_dir=data, snapshot=False, webhook_urls=[url], webhook_secret="k")
    with Runtime.open(settings) as runtime:
        accept_many(runtime.log, enumerate(_events(args.changes)))
        began = time.perf_counter()
        runtime.catch_up()
        projected = time.perf_counter() - began
        outbox = runtime.outbox
        assert outbox is not None and len(outbox.rows(limit=10**9)) == args.changes
        rows = outbox.rows(limit=10**9)

        # the baseline: the same bodies, signed, POSTed in a loop (the audience precomputed)
        bodies = []
        for row in rows:
            row.audience = audience(runtime.store, row.subject, row.starts)
            bodies.append(json.dumps(generic_body(row), sort_keys=True).encode())
        with httpx.Client(timeout=10) as client:
            began = time.perf_counter()
            for row, body in zip(rows, bodies, strict=True):
                headers = {
                    "X-Lkg-Signature": signature(b"k", body),
                    "Idempotency-Key": row.change_id,
                }
                assert client.post(url, content=body, headers=headers).status_code == 204
            plain = time.perf_counter() - began

        began = time.perf_counter()
        notifier = runtime.start_notifications(audience)
        assert notifier is not None
        while outbox.counts().get("delivered", 0) < args.changes:
            time.sleep(0.02)
        delivered = time.perf_counter() - began
    server.shutdown()
    result = {
        "benchmark": "notifications_delivery",
        "changes": args.changes,
        "machine": machine(),
        "projection_s": round(projected, 3),
        "outbox_delivery_s": round(delivered, 3),
        "outbox_changes_per_s": round(args.changes / delivered, 1),
        "plain_posts_s": round(plain, 3),
        "plain_posts_per_s": round(args.changes / plain, 1),
    }
    out = Path("benchmarks/results") / f"notifications_delivery_{args.changes}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
