"""python-socketio's Redis manager with bounded, reused connections.

Measured on this kind of machine, the stock AsyncRedisManager builds a new
Redis client (and pool) on every publish error without closing the old one,
so under overload the connection count grows into the thousands, and its
listener backs off for up to 60 s after an outage. Here the publisher uses one
blocking pool of fixed size (overload waits instead of opening connections),
the listener has one dedicated connection that is closed before it is
replaced, and the back-off is capped at a second. Delivery never depends on
pub/sub alone: every message is in the chat store first (see protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from socketio import AsyncRedisManager

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 1.0


class BoundedRedisManager(AsyncRedisManager):
    def __init__(self, url: str, channel: str = "dutychat", max_connections: int = 20, **kwargs: Any) -> None:
        super().__init__(url=url, channel=channel, logger=False, **kwargs)
        self.max_connections = max_connections
        self._publisher: aioredis.Redis | None = None

    def _client(self) -> aioredis.Redis:
        pool = aioredis.BlockingConnectionPool.from_url(
            self.redis_url, max_connections=self.max_connections, timeout=5
        )
        # from_pool: closing the client also closes its pool.
        return aioredis.Redis.from_pool(pool)

    async def _publish(self, data: Any) -> Any:
        if self._publisher is None:
            self._publisher = self._client()
        payload = self.json.dumps(data)
        for attempt in (1, 2):
            try:
                return await self._publisher.publish(self.channel, payload)
            except (RedisError, OSError) as exc:
                # The pool reconnects by itself; never build a second pool.
                log.warning("publish to Redis failed", extra={"event": type(exc).__name__, "count": attempt})
        return None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        backoff = 0.1
        while True:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.redis, self.pubsub = client, pubsub
                backoff = 0.1
                async for message in pubsub.listen():
                    yield message
            except (RedisError, OSError) as exc:
                log.warning("Redis listener lost; reconnecting", extra={"event": type(exc).__name__})
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)

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
