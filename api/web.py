"""The web page: `/` serves the built single-page app, `/static/...` its assets.

The assets are built from `web/` (esbuild, Cytoscape.js) and committed under `api/static`, so an
installed service serves the page without npm or network. The page reads only /graphql.
GraphiQL, the IDE a browser gets at GET /graphql, is built and served the same way
(`graphiql_page`, used by api/graphql/router.py): no CDN, so it works offline.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC = Path(__file__).with_name("static")
GRAPHIQL_PAGE = STATIC / "graphiql.html"


@cache
def graphiql_page() -> str:
    """GraphiQL's page, linking its bundled scripts and CSS under /static (web/src/graphiql.js);
    read once, so that serving it never reads a file on the event loop."""
    return GRAPHIQL_PAGE.read_text(encoding="utf-8")


def mount_web(app: FastAPI) -> None:
    """Add the page to `app`. Asset names carry a content hash: only index.html is revalidated."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(GraphiQLPage, path="/graphql")


class GraphiQLPage:
    """ASGI middleware: a browser's GET of `path` (HTML accepted, no `query` parameter: what
    strawberry's router would answer with its IDE) gets GraphiQL's page here, ahead of the API
    key check that guards every GraphQL request (a dependency of the router): the page is static
    and holds no data; its queries carry the key in its headers editor (pre-filled with the web
    page's key)."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _wants_the_ide(scope, self.path):
            page = HTMLResponse(graphiql_page(), headers={"cache-control": "no-cache"})
            await page(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _wants_the_ide(scope: Scope, path: str) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].rstrip("/") != path:
        return False
    query = scope.get("query_string", b"").decode("latin-1")
    if any(part.split("=", 1)[0] == "query" for part in query.split("&")):
        return False
    return "text/html" in Headers(scope=scope).get("accept", "")
