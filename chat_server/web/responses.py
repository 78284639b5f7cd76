"""JSON error responses with documented codes, domain refusals mapped to them, and the role check."""

from __future__ import annotations

from aiohttp import web

from chat_server import errors
from chat_server.access import CSRF_HEADER, csrf_valid, session_cookie_name, staff_origin_allowed
from chat_server.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountError,
    LastAdmin,
    NoSuchStaff,
    Role,
    StaffAccount,
    UsernameTaken,
    WeakPassword,
)
from chat_server.keys import clock_key, logins_key, settings_key
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


def session_token(request: web.Request) -> str | None:
    """The session token of the request's cookie (the cookie's name depends on the public URL)."""
    return request.cookies.get(session_cookie_name(request.app[settings_key].server))


async def current_staff(request: web.Request) -> StaffAccount:
    account = await request.app[logins_key].staff_for(session_token(request), request.app[clock_key].now())
    if account is None:
        raise ApiError(errors.UNAUTHENTICATED, "Log in first.")
    return account


def check_staff_origin(request: web.Request) -> None:
    """Refuse a staff request from any origin but the service's own (the widget's host sites included)."""
    if not staff_origin_allowed(request.headers.get("Origin"), request.app[settings_key].server):
        raise ApiError(errors.ORIGIN_NOT_ALLOWED, "Staff requests come only from this service's own pages.")


def check_csrf(request: web.Request) -> None:
    """Refuse a state-changing staff request without the session's CSRF token."""
    if not csrf_valid(request.app[settings_key].secret, session_token(request), request.headers.get(CSRF_HEADER)):
        raise ApiError(errors.CSRF_FAILED, f"Send the {CSRF_HEADER} header that login and /api/auth/me answer.")


async def require_role(request: web.Request, *roles: Role) -> StaffAccount:
    account = await current_staff(request)
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
        return ApiError(
            errors.WEAK_PASSWORD, f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )
    if isinstance(exc, UsernameTaken):
        return ApiError(errors.CONFLICT, "That user name is taken.")
    if isinstance(exc, LastAdmin):
        return ApiError(errors.LAST_ADMIN, "This is the last enabled admin account; make another admin first.")
    if isinstance(exc, NoSuchStaff):
        return ApiError(errors.NOT_FOUND, "No such staff member.")
    if isinstance(exc, AccountError):
        return ApiError(errors.INVALID_REQUEST, str(exc))
    return None
