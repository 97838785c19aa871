"""`lkg impact / trace / owner / audit / export`: the questions, asked from the command line.

They run locally, on the store the settings name (as `lkg serve` would): the embedded store is
first rebuilt from the durable event log (with the side tables, as the service does at start);
Neo4j is asked as it stands (a running service's projector keeps it current). Output: rich
tables, `--json` (the answer, docs/cli.md gives the shape) or `--format … --output FILE` (an
export, cli/export.py). Tables and JSON go to stdout; progress and errors to stderr.

Exit codes: 0 answered; 1 failure (store or log unavailable); 2 bad input, naming the argument;
3 not found.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lineage_kg.cli.common import BAD_INPUT, FAILURE, NOT_FOUND, console, err
from lineage_kg.cli.export import ExportFormat, render
from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import KEY_FIELDS, NodeKey, NodeKind
from lineage_kg.graph.resolve import resolve, resolve_owner, resolve_text
from lineage_kg.graph.sides.history import EntryType
from lineage_kg.graph.store import StoreUnavailable
from lineage_kg.ingest.eventlog import LogUnavailable
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

if TYPE_CHECKING:
    import networkx as nx

    from lineage_kg.graph.sides.decisions import DecisionTable
    from lineage_kg.graph.store import GraphStore
    from lineage_kg.ingest.eventlog import EventLog
    from lineage_kg.queries.decision_trace import TraceStep

commands = typer.Typer()
export_app = typer.Typer(
    help="Export an impact answer or an accountability map: GraphML, JSON, CSV, DOT or PNG.",
    no_args_is_help=True,
)

# ---- options shared by the commands -----------------------------------------------------------

NodeArg = Annotated[
    str | None,
    typer.Argument(
        metavar="NODE",
        help="a node id, or a display name: `postgres://warehouse:5432/shop.public.orders#amount`"
        ", `mlflow/credit-risk@3`, `approval-rate`",
        show_default=False,
    ),
]
KindOpt = Annotated[
    NodeKind | None,
    typer.Option("--kind", help="the node's kind (with the key options, or to narrow NODE)"),
]
NamespaceOpt = Annotated[str | None, typer.Option("--namespace", help="key field")]
NameOpt = Annotated[str | None, typer.Option("--name", help="key field")]
FieldOpt = Annotated[str | None, typer.Option("--field", help="key field (a column's)")]
KeyOpt = Annotated[
    list[str] | None,
    typer.Option("--key", metavar="FIELD=VALUE", help="any other key field, e.g. version=3"),
]
DepthOpt = Annotated[int, typer.Option(help="hops to follow (1-25)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="ISO-8601: the graph as it was")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the answer as JSON")]
FormatOpt = Annotated[
    ExportFormat | None,
    typer.Option("--format", help="export format (default: from --output's extension)"),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="export file (text formats: - is stdout)")
]
ExportOutputOpt = Annotated[
    Path, typer.Option("--output", "-o", help="the file to write (- for stdout)")
]
LimitOpt = Annotated[int, typer.Option(help="table rows shown (the JSON holds them all)", min=1)]


# ---- the local store, brought up to date ------------------------------------------------------


@dataclass(slots=True)
class Workspace:
    store: GraphStore
    log: EventLog
    decisions: DecisionTable | None


@contextmanager
def answering() -> Iterator[None]:
    """The question's errors as exit codes (the message names the argument)."""
    try:
        yield
    except InvalidArgument as exc:
        err.print(f"[red]bad input:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT) from exc
    except NotFound as exc:
        err.print(f"[red]not found:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(NOT_FOUND) from exc
    except (StoreUnavailable, LogUnavailable, OSError) as exc:
        err.print(f"[red]failed:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(FAILURE) from exc


@contextmanager
def workspace() -> Iterator[Workspace]:
    """The configured store, brought up to date as the service would (service/runtime.py)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Runtime.open(Settings()) as runtime:
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("projecting the event log", total=None)
            status = runtime.rebuild_embedded(
                lambda done, total: bar.update(task, completed=done, total=total)
            )
        if status is not None and status.parked:
            err.print(
                f"[yellow]{status.parked} logged event(s) could not be projected (parked)[/yellow]"
            )
        yield Workspace(runtime.store, runtime.log, runtime.decisions)


# ---- naming a node ----------------------------------------------------------------------------


def resolve_node(
    store: GraphStore,
    ref: str | None,
    kind: NodeKind | None = None,
    fields: dict[str, str | None] | None = None,
    extra: list[str] | None = None,
) -> str:
    """The id of the node the arguments name, resolved as every question resolves names
    (graph/resolve.py: normalised as ingest does, then through dataset aliases); BadParameter
    (exit 2) naming the argument when they name none, NotFound (exit 3, with the name looked for
    and the closest known) when it is not in the graph."""
    given = {k: v for k, v in (fields or {}).items() if v is not None}
    for item in extra or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r} is not FIELD=VALUE", param_hint="'--key'")
        given[name.strip()] = value
    if given:
        if ref is not None:
            raise typer.BadParameter("give NODE or the key options, not both", param_hint="NODE")
        if kind is None:
            raise typer.BadParameter("the key options need --kind", param_hint="'--kind'")
        try:
            key = NodeKey.of(kind, **given)
        except ValueError as exc:
            wanted = ", ".join(f"--{f}" for f in KEY_FIELDS[kind])
            raise typer.BadParameter(f"{exc} (give {wanted})", param_hint="'--kind'") from exc
        return resolve(store, key).id
    if ref is None or not ref.strip():
        raise typer.BadParameter(
            "name a node (or give --kind and its key options)", param_hint="NODE"
        )
    try:
        return resolve_text(store, ref, kind).id
    except InvalidArgument as exc:
        raise typer.BadParameter(str(exc), param_hint="NODE") from exc


def _node(
    ws: Workspace,
    *,
    ref: str | None,
    kind: NodeKind | None,
    namespace: str | None,
    name: str | None,
    field: str | None,
    key: list[str] | None,
) -> str:
    fields = {"namespace": namespace, "name": name, "field": field}
    return resolve_node(ws.store, ref, kind, fields, key)


# ---- output ------------------------------------------------------------------------------------


def _emit_json(doc: dict[str, Any]) -> None:
    import json

    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _export(graph: nx.MultiDiGraph, fmt: ExportFormat | None, output: Path | None) -> None:
    to_file = output is not None and str(output) != "-"
    if fmt is None and to_file:
        fmt = ExportFormat.of_path(output)
    if fmt is None:
        known = ", ".join(ExportFormat)
        raise typer.BadParameter(
            f"say which format ({known}), or give --output a file name ending in one",
            param_hint="'--format'",
        )
    if fmt is ExportFormat.PNG and not to_file:
        raise typer.BadParameter("a PNG needs a file: give --output FILE", param_hint="'--output'")
    try:
        data = render(graph, fmt)
    except ModuleNotFoundError as exc:  # matplotlib, for PNG: an optional extra
        err.print(
            f"[red]failed:[/red] {fmt} export needs {exc.name}: pip install 'lineage-kg[png]'",
            soft_wrap=True,
        )
        raise typer.Exit(FAILURE) from exc
    if not to_file:
        typer.echo(data.decode(), nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    except OSError as exc:
        err.print(f"[red]failed:[/red] cannot write {output}: {exc}", soft_wrap=True)
        raise typer.Exit(FAILURE) from exc
    err.print(
        f"wrote {fmt} ({graph.number_of_nodes()} nodes, "
        f"{graph.number_of_edges()} edges, {len(data)} bytes) to {output}"
    )


def _check_outputs(as_json: bool, fmt: ExportFormat | None, output: Path | None) -> None:
    if (
        as_json
        and (fmt is not None or output is not None)
        and (output is None or str(output) == "-")
    ):
        raise typer.BadParameter("--json and an export both want stdout", param_hint="'--output'")


def _counts(title: str, counts: dict[str, int]) -> Table:
    table = Table(title, "count", title=None)
    for name, count in counts.items():
        table.add_row(name, str(count))
    return table


def _more(shown: int, total: int) -> None:
    if total > shown:
        console.print(f"… and {total - shown} more (--limit, --json or --format for all)")


# ---- impact -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImpactQuestion:
    """The impact question as `lkg impact` and `lkg export impact` take it: the node (NODE or
    the key options) and how to walk. Its options are defined once, by `impact_options`."""

    node: str | None = None
    kind: NodeKind | None = None
    namespace: str | None = None
    name: str | None = None
    field: str | None = None
    key: list[str] | None = None
    depth: int = 10
    exact_only: bool = False
    only: list[NodeKind] | None = None
    as_of: str | None = None
    max_nodes: int = 100_000
    include_indirect: bool = True


ExactOpt = Annotated[bool, typer.Option("--exact-only", help="column-level reach only")]
OnlyOpt = Annotated[
    list[NodeKind] | None, typer.Option("--only", help="keep these kinds (repeatable)")
]
MaxNodesOpt = Annotated[int, typer.Option(help="stop the walk after this many nodes", min=1)]
IndirectOpt = Annotated[
    bool,
    typer.Option(
        "--include-indirect/--no-indirect",
        help="follow indirect column lineage (filters, joins, groupings)",
    ),
]
# each field of the question as the command line spells it (its default: the field's)
_IMPACT_OPTIONS: dict[str, Any] = {
    "node": NodeArg,
    "kind": KindOpt,
    "namespace": NamespaceOpt,
    "name": NameOpt,
    "field": FieldOpt,
    "key": KeyOpt,
    "depth": DepthOpt,
    "exact_only": ExactOpt,
    "only": OnlyOpt,
    "as_of": AsOfOpt,
    "max_nodes": MaxNodesOpt,
    "include_indirect": IndirectOpt,
}


def impact_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command(question: ImpactQuestion, …its own options)` as a Typer command: Typer sees the
    question's options (NODE, --kind … --include-indirect) and then the command's own, and the
    command gets the question's as one ImpactQuestion."""
    hints = get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.name != "question"
    ]
    shared = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.default,
            annotation=_IMPACT_OPTIONS[f.name],
        )
        for f in fields(ImpactQuestion)
    ]

    @functools.wraps(command)
    def run(**values: Any) -> None:
        question = ImpactQuestion(**{f.name: values.pop(f.name) for f in fields(ImpactQuestion)})
        command(question, **values)

    params = shared + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run


def _impact(
    question: ImpactQuestion,
    *,
    as_json: bool,
    fmt: ExportFormat | None,
    output: Path | None,
    limit: int,
) -> None:
    from lineage_kg.cli.export import impact_dict, impact_graph
    from lineage_kg.queries.impact import impact

    q = question
    _check_outputs(as_json, fmt, output)
    with answering(), workspace() as ws:
        node_id = _node(
            ws,
            ref=q.node,
            kind=q.kind,
            namespace=q.namespace,
            name=q.name,
            field=q.field,
            key=q.key,
        )
        answer = impact(
            ws.store,
            node_id,
            depth=q.depth,
            exact_only=q.exact_only,
            kinds=set(q.only) if q.only else None,
            as_of=q.as_of,
            max_nodes=q.max_nodes,
            include_indirect=q.include_indirect,
        )
    if fmt is not None or output is not None:
        _export(impact_graph(answer), fmt, output)
        if as_json:
            _emit_json(impact_dict(answer))
        return
    if as_json:
        _emit_json(impact_dict(answer))
        return
    start = answer.start.key
    console.print(
        f"[bold]Impact of {start.kind} {start.display}[/bold]: {len(answer.items)} "
        f"node(s) downstream" + (" [yellow](truncated)[/yellow]" if answer.truncated else ""),
        soft_wrap=True,
    )
    summary = Table("kind", "count", "certainty", "count ", "owner", "count  ", title="summary")
    columns = [
        list(answer.by_kind.items()),
        list(answer.by_certainty.items()),
        list(answer.by_owner.items()),
    ]
    for i in range(max(map(len, columns), default=0)):
        row: list[str] = []
        for col in columns:
            row += [col[i][0], str(col[i][1])] if i < len(col) else ["", ""]
        summary.add_row(*row)
    console.print(summary)
    if answer.kpis:
        console.print("KPIs: " + ", ".join(answer.kpis), soft_wrap=True)
    if answer.unowned:
        console.print(f"[yellow]{answer.unowned} impacted node(s) have no owner[/yellow]")
    table = Table("dist", "certainty", "kind", "node", "owners", "via", title="downstream")
    for item in answer.items[:limit]:
        via = item.path[-1].edge.key.kind.value if item.path else ""
        colour = "green" if item.certainty.value == "exact" else "yellow"
        table.add_row(
            str(item.distance),
            f"[{colour}]{item.certainty}[/{colour}]",
            item.node.key.kind.value,
            item.node.key.display,
            ", ".join(item.owners),
            via,
        )
    console.print(table)
    _more(limit, len(answer.items))


@commands.command("impact")
@impact_options
def impact_command(
    question: ImpactQuestion,
    as_json: JsonOpt = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 50,
) -> None:
    """What breaks if NODE changes: everything downstream, with certainty and owners."""
    _impact(question, as_json=as_json, fmt=fmt, output=output, limit=limit)


@export_app.command("impact")
@impact_options
def export_impact(question: ImpactQuestion, output: ExportOutputOpt, fmt: FormatOpt = None) -> None:
    """The impact graph of NODE into a file: start, impacted nodes, their explaining edges."""
    _impact(question, as_json=False, fmt=fmt, output=output, limit=1)


# ---- accountability ---------------------------------------------------------------------------

OwnerArg = Annotated[
    str, typer.Argument(help="an owner id (`team:ml-risk`, an email, an alias) or a node id")
]


def _owner(
    ref: str,
    *,
    depth: int,
    as_of: str | None,
    max_nodes: int,
    as_json: bool,
    fmt: ExportFormat | None,
    output: Path | None,
    limit: int,
) -> None:
    from lineage_kg.cli.export import accountability_dict, accountability_graph
    from lineage_kg.queries.accountability import accountability

    _check_outputs(as_json, fmt, output)
    if not ref.strip():
        raise typer.BadParameter("name an owner", param_hint="OWNER")
    with answering(), workspace() as ws:
        ident = resolve_owner(ws.store, ref).id
        answer = accountability(ws.store, ident, depth=depth, as_of=as_of, max_nodes=max_nodes)
    if fmt is not None or output is not None:
        _export(accountability_graph(answer), fmt, output)
        if as_json:
            _emit_json(accountability_dict(answer))
        return
    if as_json:
        _emit_json(accountability_dict(answer))
        return
    me = answer.owner
    console.print(
        f"[bold]Accountability of {me.key.display}[/bold]"
        + (f" ({me.props['name']})" if "name" in me.props else ""),
        soft_wrap=True,
    )
    if answer.teams:
        console.print("teams: " + ", ".join(answer.teams), soft_wrap=True)
    if answer.members:
        console.print("members: " + ", ".join(answer.members), soft_wrap=True)
    owned = Table("kind", "asset", "ownership", "via", title=f"owns ({len(answer.owned)})")
    for o in answer.owned[:limit]:
        owned.add_row(o.node.key.kind.value, o.node.key.display, o.ownership_type, o.via)
    console.print(owned)
    _more(limit, len(answer.owned))
    kpis = Table("KPI", "distance", "certainty", "owners", title=f"KPIs ({len(answer.kpis)})")
    for r in answer.kpis[:limit]:
        kpis.add_row(r.node.key.display, str(r.distance), r.certainty.value, ", ".join(r.owners))
    console.print(kpis)
    for title, links, assets in (
        ("upstream owners", answer.upstream_owners, answer.upstream),
        ("downstream owners", answer.downstream_owners, answer.downstream),
    ):
        table = Table("owner", "left", "through", title=f"{title} ({len(assets)} assets)")
        for link in links[:limit]:
            shown = ", ".join(NodeKey.from_id(a).display for a in link.assets[:3])
            more = f" +{len(link.assets) - 3}" if len(link.assets) > 3 else ""
            table.add_row(link.owner, "[red]left[/red]" if link.left else "", shown + more)
        console.print(table)
    gaps = Table("gap", "asset", "detail", title=f"gaps ({len(answer.gaps)})")
    for g in answer.gaps[:limit]:
        gaps.add_row(f"[red]{g.kind}[/red]", g.asset.key.display, g.detail)
    console.print(gaps)
    _more(limit, len(answer.gaps))
    if answer.truncated:
        console.print("[yellow]the walk was cut short (--max-nodes)[/yellow]")


@commands.command("owner")
def owner_command(  # noqa: PLR0917 - one parameter per CLI option
    owner: OwnerArg,
    depth: DepthOpt = 10,
    as_of: AsOfOpt = None,
    max_nodes: MaxNodesOpt = 100_000,
    as_json: JsonOpt = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 50,
) -> None:
    """What OWNER answers for: owned assets, KPIs, upstream and downstream owners, gaps."""
    _owner(
        owner,
        depth=depth,
        as_of=as_of,
        max_nodes=max_nodes,
        as_json=as_json,
        fmt=fmt,
        output=output,
        limit=limit,
    )


@export_app.command("owner")
def export_owner(  # noqa: PLR0917 - one parameter per CLI option
    owner: OwnerArg,
    output: ExportOutputOpt,
    fmt: FormatOpt = None,
    depth: DepthOpt = 10,
    as_of: AsOfOpt = None,
    max_nodes: MaxNodesOpt = 100_000,
) -> None:
    """The accountability map of OWNER into a file."""
    _owner(
        owner,
        depth=depth,
        as_of=as_of,
        max_nodes=max_nodes,
        as_json=False,
        fmt=fmt,
        output=output,
        limit=1,
    )


# ---- decision trace ---------------------------------------------------------------------------


@commands.command("trace")
def trace_command(
    decision: Annotated[
        str,
        typer.Argument(
            help="a decision id, a Decision or ModelVersion node id, or a model "
            "version's display name (`mlflow/credit-risk@3`)"
        ),
    ],
    depth: DepthOpt = 10,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where a decision's data came from: decision → model version → training runs → dataset
    versions → … → sources, and the features it read, with times and evidence."""
    from lineage_kg.cli.export import trace_dict
    from lineage_kg.queries.decision_trace import decision_lineage

    if not decision.strip():
        raise typer.BadParameter("name a decision", param_hint="DECISION")
    with answering(), workspace() as ws:
        ref = decision
        if (
            not decision.startswith("[")
            and "@" in decision
            and ws.store.get_node(NodeKey.of(NodeKind.DECISION, decision_id=decision.strip()).id)
            is None
            and (ws.decisions is None or ws.decisions.get(decision.strip()) is None)
        ):
            ref = resolve_node(ws.store, decision, NodeKind.MODEL_VERSION)
        trace = decision_lineage(ws.store, ref, depth=depth, as_of=as_of, decisions=ws.decisions)
    if as_json:
        _emit_json(trace_dict(trace))
        return
    console.print(
        f"[bold]Trace of {trace.start.key.kind} {trace.start.key.display}[/bold]"
        + (" [yellow](truncated)[/yellow]" if trace.truncated else ""),
        soft_wrap=True,
    )
    for title, steps in (
        (
            "decision and model",
            [*([trace.decision] if trace.decision else []), *trace.model_versions],
        ),
        ("data", trace.data),
        ("features", trace.features),
    ):
        console.print(_steps_table(title, steps))
    if trace.sources:
        shown = ", ".join(NodeKey.from_id(s).display for s in trace.sources)
        console.print(f"sources: {shown}", soft_wrap=True)


def _steps_table(title: str, steps: list[TraceStep]) -> Table:
    table = Table(
        "dist",
        "step",
        "node",
        "edge",
        "resolution",
        "time",
        "owners",
        "evidence",
        title=f"{title} ({len(steps)})",
    )
    for s in steps:
        evidence = (
            s.evidence[0] + (f" +{len(s.evidence) - 1}" if len(s.evidence) > 1 else "")
            if s.evidence
            else ""
        )
        resolution = s.resolution.value + (f": {s.detail}" if s.detail else "")
        table.add_row(
            str(s.distance),
            s.kind.value,
            s.node.key.display,
            s.edge.value if s.edge else "",
            resolution,
            s.time or "",
            ", ".join(s.owners),
            evidence,
        )
    return table


# ---- audit trail ------------------------------------------------------------------------------


@commands.command("audit")
def audit_command(  # noqa: PLR0917 - one parameter per CLI option
    node: NodeArg = None,
    kind: KindOpt = None,
    namespace: NamespaceOpt = None,
    name: NameOpt = None,
    field: FieldOpt = None,
    key: KeyOpt = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601, inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601, inclusive")] = None,
    types: Annotated[
        list[EntryType] | None, typer.Option("--type", help="entry types (repeatable)")
    ] = None,
    first: Annotated[int, typer.Option(help="entries per page (1-500)")] = 50,
    after: Annotated[str | None, typer.Option(help="the cursor a previous page ended at")] = None,
    every: Annotated[bool, typer.Option("--all", help="follow the pages to the end")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The history of NODE, oldest first: runs, versions, schema, quality, ownership, …"""
    from lineage_kg.cli.export import audit_dict
    from lineage_kg.queries.audit import AuditPage, audit_trail

    with answering(), workspace() as ws:
        node_id = _node(
            ws, ref=node, kind=kind, namespace=namespace, name=name, field=field, key=key
        )
        page = audit_trail(
            ws.log,
            ws.store,
            node_id,
            since=since,
            until=until,
            types=types,
            first=first,
            after=after,
        )
        entries = list(page.entries)
        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("reading the audit trail", total=None)
            while every and page.next_cursor is not None:
                page = audit_trail(
                    ws.log,
                    ws.store,
                    node_id,
                    since=since,
                    until=until,
                    types=types,
                    first=first,
                    after=page.next_cursor,
                )
                entries += page.entries
                progress.update(task, completed=len(entries))
        page = AuditPage(page.node, entries, page.next_cursor)
    if as_json:
        _emit_json(audit_dict(page))
        return
    table = Table(
        "time",
        "type",
        "summary",
        "source",
        "event",
        title=f"audit trail of {page.node.key.display} ({len(entries)})",
    )
    for e in entries:
        table.add_row(e.event_time, str(e.entry_type), e.summary, e.source, e.event_id)
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --after {page.next_cursor} (or --all)", soft_wrap=True)
