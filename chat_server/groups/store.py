"""The group store: where a session's live state and message text live, and only while it runs.

One protocol, two backends that run the same pure commands of `groups.room`:
in process memory under a lock, or in Redis (shared by the workers) as one
WATCH/MULTI transaction per change that retries when another worker changed
the room meanwhile. A change that raises GroupError changes nothing.

Redis key layout, under the chat store's prefix P:

    P grooms            set     live group session ids (for the sweeper)
    P groom:{id}        string  the Room as JSON (participants, counters, a pinned moderator message)
    P gmsgs:{id}        zset    message JSON scored by seq: the text, while the session runs
    P gtoken:{hash}     string  a resume token's hash -> "{room id} {member id}"

Every key expires `ttl_seconds` after the last change that touched it;
`end_room` deletes all of a session's keys at once.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import asdict
from typing import Protocol, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import WatchError

from chat_server import errors
from chat_server.groups.room import Effects, GroupError, Message, Room
from chat_server.store.redis_pool import bounded_pool

T = TypeVar("T")
Change = Callable[[Room], tuple[Effects, T]]

# Concurrent changes of one room by several workers retry this often before giving up.
MAX_ATTEMPTS = 200


def _not_running() -> GroupError:
    return GroupError(errors.GROUP_NOT_RUNNING, "This group session is not running.")


class GroupStore(Protocol):
    async def close(self) -> None:
        """Release connections; the memory store forgets everything."""

    async def open_room(self, room: Room) -> Room:
        """Store a new room unless one with its id exists; return the room that is there now."""

    async def room(self, room_id: str) -> Room | None:
        """Return a live room."""

    async def change(self, room_id: str, change: Change[T]) -> T:
        """Apply one command atomically with its effects; GroupError(group_not_running) without the room."""

    async def messages_after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        """Return up to `limit` kept messages after after_seq, in seq order (removed ones are gone)."""

    async def member_by_token(self, token_hash: str) -> tuple[str, str] | None:
        """Return (room id, member id) of a resume token's hash."""

    async def end_room(self, room_id: str) -> Room | None:
        """Atomically delete a room, its messages and tokens; only the first caller gets the room."""

    async def rooms(self) -> list[str]:
        """Return the ids of every live room."""


class MemoryGroupStore:
    def __init__(self, max_messages: int = 2000) -> None:
        self.max_messages = max_messages
        self._lock = asyncio.Lock()
        self._rooms: dict[str, str] = {}
        self._messages: dict[str, dict[int, Message]] = {}
        self._tokens: dict[str, tuple[str, str]] = {}

    async def close(self) -> None:
        self._rooms.clear()
        self._messages.clear()
        self._tokens.clear()

    async def open_room(self, room: Room) -> Room:
        async with self._lock:
            if room.room_id not in self._rooms:
                self._rooms[room.room_id] = room.dumps()
                self._messages[room.room_id] = {}
            return Room.loads(self._rooms[room.room_id])

    async def room(self, room_id: str) -> Room | None:
        raw = self._rooms.get(room_id)
        return Room.loads(raw) if raw is not None else None

    async def change(self, room_id: str, change: Change[T]) -> T:
        async with self._lock:
            raw = self._rooms.get(room_id)
            if raw is None:
                raise _not_running()
            # A copy: a command that raises leaves the stored room as it was.
            room = Room.loads(raw)
            effects, result = change(room)
            self._rooms[room_id] = room.dumps()
            messages = self._messages[room_id]
            if effects.add is not None:
                messages[effects.add.seq] = effects.add
                while len(messages) > self.max_messages:
                    del messages[min(messages)]
            if effects.remove_seq is not None:
                messages.pop(effects.remove_seq, None)
            for token, member_id in effects.index_tokens.items():
                self._tokens[token] = (room_id, member_id)
            for token in effects.drop_tokens:
                self._tokens.pop(token, None)
            return result

    async def messages_after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        messages = self._messages.get(room_id, {})
        return [messages[seq] for seq in sorted(messages) if seq > after_seq][:limit]

    async def member_by_token(self, token_hash: str) -> tuple[str, str] | None:
        return self._tokens.get(token_hash)

    async def end_room(self, room_id: str) -> Room | None:
        async with self._lock:
            raw = self._rooms.pop(room_id, None)
            if raw is None:
                return None
            self._messages.pop(room_id, None)
            room = Room.loads(raw)
            for member in room.members.values():
                self._tokens.pop(member.token_hash, None)
            return room

    async def rooms(self) -> list[str]:
        return sorted(self._rooms)


class RedisGroupStore:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int, max_messages: int = 2000) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self.max_messages = max_messages

    @classmethod
    def from_url(
        cls, url: str, prefix: str, ttl_seconds: int, max_connections: int, max_messages: int
    ) -> RedisGroupStore:
        pool = bounded_pool(url, max_connections=max_connections, timeout=20.0, decode_responses=True,
                            socket_timeout=5, socket_connect_timeout=5, retry_on_timeout=False)
        return cls(Redis.from_pool(pool), prefix, ttl_seconds, max_messages)

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._prefix}{kind}{':' + name if name else ''}"

    async def close(self) -> None:
        await self._redis.aclose()

    async def open_room(self, room: Room) -> Room:
        key = self._key("groom", room.room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, room.dumps(), ex=self._ttl, nx=True)
            pipe.sadd(self._key("grooms"), room.room_id)
            pipe.expire(self._key("grooms"), self._ttl)
            pipe.get(key)
            raw = (await pipe.execute())[-1]
        return Room.loads(raw)

    async def room(self, room_id: str) -> Room | None:
        raw = await self._redis.get(self._key("groom", room_id))
        return Room.loads(raw) if raw is not None else None

    async def change(self, room_id: str, change: Change[T]) -> T:
        key, msgs = self._key("groom", room_id), self._key("gmsgs", room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise _not_running()
                    room = Room.loads(raw)
                    effects, result = change(room)
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.multi unannotated
                    pipe.set(key, room.dumps(), ex=self._ttl)
                    pipe.expire(self._key("grooms"), self._ttl)
                    if effects.add is not None:
                        pipe.zadd(msgs, {json.dumps(asdict(effects.add), ensure_ascii=False): effects.add.seq})
                        pipe.zremrangebyrank(msgs, 0, -(self.max_messages + 1))
                    if effects.remove_seq is not None:
                        pipe.zremrangebyscore(msgs, effects.remove_seq, effects.remove_seq)
                    pipe.expire(msgs, self._ttl)
                    for token, member_id in effects.index_tokens.items():
                        pipe.set(self._key("gtoken", token), f"{room_id} {member_id}", ex=self._ttl)
                    for token in effects.drop_tokens:
                        pipe.delete(self._key("gtoken", token))
                    await pipe.execute()
                    return result
                except WatchError:
                    await pipe.reset()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.reset unannotated
                    # Another worker changed the room: read it again, after a short random pause.
                    await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise GroupError(errors.SERVER_BUSY, "The session is too busy right now; try again.")

    async def messages_after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        raw = await self._redis.zrangebyscore(
            self._key("gmsgs", room_id), f"({after_seq}", "+inf", start=0, num=limit
        )
        return [Message(**json.loads(item)) for item in cast("list[str]", raw)]

    async def member_by_token(self, token_hash: str) -> tuple[str, str] | None:
        raw = await self._redis.get(self._key("gtoken", token_hash))
        if raw is None:
            return None
        room_id, _, member_id = cast(str, raw).partition(" ")
        return room_id, member_id

    async def end_room(self, room_id: str) -> Room | None:
        key = self._key("groom", room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None
                    room = Room.loads(cast(str, raw))
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.multi unannotated
                    pipe.delete(key, self._key("gmsgs", room_id),
                                *(self._key("gtoken", m.token_hash) for m in room.members.values()))
                    pipe.srem(self._key("grooms"), room_id)
                    await pipe.execute()
                    return room
                except WatchError:
                    await pipe.reset()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.reset unannotated

    async def rooms(self) -> list[str]:
        return sorted(cast("set[str]", await self._redis.smembers(self._key("grooms"))))
