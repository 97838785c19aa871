"""Tables and plots from the saved results (benchmarks/results/*.json) into
docs/benchmarks/results.md and docs/benchmarks/*.png.

    python -m benchmarks.report
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from benchmarks.harness import RESULTS

DOCS = Path(__file__).parent.parent / "docs" / "benchmarks"
QUERIES = ("impact_raw_column", "impact_lattice_column", "decision_trace", "team_accountability")


def _load(results: Path, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results.glob(f"{prefix}_*.json"))]


def _ms(x: float | None) -> str:
    return "—" if x is None else (f"{x:.0f}" if x >= 10 else f"{x:.1f}")


def _header(run: dict[str, Any]) -> str:
    m = run["machine"]
    return (
        f"`{run['command']}` — {run['date']}, {m['cpus']} x {m['cpu']}, {m['memory_gib']} GiB, "
        f"Python {m['python']}, load average at start {m['load_average_at_start'][0]:.1f}"
    )


def ingest_section(runs: list[dict[str, Any]], out: Path) -> list[str]:
    lines = ["## Ingest: events per second into Neo4j", ""]
    runs = sorted(runs, key=lambda r: r["nodes_target"])
    lines += [
        "| graph | events | naive (per-event MERGE) | lineage-kg: HTTP + projector | projector "
        "alone | limit (pre-built UNWIND) | vs naive | vs limit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        kg, naive, lim = r.get("lineage_kg", {}), r.get("naive", {}), r.get("limit", {})
        proj = r.get("projector_only", {})
        lines.append(
            f"| {kg.get('nodes', r['nodes_target']):,} nodes | {r['events']:,} | "
            f"{naive.get('events_per_s', 0):.2f} ev/s | {kg.get('events_per_s', 0):.1f} ev/s | "
            f"{proj.get('events_per_s', 0):.1f} ev/s | {lim.get('events_per_s', 0):.1f} ev/s "
            f"({lim.get('records_per_s', 0):,.0f} records/s) | "
            f"{r.get('ratio_vs_naive', 0):.1f}x | {r.get('ratio_vs_limit', 0):.2f}x |"
        )
    lines += ["", *(f"- {_header(r)}" for r in runs), ""]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = ["naive", "lineage-kg (HTTP)", "projector alone", "limit"]
    keys = ["naive", "lineage_kg", "projector_only", "limit"]
    width = 0.8 / max(1, len(runs))
    for i, r in enumerate(runs):
        values = [r.get(k, {}).get("events_per_s", 0) for k in keys]
        xs = [j + i * width for j in range(len(keys))]
        ax.bar(xs, values, width, label=f"{r['nodes_target']:,} nodes")
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(keys))], labels)
    ax.set_ylabel("events / s")
    ax.set_title("OpenLineage events into Neo4j")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ingest.png", dpi=110)
    plt.close(fig)
    return [*lines, "![ingest throughput](ingest.png)", ""]


def query_section(runs: list[dict[str, Any]], out: Path) -> list[str]:
    sizes: dict[int, dict[str, Any]] = {}
    headers = []
    for run in sorted(runs, key=lambda r: r["date"]):  # a later run of a size replaces it
        headers.append(_header(run))
        for size in run["sizes"].values():
            sizes[size["nodes"]] = size
    lines = ["## Queries: latency against graph size", ""]
    lines += [
        "| graph | question | answer nodes (median / max) | Neo4j p50 / p95 / p99 ms | "
        "embedded p50 / p95 / p99 ms |",
        "|---|---|---|---|---|",
    ]
    for n in sorted(sizes):
        s = sizes[n]
        for q in QUERIES:
            if q not in s:
                continue
            neo, emb = s[q]["neo4j"], s[q]["embedded"]
            lines.append(
                f"| {n:,} | {q} | {s[q]['answer_nodes_median']} / {s[q]['answer_nodes_max']} | "
                f"{_ms(neo['p50_ms'])} / {_ms(neo['p95_ms'])} / {_ms(neo['p99_ms'])} | "
                f"{_ms(emb['p50_ms'])} / {_ms(emb['p95_ms'])} / {_ms(emb['p99_ms'])} |"
            )
    lines += [
        "",
        "| graph | naive variable-length Cypher (count of paths, 10 s timeout) |",
        "|---|---|",
    ]
    for n in sorted(sizes):
        nv = sizes[n]["naive_cypher"]
        lat = nv["latency"] or {}
        lines.append(
            f"| {n:,} | p50 {_ms(lat.get('p50_ms'))} ms, max {_ms(lat.get('max_ms'))} ms; "
            f"{nv['timeouts']} of {nv['runs']} timed out; most paths {nv['paths_max']} |"
        )
    lines += [
        "",
        "| graph | embedded rebuild from the log | memory | per node | Neo4j projection |",
        "|---|---|---|---|---|",
    ]
    for n in sorted(sizes):
        s = sizes[n]
        lines.append(
            f"| {n:,} nodes, {s['edges']:,} edges | {s['embedded_rebuild_s']:.1f} s | "
            f"{s['embedded_mb']:.0f} MiB | {s['embedded_bytes_per_node']:,.0f} B | "
            f"{s['neo4j_projection_s']:.1f} s |"
        )
    lines += ["", *(f"- {h}" for h in headers), ""]
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = sorted(sizes)
    for q in QUERIES:
        for store, style in (("neo4j", "-o"), ("embedded", "--s")):
            pts = [(n, sizes[n][q][store]["p95_ms"]) for n in xs if q in sizes[n]]
            if pts:
                ax.plot(*zip(*pts, strict=True), style, label=f"{q} ({store})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("graph nodes")
    ax.set_ylabel("p95 latency (ms)")
    ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    ax.set_title("p95 latency against graph size")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "query_latency.png", dpi=110)
    plt.close(fig)
    return [*lines, "![latency against graph size](query_latency.png)", ""]


def api_section(runs: list[dict[str, Any]], out: Path) -> list[str]:
    lines = ["## API: impact over HTTP GraphQL against the query function", ""]
    lines += [
        "| store | graph | direct p50 / p95 ms | clients | HTTP p50 / p95 ms | answers/s | "
        "overhead (p50, 1 client) |",
        "|---|---|---|---|---|---|---|",
    ]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in runs:
        d = r["direct"]["latency"]
        for h in r["http"]:
            lines.append(
                f"| {r['store']} | {r['nodes_target']:,} | {_ms(d['p50_ms'])} / {_ms(d['p95_ms'])} "
                f"| {h['clients']} | {_ms(h['latency']['p50_ms'])} / "
                f"{_ms(h['latency']['p95_ms'])} | {h['per_s']:.1f} | "
                f"{r.get('overhead_p50', 0):.2f}x |"
            )
        ax.plot(
            [h["clients"] for h in r["http"]],
            [h["per_s"] for h in r["http"]],
            "-o",
            label=f"HTTP, {r['store']}",
        )
        ax.axhline(r["direct"]["per_s"], linestyle=":", label=f"direct, {r['store']}")
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("answers / s")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "api.png", dpi=110)
    plt.close(fig)
    return [*lines, "", *(f"- {_header(r)}" for r in runs), "", "![api throughput](api.png)", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks.report` from "
        "`benchmarks/results/*.json`; the reading is in [../benchmarks.md](../benchmarks.md).",
        "",
    ]
    if runs := _load(args.results, "ingest_throughput"):
        lines += ingest_section(runs, args.out)
    if runs := _load(args.results, "query_latency"):
        lines += query_section(runs, args.out)
    if runs := _load(args.results, "api_load"):
        lines += api_section(runs, args.out)
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("wrote", args.out / "results.md")


if __name__ == "__main__":
    main()
