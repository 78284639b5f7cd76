"""Staff sign-in (password, then the steps it may need), logout and me.

A login answers the session's `state`: `signed_in`, or the next step of the
sign-in (`totp_required`, `password_change_required`,
`totp_enrolment_required`); until it is `signed_in` the session may call only
that step's endpoints (docs/protocol.md §9). Every password and code attempt
is throttled per user name and per address hash (chat_server.login_throttle).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from chat_server import errors
from chat_server.access import CSRF_HEADER, csrf_token, csrf_valid, session_cookie_name
from chat_server.accounts import (
    LoginSession,
    SessionState,
    StaffAccount,
    state_after_password,
    state_after_second_factor,
)
from chat_server.keys import clock_key, logins_key, notifier_key, settings_key, staff_key, store_key
from chat_server.login_throttle import LoginThrottle
from chat_server.passwords import MAX_PASSWORD_LENGTH, PasswordWorkBusy
from chat_server.privacy import AddressHasher
from chat_server.web.responses import ApiError, session_token, too_many_attempts
from chat_server.web.schemas import Body, Ok, Reply, Staff, StrictStr

StateName = Literal["signed_in", "totp_required", "password_change_required", "totp_enrolment_required"]


class Login(Body):
    username: StrictStr
    password: StrictStr


class LoggedIn(Reply):
    state: StateName = Field(description="signed_in, or the sign-in step still to do")
    staff: Staff
    csrf_token: str = Field(description=f"send it as {CSRF_HEADER} on every staff request that changes something")


class SecondFactor(Body):
    code: Annotated[StrictStr, Field(min_length=1, max_length=64,
                                     description="the authenticator app's 6 digits, or a recovery code")]


def throttle(request: web.Request) -> LoginThrottle:
    return LoginThrottle(request.app[store_key], request.app[settings_key].auth)


async def address_hash(request: web.Request) -> str | None:
    """Today's keyed hash of the caller's address group; the address itself is dropped here."""
    server = request.app[settings_key].server
    hasher = AddressHasher(server.proxy_networks, server.public_url)
    return await hasher.group_hash(request, request.app[store_key], request.app[clock_key].now().date())


async def admit(request: web.Request, username: str, address: str | None, now: datetime) -> None:
    wait = await throttle(request).admit(username, address, now)
    if wait > 0:
        raise too_many_attempts(wait)


def logged_in(request: web.Request, state: SessionState, account: StaffAccount, token: str) -> LoggedIn:
    """The answer of every sign-in step: the state, the member and the session's CSRF token."""
    secret = request.app[settings_key].secret
    return LoggedIn(state=state.value, staff=Staff.of(account), csrf_token=csrf_token(secret, token))


def signed(request: web.Request, reply: LoggedIn, token: str | None = None) -> web.Response:
    response = web.json_response(reply.model_dump(mode="json"))
    if token is not None:
        settings = request.app[settings_key]
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


async def login(request: web.Request, body: Login) -> web.Response:
    """Handle a JSON login; set the session cookie at the state the sign-in reached."""
    if len(body.username) > 64 or len(body.password) > MAX_PASSWORD_LENGTH:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    now = request.app[clock_key].now()
    address = await address_hash(request)
    await admit(request, body.username, address, now)
    try:
        account = await request.app[staff_key].verify(body.username, body.password, now)
    except PasswordWorkBusy:
        await throttle(request).not_counted(body.username, address)
        raise too_many_attempts(1) from None
    if account is None:
        raise ApiError(errors.INVALID_CREDENTIALS, "Wrong user name or password.")
    state = state_after_password(account, request.app[settings_key].auth.totp_required_roles)
    if state is not SessionState.TOTP_REQUIRED:
        # With a second factor, the count starts afresh only once its code is right.
        await throttle(request).succeeded(body.username, address)
    token = await request.app[logins_key].create(account.id, now, state)
    return signed(request, logged_in(request, state, account, token), token)


async def second_factor(request: web.Request, me: StaffAccount, login: LoginSession, body: SecondFactor) -> LoggedIn:
    """Check the second factor of a sign-in at totp_required; a recovery code works once."""
    if login.state is not SessionState.TOTP_REQUIRED:
        raise ApiError(errors.CONFLICT, "This session has no code to give.")
    now = request.app[clock_key].now()
    address = await address_hash(request)
    await admit(request, me.username, address, now)
    if not await request.app[staff_key].totp_check(me.id, body.code, now):
        raise ApiError(errors.INVALID_CODE, "Wrong or already used code.")
    await throttle(request).succeeded(me.username, address)
    state = state_after_second_factor(me, request.app[settings_key].auth.totp_required_roles)
    token = session_token(request) or ""
    await request.app[logins_key].advance(token, state, now)
    return logged_in(request, state, me, token)


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


async def me(request: web.Request, me: StaffAccount, login: LoginSession) -> LoggedIn:
    """Answer who the session belongs to, where its sign-in stands, and its CSRF token."""
    return logged_in(request, login.state, me, session_token(request) or "")
