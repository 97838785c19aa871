"""The web page: `/` serves the built single-page app, `/static/...` its assets.

The assets are built from `web/` (esbuild, Cytoscape.js) and committed under `api/static`, so an
installed service serves the page without npm or network. The page reads only /graphql.
GraphiQL, the IDE a browser gets at GET /graphql, is built and served the same way
(`graphiql_page`, used by api/graphql/router.py): no CDN, so it works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
GRAPHIQL_PAGE = STATIC / "graphiql.html"


def graphiql_page() -> str:
    """GraphiQL's page, linking its bundled scripts and CSS under /static (web/src/graphiql.js)."""
    return GRAPHIQL_PAGE.read_text(encoding="utf-8")


def mount_web(app: FastAPI) -> None:
    """Add the page to `app`. Asset names carry a content hash: only index.html is revalidated."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
