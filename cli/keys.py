"""`lkg keys create|list|revoke`: the API keys a service checks (data_dir/keys.sqlite3).

The secret is printed once, at creation; only its hash is stored. A running service reads the
key table on each request, so a created or revoked key counts at once (but a service that
started with auth off stays off until restarted).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from lineage_kg.api.auth import KeyStore, Scope, keys_path
from lineage_kg.cli.common import console
from lineage_kg.settings import Settings

keys_app = typer.Typer(help="API keys: create (secret shown once), list, revoke.")


def _store() -> KeyStore:
    return KeyStore(keys_path(Settings().data_dir))


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what uses the key, e.g. airflow-prod")],
    scope: Annotated[
        list[Scope], typer.Option(help="ingest, read or admin (repeatable)", show_default=False)
    ],
    namespace: Annotated[
        list[str] | None,
        typer.Option(help="limit ingest to these job/dataset namespaces (repeatable)"),
    ] = None,
) -> None:
    """Create a key and print its secret — the only time it is shown."""
    store = _store()
    try:
        key, secret = store.create(name, scope, namespace or [])
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    typer.echo(secret)
    where = ", ".join(sorted(key.namespaces)) or "any namespace"
    typer.echo(
        f"key {key.id} ({key.name}): scopes {', '.join(sorted(key.scopes))}; {where}. "
        "Store the secret above now: it is not kept and cannot be shown again.",
        err=True,
    )


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The keys: id, name, scopes, namespaces, created, revoked — never a secret."""
    store = _store()
    try:
        keys = store.list_keys()
    finally:
        store.close()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": k.id,
                        "name": k.name,
                        "scopes": sorted(k.scopes),
                        "namespaces": sorted(k.namespaces),
                        "createdAt": k.created_at,
                        "revokedAt": k.revoked_at,
                    }
                    for k in keys
                ]
            )
        )
        return
    table = Table("id", "name", "scopes", "namespaces", "created", "revoked", title="API keys")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            ", ".join(sorted(k.scopes)),
            ", ".join(sorted(k.namespaces)) or "any",
            k.created_at,
            k.revoked_at or "",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the key id, from `lkg keys list`")]) -> None:
    """Revoke a key: refused from the next request on, no restart needed."""
    store = _store()
    try:
        key = store.revoke(key_id)
    finally:
        store.close()
    if key is None:
        console.print(f"[red]no key with id {key_id!r}[/red]")
        raise typer.Exit(1)
    typer.echo(f"key {key.id} ({key.name}) revoked at {key.revoked_at}")
