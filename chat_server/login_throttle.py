"""Login throttling per user name and per address hash, kept in the chat store so it holds across workers.

Keys are opaque: a SHA-256 of the normalised user name (any string a client
sends, so it is bounded and never a key name of its own), and the keyed,
daily-rotating hash of the client's address group (chat_server.privacy).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from chat_server.settings import AuthSettings
from chat_server.store.base import ChatStore


class LoginThrottle:
    def __init__(self, store: ChatStore, settings: AuthSettings) -> None:
        self._store = store
        self._settings = settings

    @staticmethod
    def _user(username: str) -> str:
        return "user:" + hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()

    def _keys(self, username: str, address_hash: str | None) -> tuple[list[str], list[int]]:
        keys, free = [self._user(username)], [self._settings.login_free_attempts_per_user]
        if address_hash is not None:
            keys.append("addr:" + address_hash)
            free.append(self._settings.login_free_attempts_per_address)
        return keys, free

    async def admit(self, username: str, address_hash: str | None, now: datetime) -> float:
        """Count one attempt (password or second-factor code); >0: refused, wait this many seconds."""
        keys, free = self._keys(username, address_hash)
        s = self._settings
        return await self._store.login_attempt(
            keys, free, now, s.login_backoff_base_seconds, s.login_backoff_max_seconds,
            s.login_attempts_forget_seconds,
        )

    async def succeeded(self, username: str, address_hash: str | None) -> None:
        """The user name starts afresh; the address gets its attempt back (a shared office signs in daily)."""
        keys, _ = self._keys(username, address_hash)
        await self._store.login_forget(keys[:1], keys[1:])

    async def not_counted(self, username: str, address_hash: str | None) -> None:
        """Give the attempt back (the server was too busy to check it)."""
        keys, _ = self._keys(username, address_hash)
        await self._store.login_forget([], keys)
