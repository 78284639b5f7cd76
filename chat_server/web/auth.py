"""Staff login, logout and me."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.keys import clock_key, logins_key, settings_key, staff_key
from chat_server.realtime.staff import SESSION_COOKIE
from chat_server.web.responses import ApiError
from chat_server.web.schemas import Body, Ok, Reply, Staff, StrictStr


class Login(Body):
    username: StrictStr
    password: StrictStr


class LoggedIn(Reply):
    staff: Staff


async def login(request: web.Request, body: Login) -> web.Response:
    """Handle a JSON login; set the session cookie."""
    if len(body.username) > 64 or len(body.password) > 1024:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    account = await request.app[staff_key].verify(body.username, body.password)
    if account is None:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    settings = request.app[settings_key]
    token = await request.app[logins_key].create(account.id, request.app[clock_key].now())
    response = web.json_response(LoggedIn(staff=Staff.of(account)).model_dump(mode="json"))
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
    response = web.json_response(Ok().model_dump(mode="json"))
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: web.Request, me: StaffAccount) -> LoggedIn:
    """Answer who the session belongs to."""
    return LoggedIn(staff=Staff.of(me))
