"""`lkg impact / trace / owner / audit / export`: the questions, asked from the command line.

Locally (operators) they run on the store the settings name (as `lkg serve` would): the embedded
store is first rebuilt from the durable event log (with the side tables, as the service does at
start); Neo4j is asked as it stands (a running service's projector keeps it current). With
`--url` (or `LKG_URL`; the key from `LKG_API_KEY`) they ask a running service over its public
GraphQL API instead (cli/remote.py). Either way the answer is first put in its JSON form and then
printed by one renderer (cli/render.py): rich tables, `--json` (docs/cli.md gives the shape) or
`--format … --output FILE` (an export, cli/export.py). Tables and JSON go to stdout; progress and
errors to stderr.

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

from lineage_kg.cli import render as show
from lineage_kg.cli.common import BAD_INPUT, FAILURE, NOT_FOUND, err
from lineage_kg.cli.export import ExportFormat, render
from lineage_kg.cli.remote import KEY_ENV, MIN_SEQ_ENV, URL_ENV, Remote, RemoteFailure, UrlOpt
from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import KEY_FIELDS, NodeKey, NodeKind
from lineage_kg.graph.sides.history import EntryType
from lineage_kg.graph.store import StoreUnavailable
from lineage_kg.ingest.eventlog import LogUnavailable

if TYPE_CHECKING:
    import networkx as nx

    from lineage_kg.graph.sides.decisions import DecisionTable
    from lineage_kg.graph.store import GraphStore
    from lineage_kg.ingest.eventlog import EventLog
    from lineage_kg.queries.audit import GovernanceSource

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
MAX_NODES = 100_000  # the local walk's default cap; a service walks within its own


def remote(url: str) -> Remote:
    import os

    return Remote(url, os.environ.get(KEY_ENV) or None, os.environ.get(MIN_SEQ_ENV) or None)


def _local_only(url: str | None, max_nodes: int) -> None:
    if url and max_nodes != MAX_NODES:
        raise typer.BadParameter(
            "a service walks within its own cap (LKG_MAX_TRAVERSAL_NODES); drop it with --url",
            param_hint="'--max-nodes'",
        )


# ---- the local store, brought up to date ------------------------------------------------------


@dataclass(slots=True)
class Workspace:
    store: GraphStore
    log: EventLog
    decisions: DecisionTable | None
    governance: GovernanceSource | None = None  # violations' starts and ends (a service's)


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
    except (StoreUnavailable, LogUnavailable, RemoteFailure, OSError) as exc:
        err.print(f"[red]failed:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(FAILURE) from exc


@contextmanager
def workspace() -> Iterator[Workspace]:
    """The configured store, brought up to date as the service would (service/runtime.py)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lineage_kg.runtime import Runtime
    from lineage_kg.settings import Settings

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
        if runtime.log.last_seq() == 0:  # say why every answer will be "not found"
            err.print(
                f"[yellow]the event log in {runtime.settings.data_dir} is empty: ingest first, "
                f"or ask a running service with --url URL (or {URL_ENV})[/yellow]",
                soft_wrap=True,
            )
        yield Workspace(runtime.store, runtime.log, runtime.decisions, runtime.governance)


# ---- naming a node ----------------------------------------------------------------------------


def resolve_node(
    store: GraphStore | Remote,
    ref: str | None,
    kind: NodeKind | None = None,
    fields: dict[str, str | None] | None = None,
    extra: list[str] | None = None,
) -> str:
    """The id of the node the arguments name, resolved as every question resolves names
    (graph/resolve.py: normalised as ingest does, then through dataset aliases) — by the local
    store, or by the service a Remote asks; BadParameter (exit 2) naming the argument when they
    name none, NotFound (exit 3, with the name looked for and the closest known) when it is not
    in the graph."""
    from lineage_kg.graph.resolve import resolve, resolve_text

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
        # a service resolves the key when asked (the same resolver)
        return key.id if isinstance(store, Remote) else resolve(store, key).id
    if ref is None or not ref.strip():
        raise typer.BadParameter(
            "name a node (or give --kind and its key options)", param_hint="NODE"
        )
    try:
        if isinstance(store, Remote):
            return store.resolve_text(ref, kind)
        return resolve_text(store, ref, kind).id
    except InvalidArgument as exc:
        raise typer.BadParameter(str(exc), param_hint="NODE") from exc


def _node(
    where: GraphStore | Remote,
    *,
    ref: str | None,
    kind: NodeKind | None,
    namespace: str | None,
    name: str | None,
    field: str | None,
    key: list[str] | None,
) -> str:
    fields = {"namespace": namespace, "name": name, "field": field}
    return resolve_node(where, ref, kind, fields, key)


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


def _answer(
    doc: dict[str, Any],
    graph_of: Callable[[dict[str, Any]], nx.MultiDiGraph] | None,
    table: Callable[[], None],
    *,
    as_json: bool,
    fmt: ExportFormat | None = None,
    output: Path | None = None,
) -> None:
    """One answer, in its JSON form, out as the options ask: an export, JSON, or the tables."""
    if graph_of is not None and (fmt is not None or output is not None):
        _export(graph_of(doc), fmt, output)
        if as_json:
            _emit_json(doc)
        return
    if as_json:
        _emit_json(doc)
        return
    table()


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
    url: str | None,
) -> None:
    from lineage_kg.cli.export import impact_graph

    q = question
    _check_outputs(as_json, fmt, output)
    _local_only(url, q.max_nodes)
    with answering():
        doc = _remote_impact(remote(url), q) if url else _local_impact(q)
    _answer(doc, impact_graph, lambda: show.impact(doc, limit), as_json=as_json, fmt=fmt,
            output=output)  # fmt: skip


def _naming(q: ImpactQuestion) -> dict[str, Any]:
    return {"ref": q.node, "kind": q.kind, "namespace": q.namespace, "name": q.name,
            "field": q.field, "key": q.key}  # fmt: skip


def _local_impact(q: ImpactQuestion) -> dict[str, Any]:
    from lineage_kg.cli.export import impact_dict
    from lineage_kg.queries.impact import impact

    with workspace() as ws:
        answer = impact(
            ws.store,
            _node(ws.store, **_naming(q)),
            depth=q.depth,
            exact_only=q.exact_only,
            kinds=set(q.only) if q.only else None,
            as_of=q.as_of,
            max_nodes=q.max_nodes,
            include_indirect=q.include_indirect,
        )
    return impact_dict(answer)


def _remote_impact(service: Remote, q: ImpactQuestion) -> dict[str, Any]:
    return service.impact(
        _node(service, **_naming(q)),
        depth=q.depth,
        exact_only=q.exact_only,
        kinds=list(q.only) if q.only else None,
        as_of=q.as_of,
        include_indirect=q.include_indirect,
    )


@commands.command("impact")
@impact_options
def impact_command(  # noqa: PLR0917 - one parameter per CLI option
    question: ImpactQuestion,
    as_json: JsonOpt = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 50,
    url: UrlOpt = None,
) -> None:
    """What breaks if NODE changes: everything downstream, with certainty and owners."""
    _impact(question, as_json=as_json, fmt=fmt, output=output, limit=limit, url=url)


@export_app.command("impact")
@impact_options
def export_impact(
    question: ImpactQuestion, output: ExportOutputOpt, fmt: FormatOpt = None, url: UrlOpt = None
) -> None:
    """The impact graph of NODE into a file: start, impacted nodes, their explaining edges."""
    _impact(question, as_json=False, fmt=fmt, output=output, limit=1, url=url)


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
    url: str | None,
) -> None:
    from lineage_kg.cli.export import accountability_dict, accountability_graph

    _check_outputs(as_json, fmt, output)
    _local_only(url, max_nodes)
    if not ref.strip():
        raise typer.BadParameter("name an owner", param_hint="OWNER")
    with answering():
        if url:
            doc = remote(url).owner(ref, depth=depth, as_of=as_of)
        else:
            from lineage_kg.graph.resolve import resolve_owner
            from lineage_kg.queries.accountability import accountability

            with workspace() as ws:
                ident = resolve_owner(ws.store, ref).id
                answer = accountability(
                    ws.store, ident, depth=depth, as_of=as_of, max_nodes=max_nodes
                )
            doc = accountability_dict(answer)
    _answer(doc, accountability_graph, lambda: show.owner(doc, limit), as_json=as_json, fmt=fmt,
            output=output)  # fmt: skip


@commands.command("owner")
def owner_command(  # noqa: PLR0917 - one parameter per CLI option
    owner: OwnerArg,
    depth: DepthOpt = 10,
    as_of: AsOfOpt = None,
    max_nodes: MaxNodesOpt = MAX_NODES,
    as_json: JsonOpt = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 50,
    url: UrlOpt = None,
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
        url=url,
    )


@export_app.command("owner")
def export_owner(  # noqa: PLR0917 - one parameter per CLI option
    owner: OwnerArg,
    output: ExportOutputOpt,
    fmt: FormatOpt = None,
    depth: DepthOpt = 10,
    as_of: AsOfOpt = None,
    max_nodes: MaxNodesOpt = MAX_NODES,
    url: UrlOpt = None,
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
        url=url,
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
    url: UrlOpt = None,
) -> None:
    """Where a decision's data came from: decision → model version → training runs → dataset
    versions → … → sources, and the features it read, with times and evidence."""
    if not decision.strip():
        raise typer.BadParameter("name a decision", param_hint="DECISION")
    with answering():
        if url:
            service = remote(url)
            doc = service.trace(service.trace_ref(decision), depth=depth, as_of=as_of)
        else:
            doc = _local_trace(decision, depth=depth, as_of=as_of)
    _answer(doc, None, lambda: show.trace(doc), as_json=as_json)


def _local_trace(decision: str, *, depth: int, as_of: str | None) -> dict[str, Any]:
    from lineage_kg.cli.export import trace_dict
    from lineage_kg.queries.decision_trace import decision_lineage

    with workspace() as ws:
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
    return trace_dict(trace)


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
    url: UrlOpt = None,
) -> None:
    """The history of NODE, oldest first: runs, versions, schema, quality, ownership, …"""
    naming = {"ref": node, "kind": kind, "namespace": namespace, "name": name, "field": field,
              "key": key}  # fmt: skip
    window = {"since": since, "until": until, "first": first, "after": after}
    with answering():
        if url:
            service = remote(url)
            doc = service.audit(_node(service, **naming), types=[str(t) for t in types or []]
                                or None, every=every, **window)  # fmt: skip
        else:
            doc = _local_audit(naming, types=types, every=every, **window)
    _answer(doc, None, lambda: show.audit(doc), as_json=as_json)


def _local_audit(
    naming: dict[str, Any],
    *,
    since: str | None,
    until: str | None,
    types: list[EntryType] | None,
    first: int,
    after: str | None,
    every: bool,
) -> dict[str, Any]:
    from rich.progress import Progress

    from lineage_kg.cli.export import audit_dict
    from lineage_kg.queries.audit import AuditPage, audit_trail

    with workspace() as ws:
        node_id = _node(ws.store, **naming)
        window = {"since": since, "until": until, "types": types, "first": first,
                  "governance": ws.governance}  # what a service saw of its policy  # fmt: skip
        page = audit_trail(ws.log, ws.store, node_id, after=after, **window)
        entries = list(page.entries)
        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("reading the audit trail", total=None)
            while every and page.next_cursor is not None:
                page = audit_trail(ws.log, ws.store, node_id, after=page.next_cursor, **window)
                entries += page.entries
                progress.update(task, completed=len(entries))
    return audit_dict(AuditPage(page.node, entries, page.next_cursor))
