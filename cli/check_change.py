"""`lkg check-change`: what a proposed change would break, as a pre-merge gate (issue 20).

The changes come from one of: two dbt manifests (`--base-manifest A --manifest B`, datasets in
the warehouse's namespace: `--namespace` or `--profiles-dir`, as `lkg sync dbt` takes them),
`--change REF=KIND` (repeatable) and/or `--changes FILE` (one REF=KIND a line, `#` comments), or
`--proposed-schema EVENT.json` (an OpenLineage event whose datasets carry a schema facet: each
is diffed against the dataset's current columns in the graph). They are checked against the
local store (rebuilt from the event log, as the question commands do) by
queries/change_check.py and judged by the `check_change:` section of `--policy FILE`
(queries/change_policy.py; without one: fail on an exact impact on a production decision point).

Output (stdout): `--format markdown` (a pull-request comment), `json`, or `github` (GitHub
Actions `::error`/`::warning` annotations on the changed model's file, then the Markdown
summary). Exit codes: 0 passed (warnings allowed), 1 the policy failed the change (or the store
is unavailable), 2 bad input (naming the option), 3 a proposed schema's dataset is not in the
graph (a changed column or dataset that is not is a warning, `unresolved_change`). With `--url`
a running service judges them on its graph (GraphQL `checkChange`) and the same report is
printed; `--proposed-schema` needs the local store's columns and is refused there.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineage_kg.cli.common import err

if TYPE_CHECKING:
    from lineage_kg.graph.store import GraphStore
    from lineage_kg.queries.change_check import Change
    from lineage_kg.queries.change_policy import CheckChangePolicy

commands = typer.Typer()


class OutputFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"
    GITHUB = "github"


def _bad(message: str, option: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint=f"'{option}'")


# ---- reading the inputs -------------------------------------------------------------------------


def manifest_changes(
    base: Path, proposed: Path, namespace: str | None, profiles_dir: Path | None
) -> tuple[list[Change], list[str]]:
    """The manifests' changes as check inputs, and what the diff skipped."""
    from pydantic import ValidationError

    from lineage_kg.ingest.dbt.manifest_diff import diff_manifests
    from lineage_kg.ingest.dbt.profiles import ProfileError, profile_namespace
    from lineage_kg.ingest.dbt.sync import load_json
    from lineage_kg.queries.change_check import Change

    if (namespace is None) == (profiles_dir is None):
        raise _bad(
            "with manifests, give exactly one of --namespace and --profiles-dir", "--namespace"
        )
    try:
        ns = namespace or profile_namespace(profiles_dir, None, None)  # type: ignore[arg-type]
    except (ProfileError, OSError) as exc:
        raise _bad(str(exc), "--profiles-dir") from exc
    docs = {}
    for option, path in (("--base-manifest", base), ("--manifest", proposed)):
        try:
            docs[option] = load_json(path)
        except (OSError, ValueError, TypeError) as exc:
            raise _bad(f"{path}: {exc}", option) from exc
    try:
        diff = diff_manifests(docs["--base-manifest"], docs["--manifest"], ns)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _bad(f"not a dbt manifest: {where}: {first['msg']}", "--manifest") from exc
    changes = [Change(c.ref, c.kind, c.detail, c.path) for c in diff.changes]
    return changes, diff.skipped


def listed_changes(given: list[str], file: Path | None) -> list[Change]:
    from lineage_kg.graph.errors import InvalidArgument
    from lineage_kg.queries.change_check import parse_change

    found = []
    for text in given:
        try:
            found.append(parse_change(text))
        except InvalidArgument as exc:
            raise _bad(str(exc), "--change") from exc
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _bad(f"{file}: {exc}", "--changes") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                found.append(parse_change(line.strip()))
            except InvalidArgument as exc:
                raise _bad(f"{file}:{number}: {exc}", "--changes") from exc
    return found


def event_schemas(path: Path) -> list[tuple[Any, list[tuple[str, str | None]]]]:
    """Each dataset of an OpenLineage event with a schema facet: (its key, [(field, type)])."""
    from lineage_kg.graph.naming import dataset_key
    from lineage_kg.ingest.facets import facet, facets_of, schema_columns, text

    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(f"{path}: {exc}", "--proposed-schema") from exc
    if not isinstance(event, dict):
        raise _bad(f"{path}: not a JSON object", "--proposed-schema")
    found = []
    for side in ("outputs", "inputs"):
        for ds in event.get(side) or []:
            schema = facet(facets_of(ds), "schema")
            if schema is None:
                continue
            try:
                key = dataset_key(ds.get("namespace"), ds.get("name"))
                fields = [(p, text(e.get("type"))) for p, e in schema_columns(schema.get("fields"))]
            except (ValueError, TypeError, AttributeError) as exc:
                raise _bad(f"{path}: {side}: {exc}", "--proposed-schema") from exc
            found.append((key, fields))
    if not found:
        raise _bad(f"{path}: no dataset with a schema facet", "--proposed-schema")
    return found


def read_policy(path: Path | None) -> CheckChangePolicy:
    from lineage_kg.graph.errors import InvalidArgument
    from lineage_kg.queries.change_policy import CheckChangePolicy, load_policy

    if path is None:
        return CheckChangePolicy()
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _bad(f"{path}: {' '.join(str(exc).split())}", "--policy") from exc
    try:
        return load_policy(document, str(path))
    except InvalidArgument as exc:
        raise _bad(str(exc), "--policy") from exc


# ---- rendering ----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: dict[str, Any], rows: int = 50) -> str:
    errors = [f for f in doc["findings"] if f["level"] == "error"]
    warnings = [f for f in doc["findings"] if f["level"] == "warning"]
    verdict = "❌ failed" if not doc["passed"] else "✅ passed"
    exact = sum(1 for i in doc["impacted"] if i["certainty"] == "exact")
    out = [
        f"## lkg check-change: {verdict} ({len(errors)} errors, {len(warnings)} warnings)",
        "",
        f"{len(doc['changes'])} change(s) in the graph"
        + (f", {len(doc['unresolved'])} not in it" if doc["unresolved"] else "")
        + f"; {len(doc['impacted'])} impacted assets ({exact} exact, "
        f"{len(doc['impacted']) - exact} possible); deployments as of {doc['at']}.",
    ]

    def table(title: str, head: list[str], body: list[list[str]]) -> None:
        if not body:
            return
        out.extend(["", f"### {title}", "", "| " + " | ".join(head) + " |"])
        out.append("|" + "---|" * len(head))
        out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in body[:rows])
        if len(body) > rows:
            out.append(f"\n… and {len(body) - rows} more (see `--format json`)")

    table("Findings", ["level", "finding", "message"],
          [[f["level"], f["finding"], f["message"]] for f in doc["findings"]])  # fmt: skip
    table(
        "Production decision points at risk",
        ["decision point", "certainty", "served by", "change", "path"],
        [
            [d["decision_point"], d["certainty"], f"{d['model_version']} {d['mode']}".strip(),
             d["change"], f"`{d['path']}`"]
            for d in doc["decision_points"]
        ],
    )  # fmt: skip
    table("Approved", ["decision point", "change", "approved by", "reason"],
          [[w["decision_point"], w["change"], w["approved_by"], w["reason"]]
           for w in doc["waived"]])  # fmt: skip
    table("KPIs at risk", ["KPI", "certainty", "change"],
          [[k["display"], k["certainty"], k["change"]] for k in doc["kpis"]])  # fmt: skip
    table("Model versions touched", ["model version", "certainty", "through", "change"],
          [[m["display"], m["certainty"], m["via"], m["change"]]
           for m in doc["model_versions"]])  # fmt: skip
    table(
        "Owners to notify",
        ["owner", "exact", "assets"],
        [
            [o["owner"] + (" (has left)" if o["left"] else ""), "yes" if o["exact"] else "no",
             ", ".join(o["assets"])]
            for o in doc["owners"]
        ],
    )  # fmt: skip
    table("Changes", ["change", "kind", "detail"],
          [[c["ref"], c["kind"], c["detail"]] for c in doc["changes"]]
          + [[u["ref"], u["kind"], "not in the graph"] for u in doc["unresolved"]])  # fmt: skip
    for note in doc["notes"]:
        out.extend(["", f"> {note}"])
    if doc["impacted"]:
        out.extend(["", f"<details><summary>All impacted assets ({len(doc['impacted'])})"
                    "</summary>", ""])  # fmt: skip
        out.extend(["| asset | kind | certainty | change |", "|---|---|---|---|"])
        out.extend(
            f"| {_cell(i['display'])} | {i['kind']} | {i['certainty']} | {_cell(i['change'])} |"
            for i in doc["impacted"][: rows * 4]
        )
        out.extend(["", "</details>"])
    return "\n".join(out) + "\n"


def _escape(text: str, prop: bool = False) -> str:
    """GitHub workflow command escaping (data: % CR LF; properties also : and ,)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def to_github(doc: dict[str, Any]) -> str:
    """GitHub Actions annotations of the report's findings (on the changed model's file where
    the change names one), then its Markdown."""
    lines = []
    for f in doc["findings"]:
        props = ["title=" + _escape(f"lkg check-change: {f['finding']}", True)]
        if f.get("file"):
            props.insert(0, "file=" + _escape(f["file"], True))
        lines.append(f"::{f['level']} {','.join(props)}::{_escape(f['message'])}")
    return "\n".join([*lines, to_markdown(doc)])


def remote_check(
    url: str,
    changes: list[Change],
    policy: Path | None,
    *,
    depth: int,
    as_of: str | None,
    at: str | None,
) -> dict[str, Any]:
    """The check run by a service on its graph (GraphQL `checkChange`): the changes as REF=KIND,
    the policy file's check_change section as read here."""
    from lineage_kg.cli.questions import remote

    section = None
    if policy is not None:
        read_policy(policy)  # refused here, with the file named, rather than by the service
        import yaml

        section = (yaml.safe_load(policy.read_text(encoding="utf-8")) or {}).get("check_change")
    query = """
query ($changes: [String!]!, $policy: JSON, $depth: Int!, $asOf: String, $at: String) {
  checkChange(changes: $changes, policy: $policy, depth: $depth, asOf: $asOf, at: $at) {
    report
  }
}"""
    answer = remote(url).ask(
        query,
        changes=[f"{c.ref}={c.kind}" for c in changes],
        policy=section,
        depth=depth,
        asOf=as_of,
        at=at,
    )
    doc: dict[str, Any] = answer["checkChange"]["report"]
    # the changed files (for annotations) are known here, not to the service
    files = {f"{c.ref}={c.kind}": c.file for c in changes}
    for finding in doc["findings"]:
        finding["file"] = files.get(finding.get("change") or "", "")
    return doc


# ---- the command ------------------------------------------------------------------------------


def gather(
    store: GraphStore,
    manifests: list[Change],
    schemas: list[tuple[Any, list[tuple[str, str | None]]]],
    schema_file: Path | None,
    as_of: str | None,
) -> list[Change]:
    from lineage_kg.queries.change_check import schema_changes

    found = list(manifests)
    for key, fields in schemas:
        found += schema_changes(store, key, fields, file=str(schema_file or ""), as_of=as_of)
    return found


@commands.command("check-change")
def check_change_command(  # noqa: PLR0917 - one parameter per CLI option
    base_manifest: Annotated[
        Path | None, typer.Option("--base-manifest", help="dbt manifest.json of the base branch")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="dbt manifest.json of the proposed change")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="the warehouse's dataset namespace (with manifests)")
    ] = None,
    profiles_dir: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="derive the namespace from DIR/profiles.yml"),
    ] = None,
    change: Annotated[
        list[str] | None,
        typer.Option(
            "--change",
            metavar="REF=KIND",
            help="a changed column or dataset and the kind: drop, semantics, rename:NEW, type:NEW",
        ),
    ] = None,
    changes: Annotated[
        Path | None, typer.Option("--changes", help="a file of REF=KIND lines")
    ] = None,
    proposed_schema: Annotated[
        Path | None,
        typer.Option("--proposed-schema", help="an OpenLineage event with schema facets"),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="YAML file with a check_change: section")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="markdown (PR comment), json or github")
    ] = OutputFormat.MARKDOWN,
    depth: Annotated[int, typer.Option(help="hops to follow (1-25)")] = 10,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO-8601: the graph as it was")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="ISO-8601: judge deployments at this time (default now)")
    ] = None,
    max_nodes: Annotated[int, typer.Option(help="the walk's bound", min=1)] = 100_000,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="LKG_URL",
            help="a running service's graph (GraphQL checkChange; key in LKG_API_KEY)",
        ),
    ] = None,
) -> None:
    """What a proposed change would break: impacted assets, production decision points and KPIs
    at risk, model versions touched, owners to notify; exit 1 if the policy fails it."""
    from lineage_kg.cli.questions import answering, workspace
    from lineage_kg.queries.change_policy import evaluate

    if url and max_nodes != 100_000:
        raise _bad("a service walks within its own cap (LKG_MAX_TRAVERSAL_NODES)", "--max-nodes")
    if url and proposed_schema is not None:
        raise _bad(
            "--proposed-schema is diffed against the local store's columns; with --url give "
            "the changes as --change/--changes or two manifests",
            "--proposed-schema",
        )
    if (base_manifest is None) != (manifest is None):
        raise _bad("give both --base-manifest and --manifest", "--manifest")
    given = list(change or [])
    if base_manifest is None and not given and changes is None and proposed_schema is None:
        raise _bad(
            "give --base-manifest/--manifest, --change, --changes or --proposed-schema", "--change"
        )
    gate = read_policy(policy)
    listed = listed_changes(given, changes)
    from_manifests: list[Change] = []
    if base_manifest is not None and manifest is not None:
        from_manifests, skipped = manifest_changes(base_manifest, manifest, namespace, profiles_dir)
        for line in skipped:
            err.print(f"[yellow]skipped {line}[/yellow]", soft_wrap=True)
    if url:  # the service's graph, judged by the service with this policy
        found = [*from_manifests, *listed]
        if not found:
            err.print("no changes: nothing to check")
        with answering():
            doc = remote_check(url, found, policy, depth=depth, as_of=as_of, at=at)
    else:
        from lineage_kg.queries.change_report import to_json

        schemas = event_schemas(proposed_schema) if proposed_schema is not None else []
        with answering(), workspace() as ws:
            found = [
                *from_manifests,
                *listed,
                *gather(ws.store, [], schemas, proposed_schema, as_of),
            ]
            if not found:
                err.print("no changes: nothing to check")
            result = evaluate(
                ws.store, found, gate, depth=depth, as_of=as_of, at=at, max_nodes=max_nodes
            )
        doc = to_json(result)
    if output_format is OutputFormat.JSON:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    elif output_format is OutputFormat.GITHUB:
        typer.echo(to_github(doc))
    else:
        typer.echo(to_markdown(doc))
    raise typer.Exit(int(doc["exit_code"]))
