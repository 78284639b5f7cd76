"""Staff accounts, argon2id password hashes and login sessions."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import pyotp
from sqlalchemy import ColumnElement, CursorResult, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from chat_server.db import AuthSession, RecoveryCode, Staff
from chat_server.passwords import (
    PasswordPolicy,
    PasswordRefused,
    PasswordWork,
    check_password,
    needs_rehash,
)
from chat_server.sealing import SealBroken, SecretSealer, totp_owner
from roster.models import CalendarFeedRow

log = logging.getLogger(__name__)

MAX_CHATS_LIMIT = 50
# How long a sign-in that still has a step to do (a code, a password change, enrolment) may take.
PARTIAL_SESSION_MINUTES = 15
RECOVERY_CODES = 10
TOTP_ISSUER = "dutychat"


class Role(StrEnum):
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"
    # A peer leader: moderates the group sessions they sign up for; no reports, no one-to-one chats.
    PEER = "peer"

    @property
    def sees_reports(self) -> bool:
        return self in (Role.MANAGER, Role.ADMIN)


class AccountError(ValueError):
    """A staff account operation was refused; the message says why."""


class WeakPassword(AccountError):
    """The password does not meet the password policy; `reason` is PasswordRefused's code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class WrongPassword(AccountError):
    """The current password given to confirm a change is wrong."""


class TotpError(AccountError):
    """A TOTP enrolment step is out of order (nothing to confirm, nothing to disable)."""


class SessionState(StrEnum):
    """Where a login session stands; only SIGNED_IN may use the API beyond the sign-in steps."""

    SIGNED_IN = "signed_in"
    TOTP_REQUIRED = "totp_required"
    PASSWORD_CHANGE_REQUIRED = "password_change_required"
    TOTP_ENROLMENT_REQUIRED = "totp_enrolment_required"


class UsernameTaken(AccountError):
    """Another account already has this user name."""


class NoSuchStaff(AccountError):
    """No account with this user name or id."""


class LastAdmin(AccountError):
    """The change would leave no enabled admin account."""


def generate_password(min_length: int = 16) -> str:
    """A random temporary password (at least 16 URL-safe characters, 96 bits)."""
    return secrets.token_urlsafe(max(12, -(-min_length * 3 // 4)))


def _code_hash(code: str) -> str:
    # Recovery codes are random (80 bits): a plain SHA-256 cannot be reversed by guessing.
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def _new_recovery_code() -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 symbols, none that look alike: 80 bits
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}"


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
    password_temporary: bool = False
    totp_enabled: bool = False

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
        password_temporary=row.password_temporary,
        totp_enabled=row.totp_secret is not None,
    )


def state_after_password(account: StaffAccount, totp_roles: Sequence[str]) -> SessionState:
    """The step a sign-in goes to once the password was right."""
    if account.totp_enabled:
        return SessionState.TOTP_REQUIRED
    return state_after_second_factor(account, totp_roles)


def state_after_second_factor(account: StaffAccount, totp_roles: Sequence[str]) -> SessionState:
    """The step after the second factor (or after a step that followed it)."""
    if account.password_temporary:
        return SessionState.PASSWORD_CHANGE_REQUIRED
    if account.role.value in totp_roles and not account.totp_enabled:
        return SessionState.TOTP_ENROLMENT_REQUIRED
    return SessionState.SIGNED_IN


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
    """Staff accounts; every password goes through the policy and is hashed in the argon2 pool."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], work: PasswordWork, policy: PasswordPolicy,
        sealer: SecretSealer, temporary_lifetime: timedelta = timedelta(hours=72),
    ) -> None:
        self._sessions = sessions
        self._work = work
        self._policy = policy
        # TOTP secrets are stored sealed (chat_server/sealing.py), never as they are.
        self._sealer = sealer
        self._temporary_lifetime = temporary_lifetime

    @property
    def policy(self) -> PasswordPolicy:
        return self._policy

    async def _hash_new(self, password: str, context: tuple[str, ...]) -> str:
        try:
            check_password(password, self._policy, context)
        except PasswordRefused as refused:
            raise WeakPassword(refused.reason, str(refused)) from None
        return await self._work.hash(password)

    def _password_fields(self, password_hash: str, temporary: bool, now: datetime) -> dict[str, object]:
        return {
            "password_hash": password_hash,
            "password_temporary": temporary,
            "password_expires_at": _naive(now + self._temporary_lifetime) if temporary else None,
        }

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
        temporary: bool = False,
        now: datetime,
    ) -> StaffAccount:
        """Add an account; a temporary password must be changed at first sign-in and expires."""
        username = username.strip().lower()
        bare = username.replace("_", "").replace("-", "").replace(".", "")
        if not username or len(username) > 64 or not bare.isalnum():
            raise AccountError("username must be 1-64 letters, digits, '.', '_' or '-'")
        alias = _check_alias(alias)
        _check_max_chats(max_chats)
        display_name = _check_display_name(display_name) or username
        password_hash = await self._hash_new(password, (username, alias, display_name))
        row = Staff(
            username=username,
            display_name=display_name,
            alias=alias,
            **self._password_fields(password_hash, temporary, now),
            role=role.value,
            languages=",".join(languages),
            max_chats=max_chats,
            disabled=False,
            created_at=_naive(now),
            totp_last_step=None,
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

    async def verify(self, username: str, password: str, now: datetime) -> StaffAccount | None:
        """Return the account if the password is right, unexpired and the account enabled.

        Raises PasswordWorkBusy when the argon2 pool is full.
        """
        async with self._sessions() as session:
            row = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
        if not await self._work.verify(row.password_hash if row else None, password):
            return None
        if row is None or row.disabled:
            return None
        if row.password_temporary and row.password_expires_at is not None and row.password_expires_at <= _naive(now):
            return None
        if needs_rehash(row.password_hash):
            new_hash = await self._work.hash(password)
            async with self._sessions.begin() as session:
                stored = await session.get(Staff, row.id)
                if stored is not None and stored.password_hash == row.password_hash:
                    stored.password_hash = new_hash
        return account_of(row)

    async def check_password(self, staff_id: int, password: str) -> bool:
        """Whether password is the account's current one (in the pool; may raise PasswordWorkBusy)."""
        async with self._sessions() as session:
            row = await session.get(Staff, staff_id)
        return await self._work.verify(row.password_hash if row else None, password) and row is not None

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

    async def reset_password(
        self, username: str, password: str, *, temporary: bool, now: datetime
    ) -> StaffAccount:
        """Set a new password (a manager's is temporary) and end every session of the account."""
        async with self._sessions() as session:
            found = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
        if found is None:
            raise NoSuchStaff(f"no staff member {username!r}")
        password_hash = await self._hash_new(password, (found.username, found.alias, found.display_name))
        async with self._sessions.begin() as session:
            row = await session.get(Staff, found.id)
            if row is None:
                raise NoSuchStaff(f"no staff member {username!r}")
            for name, value in self._password_fields(password_hash, temporary, now).items():
                setattr(row, name, value)
            # A reset password logs out every session of that account and revokes its calendar feeds.
            await end_access(session, row.id)
            return account_of(row)

    async def change_own_password(self, staff_id: int, current: str, new: str, now: datetime) -> StaffAccount:
        """Change one's own password (the current one confirms it); the new one is not temporary.

        The caller ends the account's other sessions (LoginSessions.end_others).
        """
        async with self._sessions() as session:
            found = await session.get(Staff, staff_id)
        if found is None:
            raise NoSuchStaff(f"no staff member {staff_id}")
        if not await self._work.verify(found.password_hash, current):
            raise WrongPassword("the current password is wrong")
        if hmac.compare_digest(current.encode(), new.encode()):
            raise WeakPassword("unchanged", "The new password must differ from the current one.")
        password_hash = await self._hash_new(new, (found.username, found.alias, found.display_name))
        async with self._sessions.begin() as session:
            row = await session.get(Staff, staff_id)
            if row is None:
                raise NoSuchStaff(f"no staff member {staff_id}")
            for name, value in self._password_fields(password_hash, False, now).items():
                setattr(row, name, value)
            return account_of(row)

    # ---- TOTP second factor
    async def totp_begin(self, staff_id: int) -> str:
        """Make a new secret to enrol (pending until a code confirms it); answer it."""
        secret = pyotp.random_base32()
        async with self._sessions.begin() as session:
            row = await session.get(Staff, staff_id)
            if row is None:
                raise NoSuchStaff(f"no staff member {staff_id}")
            if row.totp_secret is not None:
                raise TotpError("a second factor is already set up; disable it first")
            row.totp_pending_secret = self._sealer.seal(secret, totp_owner(staff_id))
        return secret

    def _open_totp(self, sealed: str, staff_id: int) -> str | None:
        try:
            return self._sealer.open(sealed, totp_owner(staff_id))
        except SealBroken:
            # Another auth.secret_key than the one it was sealed with (docs/deploy.md): codes cannot match;
            # recovery codes still work, and an admin can reset the second factor.
            log.warning("a second factor does not open with this secret key", extra={"event": "auth.totp_unsealable"})
            return None

    async def totp_confirm(self, staff_id: int, code: str, now: datetime) -> tuple[str, ...] | None:
        """Turn the pending secret on if code matches it; answer the new recovery codes (None: wrong code)."""
        async with self._sessions.begin() as session:
            row = await session.get(Staff, staff_id)
            if row is None:
                raise NoSuchStaff(f"no staff member {staff_id}")
            if row.totp_secret is not None or row.totp_pending_secret is None:
                raise TotpError("start the set-up first")
            pending = self._open_totp(row.totp_pending_secret, staff_id)
            step = None if pending is None else _matching_step(pending, code, now)
            if step is None:
                return None
            row.totp_secret, row.totp_pending_secret, row.totp_last_step = row.totp_pending_secret, None, step
            codes = tuple(_new_recovery_code() for _ in range(RECOVERY_CODES))
            await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
            session.add_all(RecoveryCode(code_hash=_code_hash(c), staff_id=staff_id) for c in codes)
            return codes

    async def totp_check(self, staff_id: int, code: str, now: datetime) -> bool:
        """Accept a current code once (a replayed or older step is refused), or a recovery code once."""
        async with self._sessions.begin() as session:
            row = await session.get(Staff, staff_id)
            if row is None or row.totp_secret is None:
                return False
            secret = self._open_totp(row.totp_secret, staff_id)
            step = None if secret is None else _matching_step(secret, code, now)
            if step is not None:
                result = await session.execute(
                    update(Staff)
                    .where(Staff.id == staff_id, or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step))
                    .values(totp_last_step=step)
                    .execution_options(synchronize_session=False)
                )
                return cast(CursorResult[Any], result).rowcount == 1
            used = await session.execute(
                delete(RecoveryCode).where(
                    RecoveryCode.staff_id == staff_id, RecoveryCode.code_hash == _code_hash(code)
                )
            )
            return cast(CursorResult[Any], used).rowcount == 1

    async def recovery_codes_left(self, staff_id: int) -> int:
        async with self._sessions() as session:
            rows = await session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.staff_id == staff_id))
            return len(rows.all())

    async def reset_sessions(self, staff_id: int) -> None:
        """End every login session of an account (the command line's resets)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(AuthSession).where(AuthSession.staff_id == staff_id))

    async def totp_disable(self, staff_id: int) -> StaffAccount:
        """Remove the second factor and its recovery codes (own, with the password; or an admin's reset)."""
        async with self._sessions.begin() as session:
            row = await session.get(Staff, staff_id)
            if row is None:
                raise NoSuchStaff(f"no staff member {staff_id}")
            row.totp_secret = row.totp_pending_secret = None
            row.totp_last_step = None
            await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
            return account_of(row)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (of now, or one either side for clock drift) whose TOTP code is `code`."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def totp_uri(secret: str, username: str, issuer: str = TOTP_ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


@dataclass(frozen=True, slots=True)
class LoginSession:
    """A login session as its owner sees it (never the token or its hash)."""

    id: str
    account: StaffAccount
    state: SessionState
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _aware(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC)


class LoginSessions:
    """Server-side login sessions; the cookie holds a random token.

    A session is SIGNED_IN or still at a sign-in step (SessionState); only a
    signed-in one is a staff member for `staff_for`. A session ends at its
    expiry, or after `idle` without activity (any `staff_for`/`session_for`, or
    `touch` for the events of its staff sockets).
    """

    # last_seen_at is written at most this often: a request is not a database write.
    TOUCH_INTERVAL = timedelta(seconds=30)

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], secret: bytes, lifetime: timedelta,
        idle: timedelta | None = None,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._lifetime = lifetime
        self._idle = idle

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

    def _ends_at(self, state: SessionState, now: datetime) -> datetime:
        if state is SessionState.SIGNED_IN:
            return now + self._lifetime
        return now + min(self._lifetime, timedelta(minutes=PARTIAL_SESSION_MINUTES))

    async def create(self, staff_id: int, now: datetime, state: SessionState = SessionState.SIGNED_IN) -> str:
        token = secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            session.add(
                AuthSession(
                    token_hash=self._hash(token),
                    public_id=secrets.token_hex(8),
                    staff_id=staff_id,
                    state=state.value,
                    created_at=_naive(now),
                    last_seen_at=_naive(now),
                    expires_at=_naive(self._ends_at(state, now)),
                )
            )
            await session.execute(delete(AuthSession).where(AuthSession.expires_at < _naive(now)))
        return token

    def _live(self, row: AuthSession, now: datetime) -> bool:
        if row.expires_at <= _naive(now):
            return False
        return self._idle is None or row.last_seen_at + self._idle > _naive(now)

    async def session_for(self, token: str | None, now: datetime) -> LoginSession | None:
        """Return the live session of a token in any state (and count it as activity)."""
        if not token or len(token) > 128:
            return None
        token_hash = self._hash(token)
        async with self._sessions() as session:
            row = await session.get(AuthSession, token_hash)
            if row is None:
                return None
            if not self._live(row, now):
                await session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))
                await session.commit()
                return None
            staff = await session.get(Staff, row.staff_id)
            if staff is None or staff.disabled:
                return None
            if _naive(now) - row.last_seen_at >= self.TOUCH_INTERVAL:
                row.last_seen_at = _naive(now)
                await session.commit()
            return LoginSession(
                row.public_id, account_of(staff), SessionState(row.state), _aware(row.created_at),
                _aware(row.last_seen_at), _aware(row.expires_at),
            )

    async def touch(self, token: str, now: datetime) -> bool:
        """Count activity of a signed-in, unexpired session through its open staff socket; one UPDATE.

        The socket has been connected and authenticated all along, so its session is
        not idle while it is used. False when the session has ended (logged out,
        expired, revoked, ended for idleness by a request): then the socket goes too.
        """
        if not token or len(token) > 128:
            return False
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(AuthSession)
                .where(AuthSession.token_hash == self._hash(token),
                       AuthSession.state == SessionState.SIGNED_IN.value,
                       AuthSession.expires_at > _naive(now))
                .values(last_seen_at=_naive(now))
                .execution_options(synchronize_session=False)
            )
            return cast(CursorResult[Any], result).rowcount == 1

    async def staff_for(self, token: str | None, now: datetime) -> StaffAccount | None:
        """Return the enabled account a valid, unexpired, signed-in token belongs to."""
        found = await self.session_for(token, now)
        if found is None or found.state is not SessionState.SIGNED_IN:
            return None
        return found.account

    async def advance(self, token: str, state: SessionState, now: datetime) -> None:
        """Move a session to its next sign-in step (signed in: its full lifetime starts)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(AuthSession)
                .where(AuthSession.token_hash == self._hash(token))
                .values(state=state.value, last_seen_at=_naive(now), expires_at=_naive(self._ends_at(state, now)))
            )

    async def of_staff(self, staff_id: int, now: datetime) -> list[LoginSession]:
        """The live sessions of an account, newest first."""
        async with self._sessions() as session:
            staff = await session.get(Staff, staff_id)
            rows = await session.scalars(
                select(AuthSession).where(AuthSession.staff_id == staff_id).order_by(AuthSession.created_at.desc())
            )
            if staff is None:
                return []
            account = account_of(staff)
            return [
                LoginSession(
                    r.public_id, account, SessionState(r.state), _aware(r.created_at), _aware(r.last_seen_at),
                    _aware(r.expires_at),
                )
                for r in rows
                if self._live(r, now)
            ]

    async def end(self, staff_id: int, session_id: str) -> bool:
        """End one session of an account by its public id; False when there is none."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(AuthSession).where(AuthSession.staff_id == staff_id, AuthSession.public_id == session_id)
            )
            return cast(CursorResult[Any], result).rowcount == 1

    async def end_others(self, staff_id: int, token: str | None) -> int:
        """End every session of an account except the one of token; answer how many ended."""
        keep = self._hash(token) if token and len(token) <= 128 else ""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(AuthSession).where(AuthSession.staff_id == staff_id, AuthSession.token_hash != keep)
            )
            return cast(CursorResult[Any], result).rowcount

    async def revoke(self, token: str | None) -> None:
        if not token or len(token) > 128:
            return
        async with self._sessions.begin() as session:
            await session.execute(delete(AuthSession).where(AuthSession.token_hash == self._hash(token)))
