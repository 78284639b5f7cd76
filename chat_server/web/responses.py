"""JSON error responses with documented codes, domain refusals mapped to them, and the role check."""

from __future__ import annotations

import math

from aiohttp import web

from chat_server import errors
from chat_server.access import (
    CSRF_HEADER,
    csrf_valid,
    log_wrong_origin,
    session_cookie_name,
    staff_origin_allowed,
    wrong_origin_message,
)
from chat_server.accounts import (
    AccountError,
    LastAdmin,
    LoginSession,
    NoSuchStaff,
    Role,
    SessionState,
    StaffAccount,
    TotpError,
    UsernameTaken,
    WeakPassword,
    WrongPassword,
)
from chat_server.keys import clock_key, logins_key, origin_log_key, settings_key
from chat_server.passwords import PasswordWorkBusy
from chat_server.staff_rules import OwnAccount, StaffRuleError
from roster.repository import Conflict, NotFound, RosterError
from roster.service import Forbidden, ReleaseTooLate

STATUS = {
    errors.INVALID_REQUEST: 400,
    errors.UNAUTHENTICATED: 401,
    errors.INVALID_CREDENTIALS: 401,
    errors.FORBIDDEN: 403,
    errors.ORIGIN_NOT_ALLOWED: 403,
    errors.CSRF_FAILED: 403,
    errors.NOT_FOUND: 404,
    errors.CONFLICT: 409,
    errors.RELEASE_TOO_LATE: 403,
    errors.WEAK_PASSWORD: 400,
    errors.OWN_ACCOUNT: 409,
    errors.LAST_ADMIN: 409,
    errors.UNKNOWN_TICKET: 404,
    errors.INTERNAL_ERROR: 500,
    errors.TOO_MANY_ATTEMPTS: 429,
    errors.SIGN_IN_INCOMPLETE: 403,
    errors.WRONG_PASSWORD: 403,
    errors.INVALID_CODE: 401,
    errors.SECOND_FACTOR_REQUIRED: 409,
    errors.MARKUP_NOT_ALLOWED: 400,
    errors.LINK_NOT_ALLOWED: 400,
    errors.INVALID_PHONE_NUMBER: 400,
    errors.UNKNOWN_ACTIVITY_TYPE: 400,
    errors.UNKNOWN_LOCALITY: 400,
    errors.NOTES_DISABLED: 400,
}


class ApiError(Exception):
    """Raise to answer with a documented error code (the middleware renders it)."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = STATUS[code]
        # Seconds, sent as Retry-After (too_many_attempts).
        self.retry_after = retry_after


def error_response(
    code: str, message: str, status: int | None = None, retry_after: int | None = None
) -> web.Response:
    response = web.json_response({"error": {"code": code, "message": message}}, status=status or STATUS[code])
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def too_many_attempts(seconds: float) -> ApiError:
    wait = max(1, math.ceil(seconds))
    return ApiError(errors.TOO_MANY_ATTEMPTS, f"Too many attempts; try again in {wait} s.", retry_after=wait)


async def current_session(request: web.Request, states: tuple[SessionState, ...] = ()) -> LoginSession:
    """The caller's signed-in session, or one at one of `states` of the sign-in."""
    found = await request.app[logins_key].session_for(session_token(request), request.app[clock_key].now())
    if found is None:
        raise ApiError(errors.UNAUTHENTICATED, "Log in first.")
    if found.state is not SessionState.SIGNED_IN and found.state not in states:
        raise ApiError(errors.SIGN_IN_INCOMPLETE, f"Finish signing in first ({found.state.value}).")
    return found


def session_token(request: web.Request) -> str | None:
    """The session token of the request's cookie (the cookie's name depends on the public URL)."""
    return request.cookies.get(session_cookie_name(request.app[settings_key].server))


async def current_staff(request: web.Request) -> StaffAccount:
    return (await current_session(request)).account


def check_staff_origin(request: web.Request) -> None:
    """Refuse a staff request from any origin but the service's own (the widget's host sites included)."""
    server = request.app[settings_key].server
    if not staff_origin_allowed(request.headers.get("Origin"), server):
        if request.path.startswith("/api/auth/"):
            log_wrong_origin(server, request.app[origin_log_key])
            raise ApiError(errors.ORIGIN_NOT_ALLOWED, wrong_origin_message(server))
        raise ApiError(errors.ORIGIN_NOT_ALLOWED, "Staff requests come only from this service's own pages.")


def check_csrf(request: web.Request) -> None:
    """Refuse a state-changing staff request without the session's CSRF token."""
    if not csrf_valid(request.app[settings_key].secret, session_token(request), request.headers.get(CSRF_HEADER)):
        raise ApiError(errors.CSRF_FAILED, f"Send the {CSRF_HEADER} header that login and /api/auth/me answer.")


async def require_role(
    request: web.Request, *roles: Role, states: tuple[SessionState, ...] = ()
) -> StaffAccount:
    account = (await current_session(request, states)).account
    if account.role not in roles:
        raise ApiError(errors.FORBIDDEN, "Your role may not do this.")
    return account


def domain_error(exc: Exception) -> ApiError | None:
    """The documented error of a refusal by the roster, the accounts or the staff rules (None: not one)."""
    if isinstance(exc, RosterError):
        code = {
            NotFound: errors.NOT_FOUND, Conflict: errors.CONFLICT, Forbidden: errors.FORBIDDEN,
            ReleaseTooLate: errors.RELEASE_TOO_LATE,
        }.get(type(exc), errors.INVALID_REQUEST)
        return ApiError(code, exc.message)
    if isinstance(exc, StaffRuleError):
        return ApiError(errors.OWN_ACCOUNT if isinstance(exc, OwnAccount) else errors.FORBIDDEN, exc.message)
    if isinstance(exc, WeakPassword):
        # The policy's own message: it names the rule, never the password.
        return ApiError(errors.WEAK_PASSWORD, str(exc))
    if isinstance(exc, WrongPassword):
        return ApiError(errors.WRONG_PASSWORD, "The current password is wrong.")
    if isinstance(exc, TotpError):
        return ApiError(errors.CONFLICT, str(exc).capitalize() + ".")
    if isinstance(exc, PasswordWorkBusy):
        return too_many_attempts(1)
    if isinstance(exc, UsernameTaken):
        return ApiError(errors.CONFLICT, "That user name is taken.")
    if isinstance(exc, LastAdmin):
        return ApiError(errors.LAST_ADMIN, "This is the last enabled admin account; make another admin first.")
    if isinstance(exc, NoSuchStaff):
        return ApiError(errors.NOT_FOUND, "No such staff member.")
    if isinstance(exc, AccountError):
        return ApiError(errors.INVALID_REQUEST, str(exc))
    return None
