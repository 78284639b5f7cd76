"""Staff login, logout and me."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from pydantic import Field

from chat_server import errors
from chat_server.access import CSRF_HEADER, csrf_token, csrf_valid, session_cookie_name
from chat_server.accounts import StaffAccount
from chat_server.keys import clock_key, logins_key, notifier_key, settings_key, staff_key
from chat_server.web.responses import ApiError, session_token
from chat_server.web.schemas import Body, Ok, Reply, Staff, StrictStr


class Login(Body):
    username: StrictStr
    password: StrictStr


class LoggedIn(Reply):
    staff: Staff
    csrf_token: str = Field(description=f"send it as {CSRF_HEADER} on every staff request that changes something")


async def login(request: web.Request, body: Login) -> web.Response:
    """Handle a JSON login; set the session cookie."""
    if len(body.username) > 64 or len(body.password) > 1024:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    account = await request.app[staff_key].verify(body.username, body.password)
    if account is None:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    settings = request.app[settings_key]
    token = await request.app[logins_key].create(account.id, request.app[clock_key].now())
    reply = LoggedIn(staff=Staff.of(account), csrf_token=csrf_token(settings.secret, token))
    response = web.json_response(reply.model_dump(mode="json"))
    # On https the name is __Host-dutychat_session: Secure, Path=/ and no Domain, so no
    # other host of the organisation's domain can set or shadow it.
    response.set_cookie(
        session_cookie_name(settings.server),
        token,
        httponly=True,
        samesite="Strict",
        secure=settings.server.secure_cookies,
        path="/",
        max_age=int(timedelta(hours=settings.auth.session_hours).total_seconds()),
    )
    return response


async def logout(request: web.Request) -> web.Response:
    """Revoke the session server-side, close its sockets on every worker and clear the cookie."""
    settings = request.app[settings_key]
    token = session_token(request)
    logins = request.app[logins_key]
    if token is not None and await logins.staff_for(token, request.app[clock_key].now()) is not None:
        # Only a live session needs the CSRF token: ending a dead one harms nobody.
        if not csrf_valid(settings.secret, token, request.headers.get(CSRF_HEADER)):
            raise ApiError(errors.CSRF_FAILED, f"Send the session's {CSRF_HEADER} header.")
        await logins.revoke(token)
        await request.app[notifier_key].disconnect_session(logins.session_key(token))
    response = web.json_response(Ok().model_dump(mode="json"))
    response.del_cookie(
        session_cookie_name(settings.server), path="/", secure=settings.server.secure_cookies, httponly=True,
        samesite="Strict",
    )
    return response


async def me(request: web.Request, me: StaffAccount) -> LoggedIn:
    """Answer who the session belongs to, and its CSRF token."""
    token = session_token(request) or ""
    return LoggedIn(staff=Staff.of(me), csrf_token=csrf_token(request.app[settings_key].secret, token))
