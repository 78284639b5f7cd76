"""The one way a request is read: JSON body, query and path parameters through pydantic models.

Every validation error becomes `invalid_request` (path parameters: `not_found`)
whose message names the field and what was expected, never the value sent: a
value may be message text.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from chat_server import errors
from chat_server.keys import settings_key
from chat_server.web.responses import ApiError

M = TypeVar("M", bound=BaseModel)


def _context(request: web.Request) -> dict[str, Any]:
    chat = request.app[settings_key].chat
    return {"languages": chat.languages, "max_message_length": chat.max_message_length}


def describe(error: ErrorDetails) -> str:
    """`where: what was expected` of one pydantic error, without the input."""
    loc = list(error["loc"])
    if error["type"] == "extra_forbidden":
        # The key itself was sent by the client: do not repeat it.
        where = ".".join(str(part) for part in loc[:-1])
        return f"{where + ': ' if where else ''}unknown field"
    where = ".".join(str(part) for part in loc)
    return f"{where or 'body'}: {error['msg']}"


def validate(model: type[M], data: Any, request: web.Request, code: str = errors.INVALID_REQUEST) -> M:
    try:
        return model.model_validate(data, context=_context(request))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        raise ApiError(code, describe(first)) from None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (`invalid_request` for anything else)."""
    if request.content_type != "application/json":
        raise ApiError(errors.INVALID_REQUEST, "Send a JSON body with Content-Type: application/json.")
    try:
        text = await request.text()
        body = json.loads(text)
        # JSON may spell a lone surrogate (\ud800) that no UTF-8 text holds: refuse it here,
        # before a password hash, the database or a log line meets it.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise ApiError(errors.INVALID_REQUEST, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(errors.INVALID_REQUEST, "The body must be a JSON object.")
    return body


async def parse_body(request: web.Request, model: type[M], *, required: bool = True) -> M:
    """Validate the JSON body; without `required`, no body at all counts as `{}`."""
    if not required and not request.body_exists:
        return validate(model, {}, request)
    return validate(model, await json_body(request), request)


def _encodable(values: dict[str, str], code: str) -> dict[str, str]:
    """Refuse a parameter that decoded to lone surrogates (undecodable bytes in the URL)."""
    for name, value in values.items():
        try:
            name.encode("utf-8")
            value.encode("utf-8")
        except UnicodeError:
            raise ApiError(code, "A parameter is not valid UTF-8.") from None
    return values


def parse_query(request: web.Request, model: type[M]) -> M:
    """Validate the query string (the first value of a repeated parameter)."""
    query = request.query
    values = _encodable({name: query.getone(name) for name in query.keys()}, errors.INVALID_REQUEST)
    return validate(model, values, request)


def parse_path(request: web.Request, model: type[M]) -> M:
    """Validate the path parameters the route pattern matched."""
    return validate(model, _encodable(dict(request.match_info), errors.INVALID_REQUEST), request)
