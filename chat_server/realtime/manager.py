"""python-socketio's Redis manager with bounded, reused connections.

Measured on this kind of machine, the stock AsyncRedisManager builds a new
Redis client (and pool) on every publish error without closing the old one,
so under overload the connection count grows into the thousands, and its
listener backs off for up to 60 s after an outage. Here the publisher uses one
blocking pool of fixed size (overload waits instead of opening connections),
the listener has one dedicated connection that is closed before it is
replaced, and the back-off is capped at a second. Both follow a Sentinel
failover by themselves: a reconnect asks the Sentinels for the primary. Delivery never depends on
pub/sub alone: every message is in the chat store first (see protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis
from engineio import packet as eio_packet
from redis.exceptions import RedisError
from socketio import AsyncManager, AsyncRedisManager, packet

from chat_server.store.redis_pool import bounded_pool

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 1.0


class LocalEmitManager(AsyncManager):  # type: ignore[misc]  # python-socketio ships no type hints
    """python-socketio's manager, with an emit to a room of one socket sent without a task.

    The stock emit encodes the packet once, then starts one task per socket of the room and waits
    for all of them: for a chat's visitor room or a member's one console that is a task, its
    scheduling and an `asyncio.wait` per copy of every message, about a tenth of a worker's time
    at saturation (py-spy, docs/performance.md). With one recipient the send is awaited directly
    (it only queues the packet on the socket); rooms of several sockets still get a task each, and
    emits with callbacks go the stock way. What goes on the wire is the same.
    """

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        targets = [eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skip]
        if not targets:
            return
        if isinstance(data, tuple):
            args = list(data)
        else:
            args = [data] if data is not None else []
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        frames = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in parts]
        if len(targets) == 1:
            try:
                for frame in frames:
                    await self.server._send_eio_packet(targets[0], frame)
            except Exception as exc:  # as asyncio.wait leaves a failed send: the others go on
                log.warning("emit to a socket failed", extra={"event": type(exc).__name__})
            return
        tasks = [asyncio.create_task(self.server._send_eio_packet(t, frame)) for t in targets for frame in frames]
        await asyncio.wait(tasks)


class BoundedRedisManager(AsyncRedisManager, LocalEmitManager):  # type: ignore[misc]  # python-socketio ships no type hints
    def __init__(self, url: str, channel: str = "dutychat", max_connections: int = 20, **kwargs: Any) -> None:
        super().__init__(url=url, channel=channel, logger=False, **kwargs)
        self.max_connections = max_connections
        self._publisher: aioredis.Redis | None = None
        # Set once the listener is subscribed: from then on this worker hears every broadcast.
        self.subscribed = asyncio.Event()
        # This worker's id (the chat store's, ChatService.worker_id), set before the listener starts:
        # besides the broadcast channel it listens on worker_channel(worker_id), where emits meant
        # for its sockets alone arrive (emit_together with workers).
        self.worker_id: str | None = None

    def worker_channel(self, worker_id: str) -> str:
        return f"{self.channel}:w:{worker_id}"

    def _client(self) -> aioredis.Redis:
        # A redis+sentinel:// URL gives a pool whose new connections go to the current primary.
        pool = bounded_pool(self.redis_url, max_connections=self.max_connections, timeout=5)
        # from_pool: closing the client also closes its pool.
        return aioredis.Redis.from_pool(pool)

    async def _publish(self, data: Any, channel: str | None = None) -> Any:
        if self._publisher is None:
            self._publisher = self._client()
        payload = self.json.dumps(data)
        for attempt in (1, 2):
            try:
                return await self._publisher.publish(channel or self.channel, payload)
            except (RedisError, OSError) as exc:
                # The pool reconnects by itself; never build a second pool.
                log.warning("publish to Redis failed", extra={"event": type(exc).__name__, "count": attempt})
        return None

    async def emit_together(self, emits: Sequence[tuple[str, Any, str, str]],
                            workers: frozenset[str] | None = None) -> None:
        """Several emits (event, JSON payload, namespace, room; no callbacks) in one publish.

        Each is delivered to this worker's sockets in the given order first, as `emit` does, then
        the other workers get all of them in one pub/sub message: the first emit's own fields (so a
        worker that knows only python-socketio's format still delivers that one) with the rest under
        "then", handled in order by `_handle_emit` below. One message of a chat (its visitor copy and
        its staff copy) thus costs one Redis publish instead of two, and the two copies reach
        another worker in the order they were sent here.

        `workers`: the workers that hold the rooms' sockets (the chat store counts them as it
        appends): the message is published on each other one's own channel only, and not at all
        when they are all here, so a worker decodes only what its sockets get and adding workers
        does not add work to each. None (not known): on the broadcast channel, to every worker.
        A socket that moves to another worker meanwhile misses the push and fetches the message
        by its seq, as after any gap (docs/protocol.md).
        """
        messages = [
            {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": namespace,
             "room": room, "skip_sid": None, "callback": None, "host_id": self.host_id}
            for event, data, namespace, room in emits
        ]
        if not messages:
            return
        for message in messages:
            await super()._handle_emit(message)
        first, *rest = messages
        together = {**first, "then": rest} if rest else first
        if workers is None or self.worker_id is None:
            await self._publish(together)
            return
        for worker in sorted(workers - {self.worker_id}):
            await self._publish(together, self.worker_channel(worker))

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        await super()._handle_emit(message)
        for more in message.get("then") or ():
            if isinstance(more, dict) and more.get("method") == "emit":
                await super()._handle_emit(more)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        backoff = 0.1
        while True:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._channels())
                self.redis, self.pubsub = client, pubsub
                self.subscribed.set()
                backoff = 0.1
                async for message in pubsub.listen():
                    yield message
            except (RedisError, OSError) as exc:
                log.warning("Redis listener lost; reconnecting", extra={"event": type(exc).__name__})
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)

    def _channels(self) -> list[str]:
        return [self.channel] + ([self.worker_channel(self.worker_id)] if self.worker_id else [])

    async def _listen(self) -> AsyncIterator[Any]:
        # python-socketio's own keeps only the broadcast channel's messages.
        names = self._channels()
        channels = {*names, *(c.encode() for c in names)}
        async for message in self._redis_listen_with_retries():
            if message.get("type") == "message" and message.get("channel") in channels and "data" in message:
                yield message["data"]

    async def start_listening(self, timeout: float) -> bool:  # noqa: ASYNC109 - start-up waits a bounded time
        """Subscribe now rather than at the first connection (python-socketio's default).

        A worker that has no socket yet must still hear a broadcast meant for the next one
        (for example a staff member disabled just as their console reconnects to this worker).
        False if Redis did not answer within timeout; the listener keeps trying by itself.
        """
        if not self.server.manager_initialized:
            self.server.manager_initialized = True
            self.initialize()
        try:
            await asyncio.wait_for(self.subscribed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def disconnect_room(self, room: str, namespace: str) -> None:
        """Disconnect every socket in a room, on this worker and (through pub/sub) on the others."""
        message = {"method": "disconnect", "room": room, "namespace": namespace, "host_id": self.host_id}
        await self._handle_disconnect(message)
        await self._publish(message)

    async def _handle_disconnect(self, message: dict[str, Any]) -> None:
        room = message.get("room")
        if room is None:
            await super()._handle_disconnect(message)
            return
        await disconnect_local_room(self.server, room, message.get("namespace") or "/")

    async def close(self) -> None:
        """Stop the listener and close both connections."""
        listener = getattr(self, "thread", None)
        if isinstance(listener, asyncio.Task) and not listener.done():
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None


async def disconnect_local_room(server: Any, room: str, namespace: str) -> None:
    """Disconnect the sockets of a room that are connected to this worker."""
    sids = [sid for sid, _eio_sid in server.manager.get_participants(namespace, room)]
    for sid in sids:
        await server.disconnect(sid, namespace=namespace, ignore_queue=True)
