"""The committed page in api/static is the build of web/src: editing the sources without
`make web` fails here (no npm needed: the digest is the one web/build.mjs records)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB, STATIC = ROOT / "web", ROOT / "api" / "static"


def source_digest() -> str:
    """As sourceDigest() in web/build.mjs: the sources, the lock file and the build script."""
    digest = hashlib.sha256()
    sources = sorted(
        p.relative_to(WEB / "src").as_posix()
        for p in (WEB / "src").rglob("*")
        if p.suffix in {".js", ".css", ".html"}
    )
    for name in [*(f"src/{s}" for s in sources), "package-lock.json", "build.mjs"]:
        digest.update(name.encode() + b"\0" + (WEB / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_built_assets_match_the_sources() -> None:
    info = json.loads((STATIC / "build-info.json").read_text())
    assert info["sources_sha256"] == source_digest(), "web/src changed: run `make web`"


def linked(page: str) -> list[str]:
    html = (STATIC / page).read_text()
    assert "{{" not in html
    return re.findall(r'(?:src|href)="static/([^"]+)"', html)


def test_pages_link_their_built_bundle_only() -> None:
    files = json.loads((STATIC / "build-info.json").read_text())["files"]
    for page, bundle in (("index.html", "main"), ("graphiql.html", "graphiql")):
        names = linked(page)
        assert sorted(names) == sorted(files[f"{bundle}.{ext}"] for ext in ("js", "css"))
        for name in names:
            assert (STATIC / name).stat().st_size > 0
    # no leftovers of an earlier build are shipped
    shipped = {p.name for p in STATIC.iterdir()}
    assert shipped == {"index.html", "graphiql.html", "build-info.json", *info_files()}


def info_files() -> set[str]:
    return set(json.loads((STATIC / "build-info.json").read_text())["files"].values())
