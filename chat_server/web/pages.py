"""Pages and static files, all served by dutychat itself."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from aiohttp import web

from chat_server.accounts import Role
from chat_server.keys import clock_key, logins_key
from chat_server.web.responses import session_token

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"


def _page(folder: str) -> Handler:
    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(STATIC_DIR / folder / "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


def _manager_page(folder: str) -> Handler:
    """A page for managers: 401 without a session, 403 for staff (its script shows why)."""

    async def handler(request: web.Request) -> web.FileResponse:
        account = await request.app[logins_key].staff_for(session_token(request), request.app[clock_key].now())
        status = 401 if account is None else 200 if account.role in (Role.MANAGER, Role.ADMIN) else 403
        response = web.FileResponse(STATIC_DIR / folder / "index.html", status=status)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


# The widget loads only its own strings (keys "widget.…"): a visitor on a phone never
# downloads the console's, roster's and reports' text, and the first load stays small.
WIDGET_CATALOGUE_PREFIX = "widget."
_LANGUAGE = re.compile(r"[a-z]{2}")


@cache
def widget_catalogue(lang: str) -> bytes | None:
    """The widget's part of a catalogue as JSON bytes, or None when there is no such catalogue."""
    path = STATIC_DIR / "i18n" / f"{lang}.json"
    if not _LANGUAGE.fullmatch(lang) or not path.is_file():
        return None
    strings = json.loads(path.read_text(encoding="utf-8"))
    part = {key: value for key, value in strings.items() if key.startswith(WIDGET_CATALOGUE_PREFIX)}
    return json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode()


async def widget_strings(request: web.Request) -> web.Response:
    body = widget_catalogue(request.match_info["lang"])
    if body is None:
        raise web.HTTPNotFound()
    response = web.Response(body=body, content_type="application/json", charset="utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/demo/")


def setup_pages(app: web.Application) -> None:
    app.router.add_get("/", root)
    for folder in ("widget", "console", "demo", "roster", "account", "activities", "groups"):
        app.router.add_get(f"/{folder}/", _page(folder))
        app.router.add_get(f"/{folder}", _redirect(f"/{folder}/"))
    for folder in ("staff", "reports", "safety"):
        app.router.add_get(f"/{folder}/", _manager_page(folder))
        app.router.add_get(f"/{folder}", _redirect(f"/{folder}/"))
    app.router.add_get("/static/i18n/widget/{lang}.json", widget_strings)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False, append_version=False)


def _redirect(location: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler
