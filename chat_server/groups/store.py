"""The group store: where a session's live state and message text live, and only while it runs.

One protocol, two backends that run the same pure commands of `groups.room`:
in process memory under a lock, or in Redis (shared by the workers). A change
that raises GroupError changes nothing.

In Redis a room is kept in parts, so that a message costs the same in a room of
3 and of 300: a message is appended by one Lua script (group_send.lua) that
reads and writes only the sender's own entry, a few counters and the message
itself. Every other change (joining, leaving, moderation) reads the room, runs
the command and hands only the fields that changed to group_write.lua, which
writes them only if nobody wrote the room since (a version number), else the
store reads again and retries. With replicas, each write that a client is told
about waits for one (WAIT on the same connection), as the chat store's do.

Redis key layout, under the chat store's prefix P:

    P grooms            set     live group session ids (for the sweeper)
    P groom:{id}        hash    v (version), meta (the room's cold part as JSON: membership lists,
                                moderation, counts but messages), last_seq, messages, paused,
                                slow_seconds, window_start, window_count
    P gmembers:{id}     hash    member id -> the participant as JSON (but what a message changes)
    P gmhot:{id}        hash    member id -> {"s": last sent (seconds) or "", "c": [[client id, seq], ...]}
    P gmsgs:{id}        zset    message JSON scored by seq: the text, while the session runs
    P gtoken:{hash}     string  a resume token's hash -> "{room id} {member id}"
    P ginvite:{hash}    string  a one-to-one chat invitation's token hash -> "1" (nothing of whom), until
                                chat:start takes it or INVITATION_SECONDS pass

Every key expires `ttl_seconds` after the last change that touched it;
`end_room` deletes all of a session's keys at once.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from chat_server import errors
from chat_server.groups import room as commands
from chat_server.groups.room import Counts, Effects, GroupError, Message, Participant, Room
from chat_server.store import lua
from chat_server.store.redis import NotReplicatedError
from chat_server.store.redis_pool import bounded_pool

if TYPE_CHECKING:
    from chat_server.store.redis import RedisChatStore

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

    async def send(
        self, room_id: str, member_id: str | None, client_id: str, text: str, now: datetime, per_second: int,
        alias: str = "",
    ) -> tuple[int, bool, Message | None]:
        """Append one message with the checks of room.send (member_id None: a moderator's as `alias`, unchecked).

        Returns (seq, duplicate, the message added or None for a repeated client id).
        """

    async def messages_after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        """Return up to `limit` kept messages after after_seq, in seq order (removed ones are gone)."""

    async def member_by_token(self, token_hash: str) -> tuple[str, str] | None:
        """Return (room id, member id) of a resume token's hash."""

    async def issue_invitation(self, token_hash: str, ttl_seconds: int) -> None:
        """Remember a one-to-one chat invitation's token hash (nothing else: no room, no participant)."""

    async def take_invitation(self, token_hash: str) -> bool:
        """Forget an invitation's token hash; True only for the first caller while it is unexpired."""

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
        self._invitations: dict[str, float] = {}

    async def close(self) -> None:
        self._invitations.clear()
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

    async def send(
        self, room_id: str, member_id: str | None, client_id: str, text: str, now: datetime, per_second: int,
        alias: str = "",
    ) -> tuple[int, bool, Message | None]:
        def change(room: Room) -> tuple[Effects, tuple[int, bool, Message | None]]:
            if member_id is None:
                effects, seq = commands.moderator_send(room, alias, text, now)
                return effects, (seq, False, effects.add)
            effects, seq, duplicate = commands.send(room, member_id, client_id, text, now, per_second)
            return effects, (seq, duplicate, effects.add)

        return await self.change(room_id, change)

    async def messages_after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        messages = self._messages.get(room_id, {})
        return [messages[seq] for seq in sorted(messages) if seq > after_seq][:limit]

    async def member_by_token(self, token_hash: str) -> tuple[str, str] | None:
        return self._tokens.get(token_hash)

    async def issue_invitation(self, token_hash: str, ttl_seconds: int) -> None:
        now = asyncio.get_running_loop().time()
        self._invitations = {h: until for h, until in self._invitations.items() if until > now}
        self._invitations[token_hash] = now + ttl_seconds

    async def take_invitation(self, token_hash: str) -> bool:
        until = self._invitations.pop(token_hash, None)
        return until is not None and until > asyncio.get_running_loop().time()

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


# Room fields the send script reads and writes itself, apart from the cold JSON part.
_HOT_ROOM_FIELDS = ("last_seq", "paused", "slow_seconds", "window_start", "window_count")


def _room_fields(room: Room) -> dict[str, str]:
    """The room hash's fields (but the version) as the store writes them."""
    data = asdict(room)
    del data["members"]
    for name in _HOT_ROOM_FIELDS:
        del data[name]
    del data["counts"]["messages"]
    return {
        "meta": json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        "last_seq": str(room.last_seq), "messages": str(room.counts.messages),
        "paused": "1" if room.paused else "0", "slow_seconds": str(room.slow_seconds),
        "window_start": repr(room.window_start), "window_count": str(room.window_count),
    }


def _member_fields(member: Participant) -> tuple[str, str]:
    """A participant as (cold JSON, hot JSON)."""
    cold = asdict(member)
    del cold["last_sent"], cold["client_ids"]
    hot = {"s": "" if member.last_sent is None else repr(member.last_sent),
           "c": [[cid, seq] for cid, seq in member.client_ids.items()]}
    return (json.dumps(cold, separators=(",", ":"), ensure_ascii=False),
            json.dumps(hot, separators=(",", ":"), ensure_ascii=False))


def _assemble(fields: dict[str, str], members: dict[str, str], hot: dict[str, str]) -> Room:
    data = json.loads(fields["meta"])
    data["counts"] = Counts(**data["counts"], messages=int(fields["messages"]))
    data["members"] = {}
    for member_id, raw in members.items():
        held = json.loads(hot.get(member_id) or '{"s":"","c":[]}')
        # An empty list comes back from Lua's cjson as {}.
        pairs = held["c"] if isinstance(held["c"], list) else []
        data["members"][member_id] = Participant(
            **json.loads(raw), last_sent=float(held["s"]) if held["s"] else None,
            client_ids={str(cid): int(seq) for cid, seq in pairs},
        )
    return Room(
        **data, last_seq=int(fields["last_seq"]), paused=fields["paused"] == "1",
        slow_seconds=int(fields["slow_seconds"]), window_start=float(fields["window_start"]),
        window_count=int(fields["window_count"]),
    )


def _snapshot(room: Room) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    return _room_fields(room), {mid: _member_fields(m) for mid, m in room.members.items()}


# The Lua scripts of the Redis group store (in chat_server/store/lua beside the chat store's).
GROUP_SCRIPTS = ("group_send", "group_write")


class RedisGroupStore:
    def __init__(
        self, redis: Redis, prefix: str, ttl_seconds: int, max_messages: int = 2000,
        replication: RedisChatStore | None = None,
    ) -> None:
        """replication: the chat store whose view of the replicas every acknowledged write waits on."""
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self.max_messages = max_messages
        self.replication = replication
        self._scripts = {name: redis.register_script(lua.script(name)) for name in GROUP_SCRIPTS}

    @classmethod
    def from_url(
        cls, url: str, prefix: str, ttl_seconds: int, max_connections: int, max_messages: int,
        replication: RedisChatStore | None = None,
    ) -> RedisGroupStore:
        pool = bounded_pool(url, max_connections=max_connections, timeout=20.0, decode_responses=True,
                            socket_timeout=5, socket_connect_timeout=5, retry_on_timeout=False)
        return cls(Redis.from_pool(pool), prefix, ttl_seconds, max_messages, replication)

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._prefix}{kind}{':' + name if name else ''}"

    def _room_keys(self, room_id: str) -> list[str]:
        return [self._key("groom", room_id), self._key("gmembers", room_id), self._key("gmhot", room_id),
                self._key("gmsgs", room_id), self._key("grooms")]

    async def close(self) -> None:
        await self._redis.aclose()

    async def _run(self, name: str, keys: list[str], *args: str | int) -> Any:
        """Run a script; with replicas it returns only once one has the write (as the chat store's do)."""
        script = self._scripts[name]
        argv = [self._prefix, self._ttl, *args]
        plan = self.replication.confirmation() if self.replication is not None else None
        if plan is None or self.replication is None:
            return await script(keys=keys, args=argv)
        for _attempt in (1, 2):
            # WAIT counts the writes of its own connection: one pipeline sends both on one.
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.evalsha(script.sha, len(keys), *keys, *argv)
                self.replication.confirm_in(pipe, plan)
                try:
                    result, confirmed = await pipe.execute()
                except NoScriptError:
                    await self._redis.script_load(script.script)
                    continue
            await self.replication.check_confirmed(confirmed, plan, name)
            return result
        raise NotReplicatedError(f"the {name} script could not be loaded")

    async def _read(self, room_id: str) -> tuple[str, Room] | None:
        """The room and its version, read in one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._key("groom", room_id))
            pipe.hgetall(self._key("gmembers", room_id))
            pipe.hgetall(self._key("gmhot", room_id))
            fields, members, hot = await pipe.execute()
        if not fields:
            return None
        return fields["v"], _assemble(fields, members, hot)

    async def _write(self, room_id: str, version: str, ops: dict[str, Any], set_tokens: dict[str, str],
                     drop_tokens: list[str]) -> bool:
        ops = {**ops, "tokens": list(set_tokens.values()), "drop": len(drop_tokens)}
        keys = [*self._room_keys(room_id), *set_tokens, *drop_tokens]
        return await self._run("group_write", keys, version, room_id, json.dumps(ops, ensure_ascii=False)) is not None

    async def open_room(self, room: Room) -> Room:
        fields, members = _snapshot(room)
        ops = {"room": fields, "members": {mid: cold for mid, (cold, _) in members.items()},
               "hot": {mid: hot for mid, (_, hot) in members.items()}}
        while True:
            await self._write(room.room_id, "", ops, {}, [])
            found = await self._read(room.room_id)
            if found is not None:
                return found[1]

    async def room(self, room_id: str) -> Room | None:
        found = await self._read(room_id)
        return found[1] if found is not None else None

    async def change(self, room_id: str, change: Change[T]) -> T:
        for attempt in range(MAX_ATTEMPTS):
            found = await self._read(room_id)
            if found is None:
                raise _not_running()
            version, room = found
            before_room, before_members = _snapshot(room)
            effects, result = change(room)
            after_room, after_members = _snapshot(room)
            ops: dict[str, Any] = {
                "room": {k: v for k, v in after_room.items() if before_room.get(k) != v},
                "members": {mid: cold for mid, (cold, _) in after_members.items()
                            if before_members.get(mid, ("", ""))[0] != cold},
                "hot": {mid: hot for mid, (_, hot) in after_members.items()
                        if before_members.get(mid, ("", ""))[1] != hot},
                "members_gone": [mid for mid in before_members if mid not in after_members],
            }
            ops["hot_gone"] = ops["members_gone"]
            if effects.add is not None:
                # A message through the general path (the service sends through `send`).
                ops["add"] = [str(effects.add.seq), json.dumps(asdict(effects.add), ensure_ascii=False)]
                ops["keep"] = str(self.max_messages)
            if effects.remove_seq is not None:
                ops["remove_seq"] = str(effects.remove_seq)
            tokens = {self._key("gtoken", token): f"{room_id} {member_id}"
                      for token, member_id in effects.index_tokens.items()}
            if await self._write(room_id, version, ops, tokens,
                                 [self._key("gtoken", token) for token in effects.drop_tokens]):
                return result
            # Another worker changed the room: read it again, after a short random pause.
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise GroupError(errors.SERVER_BUSY, "The session is too busy right now; try again.")

    async def send(
        self, room_id: str, member_id: str | None, client_id: str, text: str, now: datetime, per_second: int,
        alias: str = "",
    ) -> tuple[int, bool, Message | None]:
        at = now.astimezone(UTC).isoformat()
        reply = await self._run(
            "group_send", self._room_keys(room_id), member_id or "", client_id, text, at, repr(now.timestamp()),
            per_second, self.max_messages, alias,
        )
        if reply is None:
            raise _not_running()
        if reply[0] == "err":
            raise commands.send_refusal(str(reply[1]), int(reply[2]))
        seq, duplicate = int(reply[1]), reply[2] == 1
        if duplicate:
            return seq, True, None
        return seq, False, Message(seq, text, at, str(reply[3]), member_id, member_id is None)

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

    async def issue_invitation(self, token_hash: str, ttl_seconds: int) -> None:
        await self._redis.set(self._key("ginvite", token_hash), "1", ex=ttl_seconds)

    async def take_invitation(self, token_hash: str) -> bool:
        return await self._redis.getdel(self._key("ginvite", token_hash)) is not None

    async def end_room(self, room_id: str) -> Room | None:
        while True:
            found = await self._read(room_id)
            if found is None:
                return None
            version, room = found
            tokens = [self._key("gtoken", m.token_hash) for m in room.members.values()]
            if await self._write(room_id, version, {"end": True}, {}, tokens):
                return room

    async def rooms(self) -> list[str]:
        return sorted(cast("set[str]", await self._redis.smembers(self._key("grooms"))))
