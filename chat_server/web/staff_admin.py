"""Staff administration over HTTP (managers and admins): add, change, disable, reset passwords.

Who may do what (docs/protocol.md §8):
- managers and admins add members and change staff and manager accounts;
- only admins grant the admin role or change anything about an admin account;
- nobody disables, changes the role of, or resets the password of their own account here;
- the last enabled admin can be neither demoted nor disabled (the repository refuses).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator

from chat_server import errors
from chat_server.accounts import (
    MAX_CHATS_LIMIT,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountError,
    LastAdmin,
    NoSuchStaff,
    Role,
    StaffAccount,
    UsernameTaken,
    WeakPassword,
    generate_password,
)
from chat_server.keys import clock_key, notifier_key, service_key, settings_key, staff_key
from chat_server.web.responses import ApiError, json_body, require_role

log = logging.getLogger(__name__)

ADMINISTRATORS = (Role.MANAGER, Role.ADMIN)

Username = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Alias = Annotated[StrictStr, Field(min_length=1, max_length=64)]
DisplayName = Annotated[StrictStr, Field(max_length=128)]
RoleName = Literal["staff", "manager", "admin"]
Languages = Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=16)]], Field(max_length=32)]
MaxChats = Annotated[StrictInt, Field(ge=1, le=MAX_CHATS_LIMIT)]
# The minimum length has its own error code (weak_password), checked by the repository.
Password = Annotated[StrictStr, Field(max_length=MAX_PASSWORD_LENGTH)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewStaff(Body):
    username: Username
    alias: Alias
    display_name: DisplayName = ""
    role: RoleName = "staff"
    languages: Languages = []
    max_chats: MaxChats | None = None
    # Absent or null: the server generates a one-time password and answers it once.
    password: Password | None = None


class StaffChange(Body):
    display_name: DisplayName | None = None
    alias: Alias | None = None
    role: RoleName | None = None
    languages: Languages | None = None
    max_chats: MaxChats | None = None

    @model_validator(mode="after")
    def _something(self) -> "StaffChange":
        if not any(getattr(self, name) is not None for name in type(self).model_fields):
            raise ValueError("send at least one field to change")
        return self


def _parse(model: type[Body], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        # Only the field name and pydantic's description: never the value sent.
        raise ApiError(errors.INVALID_REQUEST, f"{where}: {first['msg']}") from None


async def _empty_body(request: web.Request) -> None:
    """Action endpoints take no body; one that is sent must be `{}`."""
    if not request.body_exists:
        return
    if await json_body(request):
        raise ApiError(errors.INVALID_REQUEST, "This request takes no fields.")


def _languages(request: web.Request, codes: list[str]) -> tuple[str, ...]:
    offered = request.app[settings_key].chat.languages
    unknown = [code for code in codes if code not in offered]
    if unknown:
        raise ApiError(errors.INVALID_REQUEST, f"languages: only {', '.join(offered)} are offered.")
    return tuple(dict.fromkeys(codes))


async def _target(request: web.Request) -> StaffAccount:
    raw = request.match_info["staff_id"]
    account = await request.app[staff_key].get(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if account is None:
        raise ApiError(errors.NOT_FOUND, "No such staff member.")
    return account


def _may_change(me: StaffAccount, target: StaffAccount) -> None:
    if target.role is Role.ADMIN and me.role is not Role.ADMIN:
        raise ApiError(errors.FORBIDDEN, "Only admins change an admin account.")


def _not_own(me: StaffAccount, target: StaffAccount, what: str) -> None:
    if me.id == target.id:
        raise ApiError(errors.OWN_ACCOUNT, f"You cannot {what} your own account; ask another manager.")


def _account_error(exc: AccountError) -> ApiError:
    if isinstance(exc, WeakPassword):
        return ApiError(errors.WEAK_PASSWORD, f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")
    if isinstance(exc, UsernameTaken):
        return ApiError(errors.CONFLICT, "That user name is taken.")
    if isinstance(exc, LastAdmin):
        return ApiError(errors.LAST_ADMIN, "This is the last enabled admin account; make another admin first.")
    if isinstance(exc, NoSuchStaff):
        return ApiError(errors.NOT_FOUND, "No such staff member.")
    return ApiError(errors.INVALID_REQUEST, str(exc))


def _audit(action: str, me: StaffAccount, target: StaffAccount) -> None:
    # Ids only: who did what to whom, nothing else.
    log.info("staff account changed", extra={"event": f"staff.{action}", "actor_id": me.id, "staff_id": target.id})


def staff_view(account: StaffAccount) -> dict[str, Any]:
    return account.public() | {"disabled": account.disabled}


# ---------------------------------------------------------------- handlers


async def add_staff(request: web.Request) -> web.Response:
    """Add a member; answer a generated one-time password once if none was sent."""
    me = await require_role(request, *ADMINISTRATORS)
    new = _parse(NewStaff, await json_body(request))
    role = Role(new.role)
    if role is Role.ADMIN and me.role is not Role.ADMIN:
        raise ApiError(errors.FORBIDDEN, "Only admins grant the admin role.")
    languages = _languages(request, new.languages)
    password = new.password if new.password is not None else generate_password()
    try:
        account = await request.app[staff_key].add(
            new.username, password, display_name=new.display_name, alias=new.alias, role=role,
            languages=languages, max_chats=new.max_chats or request.app[settings_key].chat.default_max_chats,
            now=request.app[clock_key].now(),
        )
    except AccountError as exc:
        raise _account_error(exc) from None
    _audit("add", me, account)
    return web.json_response(
        {"staff": staff_view(account), "password": password if new.password is None else None}, status=201
    )


async def change_staff(request: web.Request) -> web.Response:
    """Change a member's display name, alias, role, languages or maximum concurrent chats."""
    me = await require_role(request, *ADMINISTRATORS)
    change = _parse(StaffChange, await json_body(request))
    target = await _target(request)
    _may_change(me, target)
    role = Role(change.role) if change.role is not None else None
    if role is not None and role is not target.role:
        _not_own(me, target, "change the role of")
        if role is Role.ADMIN and me.role is not Role.ADMIN:
            raise ApiError(errors.FORBIDDEN, "Only admins grant the admin role.")
    languages = _languages(request, change.languages) if change.languages is not None else None
    try:
        account = await request.app[staff_key].update(
            target.id, display_name=change.display_name, alias=change.alias, role=role,
            languages=languages, max_chats=change.max_chats,
        )
    except AccountError as exc:
        raise _account_error(exc) from None
    if (account.alias, account.max_chats) != (target.alias, target.max_chats):
        await request.app[service_key].staff_changed(account)
    _audit("change", me, account)
    return web.json_response({"staff": staff_view(account)})


async def disable_staff(request: web.Request) -> web.Response:
    """Disable a member: their sessions end, their sockets close, their chats go back to the queue."""
    me = await require_role(request, *ADMINISTRATORS)
    await _empty_body(request)
    target = await _target(request)
    _may_change(me, target)
    _not_own(me, target, "disable")
    try:
        account = await request.app[staff_key].set_disabled(target.username, True)
    except AccountError as exc:
        raise _account_error(exc) from None
    # The sessions are gone already; now close what is still connected.
    await request.app[notifier_key].disconnect_staff(account.id)
    await request.app[service_key].release_staff(account.id)
    _audit("disable", me, account)
    return web.json_response({"staff": staff_view(account)})


async def enable_staff(request: web.Request) -> web.Response:
    """Enable a disabled member again (they log in with their password)."""
    me = await require_role(request, *ADMINISTRATORS)
    await _empty_body(request)
    target = await _target(request)
    _may_change(me, target)
    try:
        account = await request.app[staff_key].set_disabled(target.username, False)
    except AccountError as exc:
        raise _account_error(exc) from None
    _audit("enable", me, account)
    return web.json_response({"staff": staff_view(account)})


async def reset_password(request: web.Request) -> web.Response:
    """Give a member a generated one-time password (answered once) and end their sessions."""
    me = await require_role(request, *ADMINISTRATORS)
    await _empty_body(request)
    target = await _target(request)
    _may_change(me, target)
    _not_own(me, target, "reset the password of")
    password = generate_password()
    try:
        account = await request.app[staff_key].reset_password(target.username, password)
    except AccountError as exc:
        raise _account_error(exc) from None
    await request.app[notifier_key].disconnect_staff(account.id)
    _audit("reset_password", me, account)
    return web.json_response({"staff": staff_view(account), "password": password})
