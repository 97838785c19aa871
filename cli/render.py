"""The question commands' tables, drawn from an answer's JSON form (docs/cli.md, "JSON
shapes") — the one renderer, whether the answer came from the local store (cli/export.py's
`impact_dict` …) or from a service over GraphQL (cli/remote.py)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from lineage_kg.cli.common import console
from lineage_kg.graph.model import NodeKey

Doc = dict[str, Any]


def display(node_id: str) -> str:
    return NodeKey.from_id(node_id).display


def more(shown: int, total: int) -> None:
    if total > shown:
        console.print(f"… and {total - shown} more (--limit, --json or --format for all)")


def impact(doc: Doc, limit: int) -> None:
    start, summary, items = doc["start"], doc["summary"], doc["items"]
    deep = doc.get("depth_reached", False)  # some node at the depth asked: not looked past
    console.print(
        f"[bold]Impact of {start['kind']} {start['display']}[/bold]: {len(items)} "
        f"node(s) downstream"
        + (" [yellow](truncated)[/yellow]" if doc["truncated"] else "")
        + (" [yellow](depth reached: --depth to see further)[/yellow]" if deep else ""),
        soft_wrap=True,
    )
    table = Table("kind", "count", "certainty", "count ", "owner", "count  ", title="summary")
    columns = [list(summary[part].items()) for part in ("by_kind", "by_certainty", "by_owner")]
    for i in range(max(map(len, columns), default=0)):
        row: list[str] = []
        for col in columns:
            row += [col[i][0], str(col[i][1])] if i < len(col) else ["", ""]
        table.add_row(*row)
    console.print(table)
    if summary["kpis"]:
        console.print("KPIs: " + ", ".join(summary["kpis"]), soft_wrap=True)
    if summary["unowned"]:
        console.print(f"[yellow]{summary['unowned']} impacted node(s) have no owner[/yellow]")
    table = Table("dist", "certainty", "kind", "node", "owners", "via", title="downstream")
    for item in items[:limit]:
        colour = "green" if item["certainty"] == "exact" else "yellow"
        table.add_row(
            str(item["distance"]),
            f"[{colour}]{item['certainty']}[/{colour}]",
            item["node"]["kind"],
            item["node"]["display"],
            ", ".join(item["owners"]),
            item["path"][-1]["kind"] if item["path"] else "",
        )
    console.print(table)
    more(limit, len(items))


def owner(doc: Doc, limit: int) -> None:
    me = doc["owner"]
    console.print(
        f"[bold]Accountability of {me['display']}[/bold]"
        + (f" ({me['props']['name']})" if "name" in me["props"] else ""),
        soft_wrap=True,
    )
    if doc["teams"]:
        console.print("teams: " + ", ".join(doc["teams"]), soft_wrap=True)
    if doc["members"]:
        console.print("members: " + ", ".join(doc["members"]), soft_wrap=True)
    owned = Table("kind", "asset", "ownership", "via", title=f"owns ({len(doc['owned'])})")
    for o in doc["owned"][:limit]:
        owned.add_row(o["node"]["kind"], o["node"]["display"], o["ownership_type"], o["via"])
    console.print(owned)
    more(limit, len(doc["owned"]))
    kpis = Table("KPI", "distance", "certainty", "owners", title=f"KPIs ({len(doc['kpis'])})")
    for r in doc["kpis"][:limit]:
        kpis.add_row(
            r["node"]["display"], str(r["distance"]), r["certainty"], ", ".join(r["owners"])
        )
    console.print(kpis)
    for side in ("upstream", "downstream"):
        links, assets = doc[f"{side}_owners"], doc[side]
        # the rows are the other owners; the assets they were found through are counted apart,
        # so an empty table says so rather than sitting under a count of assets
        title = f"{side} owners ({len(links)}, of {len(assets)} {side} asset(s))"
        table = Table("owner", "left", "through", title=title)
        for link in links[:limit]:
            shown = ", ".join(display(a) for a in link["assets"][:3])
            extra = f" +{len(link['assets']) - 3}" if len(link["assets"]) > 3 else ""
            table.add_row(link["owner"], "[red]left[/red]" if link["left"] else "", shown + extra)
        if links:
            console.print(table)
        else:
            console.print(f"{title}: none — no one else owns them", soft_wrap=True)
        more(limit, len(links))
    gaps = Table("gap", "asset", "detail", title=f"gaps ({len(doc['gaps'])})")
    for g in doc["gaps"][:limit]:
        gaps.add_row(f"[red]{g['kind']}[/red]", g["asset"]["display"], g["detail"])
    console.print(gaps)
    more(limit, len(doc["gaps"]))
    if doc["truncated"]:
        console.print("[yellow]the walk was cut short (--max-nodes)[/yellow]")


def trace(doc: Doc) -> None:
    start = doc["start"]
    console.print(
        f"[bold]Trace of {start['kind']} {start['display']}[/bold]"
        + (" [yellow](truncated)[/yellow]" if doc["truncated"] else ""),
        soft_wrap=True,
    )
    decision = [doc["decision"]] if doc["decision"] else []
    for title, steps in (
        ("decision and model", [*decision, *doc["model_versions"]]),
        ("data", doc["data"]),
        ("features", doc["features"]),
    ):
        console.print(_steps_table(title, steps))
    if doc["sources"]:
        console.print("sources: " + ", ".join(map(display, doc["sources"])), soft_wrap=True)


def _steps_table(title: str, steps: list[Doc]) -> Table:
    table = Table(
        "dist", "step", "node", "edge", "resolution", "time", "owners", "evidence",
        title=f"{title} ({len(steps)})",
    )  # fmt: skip
    for s in steps:
        evidence = s["evidence"]
        shown = (
            evidence[0] + (f" +{len(evidence) - 1}" if len(evidence) > 1 else "")
            if evidence
            else ""
        )
        table.add_row(
            str(s["distance"]),
            s["step"],
            s["node"]["display"],
            s["edge"] or "",
            s["resolution"] + (f": {s['detail']}" if s["detail"] else ""),
            s["time"] or "",
            ", ".join(s["owners"]),
            shown,
        )
    return table


def audit(doc: Doc) -> None:
    entries = doc["entries"]
    table = Table(
        "time", "type", "summary", "source", "event",
        title=f"audit trail of {doc['node']['display']} ({len(entries)})",
    )  # fmt: skip
    for e in entries:
        table.add_row(e["time"], e["type"], e["summary"], e["source"], e["event_id"])
    console.print(table)
    if doc["next_cursor"]:
        console.print(f"more: --after {doc['next_cursor']} (or --all)", soft_wrap=True)
