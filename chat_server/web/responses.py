"""JSON error responses with documented codes, and small request helpers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chat_server import errors
from chat_server.accounts import Role, StaffAccount
from chat_server.keys import clock_key, logins_key
from chat_server.realtime.staff import SESSION_COOKIE

STATUS = {
    errors.INVALID_REQUEST: 400,
    errors.UNAUTHENTICATED: 401,
    errors.INVALID_CREDENTIALS: 401,
    errors.FORBIDDEN: 403,
    errors.ORIGIN_NOT_ALLOWED: 403,
    errors.NOT_FOUND: 404,
    errors.CONFLICT: 409,
    errors.RELEASE_TOO_LATE: 403,
    errors.WEAK_PASSWORD: 400,
    errors.OWN_ACCOUNT: 409,
    errors.LAST_ADMIN: 409,
    errors.UNKNOWN_TICKET: 404,
    errors.INTERNAL_ERROR: 500,
}


class ApiError(Exception):
    """Raise to answer with a documented error code (the middleware renders it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = STATUS[code]


def error_response(code: str, message: str, status: int | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status or STATUS[code])


async def json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(errors.INVALID_REQUEST, "Send a JSON body with Content-Type: application/json.")
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(errors.INVALID_REQUEST, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(errors.INVALID_REQUEST, "The body must be a JSON object.")
    return body


async def current_staff(request: web.Request) -> StaffAccount:
    account = await request.app[logins_key].staff_for(
        request.cookies.get(SESSION_COOKIE), request.app[clock_key].now()
    )
    if account is None:
        raise ApiError(errors.UNAUTHENTICATED, "Log in first.")
    return account


async def require_role(request: web.Request, *roles: Role) -> StaffAccount:
    account = await current_staff(request)
    if account.role not in roles:
        raise ApiError(errors.FORBIDDEN, "Your role may not do this.")
    return account
