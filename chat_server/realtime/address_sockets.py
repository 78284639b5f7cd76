"""Open sockets per address hash on one worker: the cap of /visitor and /group."""

from __future__ import annotations

import socketio

from chat_server import errors


class AddressSockets:
    """Sockets per address on this worker (`limits.sockets_per_address`), for /visitor and /group alike.

    Counted under the first (today's) of the socket's address hashes; the hashes stay
    with the socket for what it starts (chats, group places) and go when it disconnects.
    """

    def __init__(self) -> None:
        self._count: dict[str, int] = {}
        self._hashes_of: dict[str, list[str]] = {}

    def admit(self, sid: str, hashes: list[str], limit: int) -> None:
        """Count the socket, or refuse it (`too_many_connections`) when its address holds `limit` already."""
        if not hashes:
            return
        today = hashes[0]
        if self._count.get(today, 0) >= limit:
            raise socketio.exceptions.ConnectionRefusedError(
                errors.TOO_MANY_CONNECTIONS,
                {"code": errors.TOO_MANY_CONNECTIONS, "message": "Too many connections from here at once."},
            )
        self._count[today] = self._count.get(today, 0) + 1
        self._hashes_of[sid] = hashes

    def hashes(self, sid: str) -> list[str]:
        return self._hashes_of.get(sid, [])

    def release(self, sid: str) -> None:
        hashes = self._hashes_of.pop(sid, None)
        if hashes:
            left = self._count.get(hashes[0], 0) - 1
            if left > 0:
                self._count[hashes[0]] = left
            else:
                self._count.pop(hashes[0], None)
