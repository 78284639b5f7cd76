"""Pages and static files, all served by dutychat itself."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"


def _page(folder: str) -> web.RequestHandler:  # type: ignore[name-defined]
    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(STATIC_DIR / folder / "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/demo/")


def setup_pages(app: web.Application) -> None:
    app.router.add_get("/", root)
    for folder in ("widget", "console", "demo", "roster"):
        app.router.add_get(f"/{folder}/", _page(folder))
        app.router.add_get(f"/{folder}", _redirect(f"/{folder}/"))
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False, append_version=False)


def _redirect(location: str) -> web.RequestHandler:  # type: ignore[name-defined]
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler
