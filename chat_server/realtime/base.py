"""The common edge of both namespaces: dispatch table, validation, rate limit, errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from chat_server import errors
from chat_server.errors import ChatError

log = logging.getLogger(__name__)

Handler = Callable[[str, Any], Awaitable[Mapping[str, Any] | None]]


class TokenBucket:
    """Allow `rate` events per second on average, `burst` at once."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# Names python-socketio and its client reserve for their own use (BaseServer.reserved_events,
# BaseClient.reserved_events, and "message" of the legacy send()), plus the catch-all "*". A client
# may send an event with any of them; it is answered unknown_event like any other undefined name,
# after the rate limit, and never reaches on_connect or on_disconnect.
RESERVED_EVENTS = frozenset(
    {*socketio.base_server.BaseServer.reserved_events, *socketio.base_client.BaseClient.reserved_events}
    | {"connect", "disconnect", "connect_error", "message", "__disconnect_final", "*"}
)


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # python-socketio ships no type hints
    """Routes `noun:verb` events through a table of (schema, handler)."""

    def __init__(self, namespace: str, rate: float, burst: int) -> None:
        super().__init__(namespace)
        self._rate = rate
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self.events: dict[str, tuple[type[BaseModel], Handler]] = {}

    def event(self, name: str, schema: type[BaseModel], handler: Handler) -> None:
        self.events[name] = (schema, handler)

    def forget(self, sid: str) -> None:
        self._buckets.pop(sid, None)

    def _from_framework(self, event: str, args: tuple[Any, ...]) -> bool:
        """Whether a connect or disconnect is the server's own, not an event a client sent.

        The server calls connect with the very environ dict of the handshake (a client's
        payload is a new dict) and disconnect while the socket is marked as leaving (a
        client's events are dispatched only while it is connected).
        """
        if not args or not isinstance(args[0], str):
            return False
        sid, manager = args[0], self.server.manager
        if event == "connect":
            eio_sid = manager.eio_sid_from_sid(sid, self.namespace)
            return len(args) >= 2 and eio_sid is not None and args[1] is self.server.environ.get(eio_sid)
        if event == "disconnect":
            return not manager.is_connected(sid, self.namespace)
        return False

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect") and self._from_framework(event, args):
            return await super().trigger_event(event, *args)
        sid, payload = args[0], args[1:]
        bucket = self._buckets.get(sid)
        if bucket is None:
            bucket = self._buckets[sid] = TokenBucket(self._rate, self._burst)
        if not bucket.take():
            return error(errors.RATE_LIMITED, "Too many events; slow down.")
        # A client may send any JSON value as the event name (a list is not even hashable).
        entry = self.events.get(event) if isinstance(event, str) else None
        if entry is None:
            return error(errors.UNKNOWN_EVENT, "This event is not defined for this namespace.")
        schema, handler = entry
        if len(payload) != 1 or not isinstance(payload[0], dict):
            return error(errors.INVALID_PAYLOAD, "The event takes exactly one JSON object.")
        try:
            parsed = schema.model_validate(payload[0])
        except ValidationError as exc:
            # Name the fields only: the input values may be message text.
            fields = sorted({".".join(str(p) for p in e["loc"]) or "payload" for e in exc.errors()})
            return error(errors.INVALID_PAYLOAD, f"Invalid or unexpected fields: {', '.join(fields)}.")
        try:
            result = await handler(sid, parsed)
        except ChatError as exc:
            return exc.as_ack()
        except Exception:
            log.exception("event handler failed", extra={"event": event, "namespace": self.namespace})
            return error(errors.INTERNAL_ERROR, "Unexpected server error.")
        return {"ok": True, **(result or {})}
