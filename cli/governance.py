"""`lkg check`: the governance policy over the graph (queries/governance), with an exit code.

Locally it evaluates the policy (`--policy FILE`, else `LKG_POLICY_FILE`, else the default
policy: every rule on) on the store the settings name, brought up to date from the event log as
the question commands do; with `--url` (or `LKG_URL`) it asks a running service's GraphQL
`governance`, which evaluates the service's own policy (so `--policy` goes with a local store
only). Either way the answer is one JSON form (`--json`) or a table.

Exit codes: 0 no violation of severity error (warnings and infos are listed); 1 at least one
error violation, or a failure (store, log or service unavailable); 2 bad input (a policy file in
error: the message names the field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lineage_kg.cli.common import BAD_INPUT, FAILURE, console, err
from lineage_kg.cli.questions import AsOfOpt, JsonOpt, answering, remote, workspace
from lineage_kg.cli.remote import UrlOpt

commands = typer.Typer()
VIOLATION = (
    "rule severity subject { id kind display } related { id kind display } "
    "path { id kind display } evidence since detail"
)
PAGE = 1000

PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="the policy file (YAML; docs/governance.md); default: LKG_POLICY_FILE, else every "
        "rule on",
        show_default=False,
    ),
]


def _label(node_id: str) -> dict[str, str]:
    from lineage_kg.graph.model import NodeKey

    key = NodeKey.from_id(node_id)
    return {"id": node_id, "kind": key.kind.value, "display": key.display}


def local_report(policy_file: Path | None, as_of: str | None) -> dict[str, Any]:
    """The report from the configured store (see the module docstring)."""
    from lineage_kg.queries.governance import evaluate_all, load_policy
    from lineage_kg.settings import Settings

    policy = load_policy(policy_file or Settings().policy_file)  # before the log is read
    with workspace() as ws:
        found = evaluate_all(ws.store, policy, as_of, decisions=ws.decisions)
    return {
        "evaluated_at": found.at,
        "policy": policy.source,
        "rules": list(found.rules),
        "truncated": found.truncated,
        "violations": [
            {
                "rule": v.rule,
                "severity": v.severity.value,
                "subject": _label(v.subject),
                "related": _label(v.related) if v.related else None,
                "path": [_label(p) for p in v.path],
                "evidence": list(v.evidence),
                "since": v.since,
                "detail": v.detail,
            }
            for v in found.violations
        ],
    }


def remote_report(url: str, as_of: str | None) -> dict[str, Any]:
    """The same report from a running service, every page of it."""
    query = f"""
query ($asOf: String, $first: Int!, $after: String) {{
  governance(asOf: $asOf, first: $first, after: $after) {{
    violations {{ {VIOLATION} }} pageInfo {{ hasNextPage endCursor }}
    evaluatedAt policy rules truncated
  }}
}}"""
    service = remote(url)
    violations: list[dict[str, Any]] = []
    after = None
    while True:
        got = service.ask(query, asOf=as_of, first=PAGE, after=after)["governance"]
        violations += got["violations"]
        if not got["pageInfo"]["hasNextPage"]:
            break
        after = got["pageInfo"]["endCursor"]
    return {
        "evaluated_at": got["evaluatedAt"],
        "policy": got["policy"],
        "rules": got["rules"],
        "truncated": got["truncated"],
        "violations": violations,
    }


def _table(report: dict[str, Any]) -> None:
    from rich.table import Table

    violations = report["violations"]
    errors = sum(v["severity"] == "error" for v in violations)
    title = (
        f"{len(violations)} violation(s), {errors} error(s) — {report['policy']}, "
        f"{len(report['rules'])} rule(s), at {report['evaluated_at']}"
    )
    if not violations:
        console.print(f"no violations — {report['policy']}, {len(report['rules'])} rule(s), "
                      f"at {report['evaluated_at']}")  # fmt: skip
        return
    table = Table(title=title, title_justify="left")
    for column in ("severity", "rule", "subject", "since", "detail"):
        table.add_column(column, overflow="fold")
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    for v in violations:
        table.add_row(
            f"[{style[v['severity']]}]{v['severity']}[/]",
            v["rule"],
            v["subject"]["display"],
            v["since"] or "",
            v["detail"],
        )
    console.print(table)
    if report["truncated"]:
        err.print(
            "[yellow]a walk stopped at its node bound, or a decision trace at its depth: "
            "violations beyond it may be missing[/yellow]"
        )


@commands.command("check")
def check_command(
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
) -> None:
    """Evaluate the governance policy over the graph; exit 1 if any violation is an error."""
    if url and policy is not None:
        raise typer.BadParameter(
            "a service evaluates its own policy (LKG_POLICY_FILE); drop it with --url",
            param_hint="'--policy'",
        )
    with answering():
        report = remote_report(url, as_of) if url else local_report(policy, as_of)
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        _table(report)
    if any(v["severity"] == "error" for v in report["violations"]):
        raise typer.Exit(FAILURE)


__all__ = ["BAD_INPUT", "check_command", "commands"]
