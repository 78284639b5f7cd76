"""Password policy and argon2id work off the event loop.

Verifying an argon2id hash takes a few hundred milliseconds of one core. Done on
the event loop, a flood of wrong passwords stalls every chat of the worker, so
hashing and verification run in a small thread pool (argon2-cffi releases the
GIL while it works), with a bounded number of requests allowed to wait for it:
beyond that, a login is refused at once with `too_many_attempts` instead of
queueing without end.

Off the event loop is not enough on a small machine: one argon2id check runs
its four lanes in threads of its own and fills both cores of a two-core host,
so during a login flood the event loop waited for the CPU (chat latency rose
from 1.3 ms to 94 ms at the median in `make bench`'s login-flood scenario).
The pool's threads therefore run at a lower priority (`ARGON2_NICE`; on Linux
nice is per thread and argon2's lane threads inherit it): the chat wins the
CPU, and logins take longer only while the machine is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MAX_PASSWORD_LENGTH: Final = 1024  # longer ones are refused at login anyway
# How much lower than the event loop the argon2 threads run (nice, 0-19).
ARGON2_NICE: Final = 10
# zxcvbn only looks at this many characters: beyond, it is slow and adds nothing.
_STRENGTH_PREFIX: Final = 100

_T = TypeVar("_T")

# argon2-cffi's defaults are RFC 9106's low-memory argon2id profile.
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """What a new password must meet (settings `auth.min_password_length`, `auth.min_password_score`)."""

    min_length: int = 12
    # zxcvbn's score, 0..4: 3 means "safely unguessable" (about 10^8 guesses);
    # every password in its list of the 30,000 most common ones scores lower.
    min_score: int = 3


class PasswordRefused(ValueError):
    """The password does not meet the policy; `reason` is a stable code, the message names no part of it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_password(password: str, policy: PasswordPolicy, context: tuple[str, ...] = ()) -> None:
    """Refuse a password that is too short, too long, common, or built from the account's own names.

    `context` holds the user name, alias and display name: a password made from
    them is among the first an attacker tries.
    """
    if len(password) < policy.min_length:
        raise PasswordRefused("too_short", f"The password must be at least {policy.min_length} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRefused("too_long", f"The password must be at most {MAX_PASSWORD_LENGTH} characters.")
    inputs = [word for word in context if word]
    if zxcvbn(password[:_STRENGTH_PREFIX], user_inputs=inputs)["score"] < policy.min_score:
        raise PasswordRefused(
            "too_common",
            "The password is too easy to guess: it is a common or breached password, or built from "
            "names, words or patterns. Use a longer phrase of unrelated words.",
        )


class PasswordWorkBusy(RuntimeError):
    """Too many password checks are already waiting: refuse instead of queueing."""


class PasswordWork:
    """Hash and verify argon2id passwords in a bounded pool off the event loop."""

    def __init__(self, threads: int = 1, max_waiting: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2", initializer=_lower_priority)
        self._max_in_pool = threads + max_waiting
        self._in_pool = 0

    async def _run(self, work: Callable[[], _T]) -> _T:
        if self._in_pool >= self._max_in_pool:
            raise PasswordWorkBusy
        self._in_pool += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            self._in_pool -= 1

    @property
    def waiting(self) -> int:
        """How many checks are running or waiting in the pool."""
        return self._in_pool

    async def hash(self, password: str) -> str:
        """Hash a password (already checked against the policy)."""
        return await self._run(functools.partial(_hasher.hash, password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Tell whether password matches; None (an unknown user) costs the same time and is False."""
        return await self._run(functools.partial(_verify, password_hash, password))

    def close(self) -> None:
        """Finish the running checks and stop the threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    """Lower this pool thread's CPU priority (and so its argon2 lane threads'); the event loop keeps its own."""
    # Linux applies PRIO_PROCESS to the one thread whose id is given; elsewhere this may do nothing.
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + ARGON2_NICE))


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (quick: no hashing)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps unknown user names as slow as wrong passwords."""
    return _hasher.hash("not a password, only a cost")


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash or _dummy_hash(), password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
