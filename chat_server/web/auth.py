"""Staff login, logout and me."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from chat_server import errors
from chat_server.keys import clock_key, logins_key, settings_key, staff_key
from chat_server.realtime.staff import SESSION_COOKIE
from chat_server.web.responses import ApiError, current_staff, json_body


async def login(request: web.Request) -> web.Response:
    """Handle a JSON login; set the session cookie."""
    body = await json_body(request)
    username, password = body.get("username"), body.get("password")
    if set(body) != {"username", "password"} or not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(errors.INVALID_REQUEST, "Send exactly username and password as strings.")
    if len(username) > 64 or len(password) > 1024:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    account = await request.app[staff_key].verify(username, password)
    if account is None:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    settings = request.app[settings_key]
    token = await request.app[logins_key].create(account.id, request.app[clock_key].now())
    response = web.json_response({"staff": account.public()})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=settings.server.secure_cookies,
        path="/",
        max_age=int(timedelta(hours=settings.auth.session_hours).total_seconds()),
    )
    return response


async def logout(request: web.Request) -> web.Response:
    """Revoke the session server-side and clear the cookie."""
    await request.app[logins_key].revoke(request.cookies.get(SESSION_COOKIE))
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    """Answer who the session belongs to."""
    account = await current_staff(request)
    return web.json_response({"staff": account.public()})
