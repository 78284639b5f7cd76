"""Staff administration over HTTP (managers and admins): add, change, disable, reset passwords.

Who may do what is decided in chat_server.staff_rules; the last-admin rule in the repository.
"""

from __future__ import annotations

import logging
from typing import Annotated, Self

from aiohttp import web
from pydantic import Field, model_validator

from chat_server import errors
from chat_server.accounts import MAX_CHATS_LIMIT, Role, StaffAccount, generate_password
from chat_server.keys import clock_key, logins_key, notifier_key, service_key, settings_key, staff_key
from chat_server.passwords import MAX_PASSWORD_LENGTH
from chat_server.staff_rules import (
    check_add,
    check_change,
    check_disable,
    check_enable,
    check_reset_password,
    check_reset_totp,
    routing_changed,
)
from chat_server.web.responses import ApiError
from chat_server.web.schemas import (
    Body,
    EmptyBody,
    OfferedLanguages,
    Path,
    PathId,
    Reply,
    RoleName,
    StaffEntry,
    StrictInt,
    StrictStr,
)

log = logging.getLogger(__name__)

Username = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Alias = Annotated[StrictStr, Field(min_length=1, max_length=64)]
DisplayName = Annotated[StrictStr, Field(max_length=128)]
MaxChats = Annotated[StrictInt, Field(ge=1, le=MAX_CHATS_LIMIT)]
# The minimum length has its own error code (weak_password), checked by the repository.
Password = Annotated[StrictStr, Field(max_length=MAX_PASSWORD_LENGTH)]


class NewStaff(Body):
    username: Username
    alias: Alias
    display_name: DisplayName = ""
    role: RoleName = "staff"
    languages: OfferedLanguages = []
    max_chats: MaxChats | None = Field(None, description="default: chat.default_max_chats")
    # Absent or null: the server generates one and answers it once. Either way it is temporary:
    # it must be changed at the first sign-in and expires after auth.temporary_password_hours.
    password: Password | None = None


class StaffChange(Body):
    """At least one field."""

    display_name: DisplayName | None = None
    alias: Alias | None = None
    role: RoleName | None = None
    languages: OfferedLanguages | None = None
    max_chats: MaxChats | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not any(getattr(self, name) is not None for name in type(self).model_fields):
            raise ValueError("send at least one field to change")
        return self


class StaffPath(Path):
    staff_id: PathId


class OneStaff(Reply):
    staff: StaffEntry


class StaffWithPassword(OneStaff):
    password: str | None = Field(description="a generated temporary password, shown only in this reply")


async def _target(request: web.Request, params: StaffPath) -> StaffAccount:
    account = await request.app[staff_key].get(params.staff_id)
    if account is None:
        raise ApiError(errors.NOT_FOUND, "No such staff member.")
    return account


def _audit(action: str, me: StaffAccount, target: StaffAccount) -> None:
    # Ids only: who did what to whom, nothing else.
    log.info("staff account changed", extra={"event": f"staff.{action}", "actor_id": me.id, "staff_id": target.id})


async def add_staff(request: web.Request, me: StaffAccount, body: NewStaff) -> StaffWithPassword:
    """Add a member with a temporary password; answer a generated one once if none was sent."""
    role = Role(body.role)
    check_add(me, role)
    settings = request.app[settings_key]
    password = body.password if body.password is not None else generate_password(settings.auth.min_password_length)
    account = await request.app[staff_key].add(
        body.username, password, display_name=body.display_name, alias=body.alias, role=role,
        languages=tuple(body.languages), max_chats=body.max_chats or settings.chat.default_max_chats,
        temporary=True, now=request.app[clock_key].now(),
    )
    _audit("add", me, account)
    return StaffWithPassword(staff=StaffEntry.of(account), password=password if body.password is None else None)


async def change_staff(request: web.Request, me: StaffAccount, params: StaffPath, body: StaffChange) -> OneStaff:
    """Change a member's display name, alias, role, languages or maximum concurrent chats."""
    target = await _target(request, params)
    role = Role(body.role) if body.role is not None else None
    check_change(me, target, role)
    account = await request.app[staff_key].update(
        target.id, display_name=body.display_name, alias=body.alias, role=role,
        languages=tuple(body.languages) if body.languages is not None else None, max_chats=body.max_chats,
    )
    if routing_changed(target, account):
        await request.app[service_key].staff_changed(account)
    _audit("change", me, account)
    return OneStaff(staff=StaffEntry.of(account))


async def disable_staff(request: web.Request, me: StaffAccount, params: StaffPath, body: EmptyBody) -> OneStaff:
    """Disable a member: their sessions end, their sockets close, their chats go back to the queue."""
    target = await _target(request, params)
    check_disable(me, target)
    account = await request.app[staff_key].set_disabled(target.username, True)
    # The sessions are gone already; now close what is still connected.
    await request.app[notifier_key].disconnect_staff(account.id)
    await request.app[service_key].release_staff(account.id)
    _audit("disable", me, account)
    return OneStaff(staff=StaffEntry.of(account))


async def enable_staff(request: web.Request, me: StaffAccount, params: StaffPath, body: EmptyBody) -> OneStaff:
    """Enable a disabled member again (they log in with their password)."""
    target = await _target(request, params)
    check_enable(me, target)
    account = await request.app[staff_key].set_disabled(target.username, False)
    _audit("enable", me, account)
    return OneStaff(staff=StaffEntry.of(account))


async def reset_password(
    request: web.Request, me: StaffAccount, params: StaffPath, body: EmptyBody
) -> StaffWithPassword:
    """Give a member a generated temporary password (answered once) and end their sessions."""
    target = await _target(request, params)
    check_reset_password(me, target)
    password = generate_password(request.app[settings_key].auth.min_password_length)
    account = await request.app[staff_key].reset_password(
        target.username, password, temporary=True, now=request.app[clock_key].now()
    )
    await request.app[notifier_key].disconnect_staff(account.id)
    _audit("reset_password", me, account)
    return StaffWithPassword(staff=StaffEntry.of(account), password=password)


async def reset_totp(request: web.Request, me: StaffAccount, params: StaffPath, body: EmptyBody) -> OneStaff:
    """Remove a member's second factor (a lost phone); their sessions end, they enrol again at sign-in."""
    target = await _target(request, params)
    check_reset_totp(me, target)
    account = await request.app[staff_key].totp_disable(target.id)
    await request.app[logins_key].end_others(target.id, None)
    await request.app[notifier_key].disconnect_staff(account.id)
    _audit("reset_totp", me, account)
    return OneStaff(staff=StaffEntry.of(account))
