"""The container's entrypoint: run the command (`lkg serve` by default), and before the service's
first start make it an API key, since it serves on 0.0.0.0 and refuses to do so without one.

On `lkg serve`, when the data dir holds no active key and auth is not explicitly off
(LKG_AUTH=off), one key with the admin scope is created and its secret printed once, to stdout
(the container's log): `docker compose logs lineage-kg` shows it. Like every key it is stored
only as a scrypt hash (api/auth.py); a later start finds it and prints nothing. A key created
before the first start (`docker compose run --rm lineage-kg lkg keys create …`) means no
bootstrap key at all. Any other command (`lkg keys list`, `lkg stats`) runs as given.

The tests run this file with the Dockerfile's and compose file's command and environment, without
Docker (tests/integration/test_docker_entrypoint.py).
"""

from __future__ import annotations

import os
import sys

BOOTSTRAP_NAME = "bootstrap-admin"


def bootstrap() -> int:
    """Create the first key if the service would need one; 0, or 2 on a refused setting."""
    from pydantic import ValidationError

    from lineage_kg.api.auth import KeyStore, Scope, keys_path
    from lineage_kg.settings import Settings, settings_error_line

    try:
        settings = Settings()
    except ValidationError as exc:
        print(settings_error_line(exc), file=sys.stderr)
        return 2
    if settings.auth == "off":  # explicitly open: no key is asked for
        return 0
    keys = KeyStore(keys_path(settings.data_dir))
    try:
        if keys.has_active_keys():
            return 0
        key, secret = keys.create(BOOTSTRAP_NAME, [Scope.ADMIN])
    finally:
        keys.close()
    print(
        f"lineage-kg: no API key in {settings.data_dir} yet, so this first start created key "
        f"{key.id} ({key.name}, scope admin). It is shown this once and stored only hashed: "
        "keep it now (lost it? create another with `lkg keys create` and revoke this one).\n"
        f"LKG_API_KEY={secret}",
        flush=True,
    )
    return 0


def main(argv: list[str]) -> None:
    command = argv or ["lkg", "serve"]
    if command[:2] == ["lkg", "serve"] and (code := bootstrap()) != 0:
        sys.exit(code)
    sys.stdout.flush()
    os.execvp(command[0], command)  # the command becomes the process: signals reach it


if __name__ == "__main__":
    main(sys.argv[1:])
