"""Staff accounts, argon2id password hashes and login sessions."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, CursorResult, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from chat_server.db import AuthSession, Staff
from roster.models import CalendarFeedRow

# argon2-cffi's defaults are RFC 9106's low-memory argon2id profile.
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps unknown user names as slow as wrong passwords."""
    return _hasher.hash("not a password")


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # longer ones are refused at login anyway
MAX_CHATS_LIMIT = 50


class Role(StrEnum):
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def sees_reports(self) -> bool:
        return self in (Role.MANAGER, Role.ADMIN)


class AccountError(ValueError):
    """A staff account operation was refused; the message says why."""


class WeakPassword(AccountError):
    """The password does not meet the password policy."""


class UsernameTaken(AccountError):
    """Another account already has this user name."""


class NoSuchStaff(AccountError):
    """No account with this user name or id."""


class LastAdmin(AccountError):
    """The change would leave no enabled admin account."""


def generate_password() -> str:
    """A random one-time password (16 URL-safe characters, 96 bits)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class StaffAccount:
    id: int
    username: str
    display_name: str
    alias: str
    role: Role
    languages: tuple[str, ...]
    max_chats: int
    disabled: bool

    def public(self) -> dict[str, object]:
        """Staff-facing view (never sent to a visitor)."""
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "alias": self.alias,
            "role": self.role.value,
            "languages": list(self.languages),
            "max_chats": self.max_chats,
        }


def account_of(row: Staff) -> StaffAccount:
    return StaffAccount(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        alias=row.alias,
        role=Role(row.role),
        languages=tuple(code for code in row.languages.split(",") if code),
        max_chats=row.max_chats,
        disabled=row.disabled,
    )


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


# Joiners shape emoji sequences and several scripts' words: format characters, but harmless.
_JOINERS = frozenset("\u200c\u200d")


def has_control_characters(text: str) -> bool:
    """True if text holds a control or format character (CR, LF, tab, NUL, bidi overrides) or a surrogate."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in _JOINERS for ch in text)


def _check_alias(alias: str) -> str:
    if not alias.strip() or len(alias) > 64:
        raise AccountError("alias must be 1-64 characters")
    if has_control_characters(alias):
        raise AccountError("alias must not contain control characters")
    return alias.strip()


def _check_display_name(name: str) -> str:
    if len(name.strip()) > 128:
        raise AccountError("display name must be at most 128 characters")
    if has_control_characters(name):
        raise AccountError("display name must not contain control characters")
    return name.strip()


async def end_access(session: AsyncSession, staff_id: int) -> None:
    """Revoke every login session and calendar feed of an account (in the caller's transaction).

    Live sockets notice within seconds (they re-check their session); callers
    that can also reach the socket.io manager disconnect them at once.
    """
    await session.execute(delete(AuthSession).where(AuthSession.staff_id == staff_id))
    await session.execute(delete(CalendarFeedRow).where(CalendarFeedRow.staff_id == staff_id))


def _check_max_chats(max_chats: int) -> int:
    if not 1 <= max_chats <= MAX_CHATS_LIMIT:
        raise AccountError(f"max_chats must be between 1 and {MAX_CHATS_LIMIT}")
    return max_chats


async def _lock_admins(session: AsyncSession) -> None:
    """Lock the enabled admins' rows in id order (PostgreSQL), so that concurrent
    demotions wait for each other instead of both passing or deadlocking."""
    query = select(Staff.id).where(Staff.role == Role.ADMIN.value, Staff.disabled.is_(False))
    await session.execute(query.order_by(Staff.id).with_for_update())


def _leaves_an_admin(staff_id: int) -> ColumnElement[bool]:
    """True for a row that may lose the admin role or be disabled: it is no enabled
    admin, or another enabled admin exists. Checked inside the UPDATE itself, so
    that on SQLite (no row locks) two demotions at once cannot both pass."""
    other = aliased(Staff)
    return or_(
        Staff.role != Role.ADMIN.value,
        Staff.disabled.is_(True),
        exists().where(other.role == Role.ADMIN.value, other.disabled.is_(False), other.id != staff_id),
    )


async def _guarded_update(session: AsyncSession, row: Staff, **values: object) -> None:
    """Demote or disable an account unless it is the last enabled admin."""
    result = await session.execute(
        update(Staff)
        .where(Staff.id == row.id, _leaves_an_admin(row.id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:  # an UPDATE's result is a cursor result
        raise LastAdmin("this is the last enabled admin account; make another admin first")
    for name, value in values.items():
        set_committed_value(row, name, value)


class StaffRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(
        self,
        username: str,
        password: str,
        *,
        display_name: str,
        alias: str,
        role: Role = Role.STAFF,
        languages: tuple[str, ...] = (),
        max_chats: int = 3,
        now: datetime,
    ) -> StaffAccount:
        username = username.strip().lower()
        bare = username.replace("_", "").replace("-", "").replace(".", "")
        if not username or len(username) > 64 or not bare.isalnum():
            raise AccountError("username must be 1-64 letters, digits, '.', '_' or '-'")
        alias = _check_alias(alias)
        _check_max_chats(max_chats)
        row = Staff(
            username=username,
            display_name=_check_display_name(display_name) or username,
            alias=alias,
            password_hash=hash_password(password),
            role=role.value,
            languages=",".join(languages),
            max_chats=max_chats,
            disabled=False,
            created_at=_naive(now),
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise UsernameTaken(f"username {username!r} is taken") from None
        return account_of(row)

    async def get(self, staff_id: int) -> StaffAccount | None:
        async with self._sessions() as session:
            row = await session.get(Staff, staff_id)
            return account_of(row) if row else None

    async def by_username(self, username: str) -> StaffAccount | None:
        async with self._sessions() as session:
            row = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
            return account_of(row) if row else None

    async def list(self) -> list[StaffAccount]:
        async with self._sessions() as session:
            return [account_of(r) for r in await session.scalars(select(Staff).order_by(Staff.username))]

    async def verify(self, username: str, password: str) -> StaffAccount | None:
        """Return the account if the password is right and it is enabled."""
        async with self._sessions() as session:
            row = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
        try:
            _hasher.verify(row.password_hash if row else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            async with self._sessions.begin() as session:
                stored = await session.get(Staff, row.id)
                if stored is not None:
                    stored.password_hash = _hasher.hash(password)
        return account_of(row)

    async def update(
        self,
        staff_id: int,
        *,
        display_name: str | None = None,
        alias: str | None = None,
        role: Role | None = None,
        languages: tuple[str, ...] | None = None,
        max_chats: int | None = None,
    ) -> StaffAccount:
        """Change the given fields of an account; the last enabled admin stays an admin."""
        async with self._sessions.begin() as session:
            if role is not None and role is not Role.ADMIN:
                await _lock_admins(session)
            row = await session.get(Staff, staff_id)
            if row is None:
                raise NoSuchStaff(f"no staff member {staff_id}")
            if display_name is not None:
                row.display_name = _check_display_name(display_name) or row.username
            if alias is not None:
                row.alias = _check_alias(alias)
            if max_chats is not None:
                row.max_chats = _check_max_chats(max_chats)
            if languages is not None:
                row.languages = ",".join(languages)
            if role is not None and role.value != row.role:
                if role is Role.ADMIN:
                    row.role = role.value
                else:
                    await _guarded_update(session, row, role=role.value)
            return account_of(row)

    async def set_disabled(self, username: str, disabled: bool) -> StaffAccount:
        """Disable (ending every login session) or enable an account."""
        async with self._sessions.begin() as session:
            if disabled:
                await _lock_admins(session)
            row = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
            if row is None:
                raise NoSuchStaff(f"no staff member {username!r}")
            if disabled:
                await _guarded_update(session, row, disabled=True)
                await end_access(session, row.id)
            else:
                row.disabled = False
            return account_of(row)

    async def reset_password(self, username: str, password: str) -> StaffAccount:
        password_hash = hash_password(password)
        async with self._sessions.begin() as session:
            row = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
            if row is None:
                raise NoSuchStaff(f"no staff member {username!r}")
            row.password_hash = password_hash
            # A reset password logs out every session of that account and revokes its calendar feeds.
            await end_access(session, row.id)
            return account_of(row)


class LoginSessions:
    """Server-side login sessions; the cookie holds a random token."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], secret: bytes, lifetime: timedelta) -> None:
        self._sessions = sessions
        self._secret = secret
        self._lifetime = lifetime

    def _hash(self, token: str) -> str:
        # surrogatepass: aiohttp decodes a cookie's undecodable bytes to lone surrogates.
        return hmac.new(self._secret, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def session_key(self, token: str) -> str:
        """The session's id: the keyed hash its row is stored under (never the token itself)."""
        return self._hash(token)

    async def still_valid(self, tokens: Iterable[str], now: datetime) -> set[str]:
        """The tokens among these whose session is unexpired and whose account is enabled (one query)."""
        by_hash = {self._hash(token): token for token in tokens if token and len(token) <= 128}
        if not by_hash:
            return set()
        query = (
            select(AuthSession.token_hash)
            .join(Staff, Staff.id == AuthSession.staff_id)
            .where(
                AuthSession.token_hash.in_(list(by_hash)),
                AuthSession.expires_at > _naive(now),
                Staff.disabled.is_(False),
            )
        )
        async with self._sessions() as session:
            return {by_hash[key] for key in await session.scalars(query)}

    async def create(self, staff_id: int, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            session.add(
                AuthSession(
                    token_hash=self._hash(token),
                    staff_id=staff_id,
                    created_at=_naive(now),
                    expires_at=_naive(now + self._lifetime),
                )
            )
            await session.execute(delete(AuthSession).where(AuthSession.expires_at < _naive(now)))
        return token

    async def staff_for(self, token: str | None, now: datetime) -> StaffAccount | None:
        """Return the enabled account a valid, unexpired token belongs to."""
        if not token or len(token) > 128:
            return None
        async with self._sessions() as session:
            row = await session.get(AuthSession, self._hash(token))
            if row is None or row.expires_at <= _naive(now):
                return None
            staff = await session.get(Staff, row.staff_id)
            if staff is None or staff.disabled:
                return None
            return account_of(staff)

    async def revoke(self, token: str | None) -> None:
        if not token or len(token) > 128:
            return
        async with self._sessions.begin() as session:
            await session.execute(delete(AuthSession).where(AuthSession.token_hash == self._hash(token)))
