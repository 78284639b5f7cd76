"""A staff member's own account: password, TOTP second factor, login sessions.

The password change and the TOTP enrolment are also the sign-in steps
`password_change_required` and `totp_enrolment_required`: a session at such a
step may call them and nothing else (the route table says which).
"""

from __future__ import annotations

import logging
from typing import Annotated

import segno
from aiohttp import web
from pydantic import Field

from chat_server import errors
from chat_server.accounts import (
    LoginSession,
    SessionState,
    StaffAccount,
    state_after_second_factor,
    totp_uri,
)
from chat_server.alert_prefs import AlertPrefs, AlertPrefsRepository
from chat_server.keys import clock_key, logins_key, sessions_key, settings_key, staff_key
from chat_server.passwords import MAX_PASSWORD_LENGTH
from chat_server.web.auth import LoggedIn, address_hash, admit, logged_in
from chat_server.web.responses import ApiError, session_token
from chat_server.web.schemas import Body, EmptyBody, Instant, Ok, Path, Reply, Staff, StrictStr, utc

log = logging.getLogger(__name__)

Password = Annotated[StrictStr, Field(max_length=MAX_PASSWORD_LENGTH)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=64)]
StateName = Annotated[str, Field(description="signed_in, or the sign-in step the session is at")]


class Account(Reply):
    staff: Staff
    totp_enabled: bool
    recovery_codes_left: int
    totp_required: bool = Field(description="whether the member's role must use a second factor")


class PasswordChange(Body):
    current_password: Password
    new_password: Password


class TotpSetup(Reply):
    secret: str = Field(description="base32, for typing into an authenticator app; shown only in this reply")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code: an SVG data: URI for an <img>")


class TotpCode(Body):
    code: Code


class TotpEnabled(LoggedIn):
    recovery_codes: list[str] = Field(description="one-time codes for a lost phone; shown only in this reply")


class TotpDisable(Body):
    password: Password


class LoginSessionEntry(Reply):
    id: str
    current: bool
    state: StateName
    created_at: Instant
    last_seen_at: Instant
    expires_at: Instant


class SessionList(Reply):
    sessions: list[LoginSessionEntry]


class SessionPath(Path):
    session_id: str


class Alerts(Reply):
    """How the console alerts this member (kept per account; all on by default)."""

    sound: bool = Field(description="a tone for a new chat, a softer one for a new message in a chat not in view")
    desktop: bool = Field(description="a desktop notification while the console is not in front")
    permission_asked: bool = Field(description="the browser's notification permission was asked (once, at check-in)")


class AlertsChange(Body):
    sound: bool | None = None
    desktop: bool | None = None
    permission_asked: bool | None = None


def _alerts(prefs: AlertPrefs) -> Alerts:
    return Alerts(sound=prefs.sound, desktop=prefs.desktop, permission_asked=prefs.permission_asked)


async def alerts(request: web.Request, me: StaffAccount) -> Alerts:
    """The caller's console alert preferences."""
    return _alerts(await AlertPrefsRepository(request.app[sessions_key]).get(me.id))


async def change_alerts(request: web.Request, me: StaffAccount, body: AlertsChange) -> Alerts:
    """Change the caller's console alert preferences (a field left out stays as it was)."""
    prefs = await AlertPrefsRepository(request.app[sessions_key]).change(
        me.id, sound=body.sound, desktop=body.desktop, permission_asked=body.permission_asked
    )
    return _alerts(prefs)


def _audit(action: str, me: StaffAccount) -> None:
    log.info("own account changed", extra={"event": f"account.{action}", "staff_id": me.id})


def _totp_required(request: web.Request, account: StaffAccount) -> bool:
    return account.role.value in request.app[settings_key].auth.totp_required_roles


async def account(request: web.Request, me: StaffAccount) -> Account:
    """The caller's account and second-factor status."""
    left = await request.app[staff_key].recovery_codes_left(me.id) if me.totp_enabled else 0
    return Account(staff=Staff.of(me), totp_enabled=me.totp_enabled, recovery_codes_left=left,
                   totp_required=_totp_required(request, me))


async def _next_step(request: web.Request, login: LoginSession, account: StaffAccount) -> SessionState:
    """Move a session that was at a sign-in step on to the next one."""
    if login.state is SessionState.SIGNED_IN:
        return SessionState.SIGNED_IN
    state = state_after_second_factor(account, request.app[settings_key].auth.totp_required_roles)
    await request.app[logins_key].advance(session_token(request) or "", state, request.app[clock_key].now())
    return state


async def change_password(
    request: web.Request, me: StaffAccount, login: LoginSession, body: PasswordChange
) -> LoggedIn:
    """Change one's own password (the current one confirms it); every other session ends."""
    now = request.app[clock_key].now()
    # A stolen session must not become a way to guess the password: each try counts like a login.
    await admit(request, me.username, await address_hash(request), now)
    account = await request.app[staff_key].change_own_password(me.id, body.current_password, body.new_password, now)
    await request.app[logins_key].end_others(me.id, session_token(request))
    _audit("password", me)
    state = await _next_step(request, login, account)
    return logged_in(request, state, account, session_token(request) or "")


async def totp_begin(request: web.Request, me: StaffAccount, body: EmptyBody) -> TotpSetup:
    """Start enrolling a TOTP second factor: the secret and its QR code, answered once."""
    secret = await request.app[staff_key].totp_begin(me.id)
    uri = totp_uri(secret, me.username)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=qr)


async def totp_confirm(request: web.Request, me: StaffAccount, login: LoginSession, body: TotpCode) -> TotpEnabled:
    """Turn the second factor on with a first code; answer the recovery codes once."""
    now = request.app[clock_key].now()
    codes = await request.app[staff_key].totp_confirm(me.id, body.code, now)
    if codes is None:
        raise ApiError(errors.INVALID_CODE, "Wrong code; check the phone's clock and try the next one.")
    _audit("totp_enabled", me)
    account = await request.app[staff_key].get(me.id)
    assert account is not None
    state = await _next_step(request, login, account)
    answer = logged_in(request, state, account, session_token(request) or "")
    return TotpEnabled(**answer.model_dump(), recovery_codes=list(codes))


async def totp_disable(request: web.Request, me: StaffAccount, body: TotpDisable) -> Account:
    """Turn one's own second factor off (the password confirms it), unless the role requires one."""
    if _totp_required(request, me):
        raise ApiError(errors.SECOND_FACTOR_REQUIRED, "Your role must use a second factor; ask an admin to reset it.")
    await admit(request, me.username, await address_hash(request), request.app[clock_key].now())
    if not await request.app[staff_key].check_password(me.id, body.password):
        raise ApiError(errors.WRONG_PASSWORD, "The password is wrong.")
    account = await request.app[staff_key].totp_disable(me.id)
    _audit("totp_disabled", me)
    return Account(staff=Staff.of(account), totp_enabled=False, recovery_codes_left=0,
                   totp_required=_totp_required(request, account))


async def list_sessions(request: web.Request, me: StaffAccount, login: LoginSession) -> SessionList:
    """The caller's own live login sessions, newest first (times only: nothing about the device)."""
    found = await request.app[logins_key].of_staff(me.id, request.app[clock_key].now())
    return SessionList(sessions=[
        LoginSessionEntry(id=s.id, current=s.id == login.id, state=s.state.value, created_at=utc(s.created_at),
                          last_seen_at=utc(s.last_seen_at), expires_at=utc(s.expires_at))
        for s in found
    ])


async def end_session(request: web.Request, me: StaffAccount, params: SessionPath) -> Ok:
    """End one of the caller's own sessions (the current one too: that is a logout)."""
    if not await request.app[logins_key].end(me.id, params.session_id):
        raise ApiError(errors.NOT_FOUND, "No such session.")
    _audit("session_ended", me)
    return Ok()
