"""HTTP API of canned responses: staff read them, managers and admins write them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chat_server import errors
from chat_server.canned import MAX_TITLE_LENGTH, Canned
from chat_server.clock import iso
from chat_server.keys import canned_key, clock_key, settings_key
from chat_server.web.responses import ApiError, json_body, require_role
from chat_server.web.roster_api import EVERYONE, MANAGERS


def canned_view(canned: Canned) -> dict[str, Any]:
    return {
        "id": canned.id,
        "language": canned.language,
        "title": canned.title,
        "body": canned.body,
        "created_at": iso(canned.created_at),
        "updated_at": iso(canned.updated_at),
    }


def _fields(request: web.Request, body: dict[str, Any]) -> tuple[str, str, str]:
    """Validate a whole canned response (language, title, body)."""
    unknown = set(body) - {"language", "title", "body"}
    if unknown:
        raise ApiError(errors.INVALID_REQUEST, f"unknown field {sorted(unknown)[0]!r}.")
    chat = request.app[settings_key].chat
    language, title, text = body.get("language"), body.get("title"), body.get("body")
    if not isinstance(language, str) or language not in chat.languages:
        raise ApiError(errors.INVALID_REQUEST, "language must be one of the offered languages.")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > MAX_TITLE_LENGTH:
        raise ApiError(errors.INVALID_REQUEST, f"title must be 1 to {MAX_TITLE_LENGTH} characters.")
    if not isinstance(text, str) or not text.strip() or len(text.strip()) > chat.max_message_length:
        raise ApiError(errors.INVALID_REQUEST, f"body must be 1 to {chat.max_message_length} characters.")
    return language, title.strip(), text.strip()


def _id(request: web.Request) -> int:
    raw = request.match_info["canned_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise ApiError(errors.NOT_FOUND, "No such canned response.")
    return int(raw)


async def list_canned(request: web.Request) -> web.Response:
    """Answer the canned responses, all or of one language."""
    await require_role(request, *EVERYONE)
    unknown = set(request.query) - {"language"}
    if unknown:
        raise ApiError(errors.INVALID_REQUEST, f"unknown parameter {sorted(unknown)[0]!r}.")
    language = request.query.get("language")
    if language is not None and language not in request.app[settings_key].chat.languages:
        raise ApiError(errors.INVALID_REQUEST, "language must be one of the offered languages.")
    items = await request.app[canned_key].list(language)
    return web.json_response({"canned_responses": [canned_view(c) for c in items]})


async def create_canned(request: web.Request) -> web.Response:
    """Add a canned response (managers)."""
    await require_role(request, *MANAGERS)
    language, title, text = _fields(request, await json_body(request))
    canned = await request.app[canned_key].add(language, title, text, request.app[clock_key].now())
    return web.json_response({"canned_response": canned_view(canned)}, status=201)


async def change_canned(request: web.Request) -> web.Response:
    """Replace a canned response (managers)."""
    await require_role(request, *MANAGERS)
    canned_id = _id(request)
    language, title, text = _fields(request, await json_body(request))
    canned = await request.app[canned_key].change(canned_id, language, title, text, request.app[clock_key].now())
    if canned is None:
        raise ApiError(errors.NOT_FOUND, "No such canned response.")
    return web.json_response({"canned_response": canned_view(canned)})


async def delete_canned(request: web.Request) -> web.Response:
    """Delete a canned response (managers)."""
    await require_role(request, *MANAGERS)
    if not await request.app[canned_key].delete(_id(request)):
        raise ApiError(errors.NOT_FOUND, "No such canned response.")
    return web.json_response({"ok": True})
