"""Redis chat store shared by several worker processes.

Same semantics as `MemoryChatStore` (the contract tests run against both). Every
write that must not race across workers (assign, transfer, requeue, end, finish,
append, create, presence) is one Lua script (chat_server/store/lua/*.lua), so Redis runs
it atomically; reads that need a consistent snapshot (the queue, a staff member's
chats) are Lua scripts too.

Key layout, all under a configurable prefix P (default "dutychat:"):

    P chat:{id}            hash   a live chat; absent fields mean None
    P msgs:{id}            zset   "{seq} {json}" scored by seq, while the chat lives
    P cids:{id}            hash   json([sender, client_id]) -> seq, for de-duplication
    P resume:{hash}        string resume-token hash -> chat id, while the chat can resume
    P queue                list   waiting chat ids, front first
    P chats                set    every live chat id (for all_chats)
    P sweep                set    chat ids with a deadline: ended, or the visitor away (for chats_to_sweep)
    P staff:{sid}:active   set    active chat ids of a staff member (capacity check)
    P staff:{sid}:chats    set    active and ended-awaiting-topics chat ids of a staff member
    P staff:{sid}:seconds  set    active chat ids a staff member is in as the second (second_join.lua);
                                  such a chat is in their active set too (it counts in their load)
    P loads                hash   staff id -> number of active chats (for staff_loads)
    P presence:{sid}       hash   a staff member's presence
    P presences            set    staff ids that have a presence hash
    P worker:{id}          string a worker process's heartbeat, expiring when it stops beating
    P workers              set    worker ids that have beaten (for reaping dead ones)
    P addrkey:{day}        string the random key of a UTC day for address hashes, expiring after 4 days
    P block:{key}          string a blocked visitor key (a hash, never an address) -> blocked until;
                                  it expires when the block ends
    P feedback:{hash}      string a rating ticket's hash -> its expiry time (linked to no chat), until used
    P addrchats:{hash}     set    live chat ids of an address hash (flood limits, see the block at the end)
    P once:{key}, P window:{key}  flood-limit marks and counters, expiring by themselves
    P thread:{id}          list   the chat's private staff thread: "{seq} {json}", seq 1 first, while the chat
                                  is live; deleted by end.lua with the messages
    P threadcids:{id}      hash   "{staff id}:{client id}" -> seq, for de-duplication of thread entries
    P threadwho:{id}       set    staff ids that wrote in or were asked into the thread
                                  (the three thread keys expire `ttl_seconds` after the last thread write)
    P help:{id}            string an open "Help now" alarm (json), until answered (help_answer.lua) or its TTL
    P helps                set    the ids of open alarms

TTL policy: every key expires `ttl_seconds` after the last write that touched
it. A script that writes a chat refreshes every key of that chat and every index
it is in, so an index never expires before a chat it lists; readers skip ids
whose chat has expired. `end_chat` deletes the messages, client ids and resume
index; `finish_chat` deletes the chat hash and its index entries, so nothing of
a finished chat is left. Empty sets, lists and hashes vanish by themselves.

Scripts receive the keys they know in advance in KEYS. Keys derived from stored
data (a chat's resume key and its staff member's sets, the chat popped from the
queue) are built inside the script from the prefix in ARGV[1]: that is correct
on a single Redis server (and with replicas), though not on Redis Cluster.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.sentinel import SentinelConnectionPool, SentinelManagedConnection
from redis.exceptions import NoScriptError, RedisError, ResponseError

from chat_server.chat.models import (
    Chat,
    ChatState,
    EndReason,
    HelpAlarm,
    Message,
    Outcome,
    Sender,
    SessionRecord,
    StaffPresence,
    ThreadEntry,
    ThreadKind,
    ThreadPost,
)
from chat_server.store import lua
from chat_server.store.base import Admission, ChatFull, JoinRefusal, NotInThread, SendRefusal, Sent, text_bytes
from chat_server.store.redis_pool import bounded_pool

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "dutychat:"
DEFAULT_TTL_SECONDS = 86400
DEFAULT_MAX_CONNECTIONS = 50
COMMAND_TIMEOUT_SECONDS = 5
# How long a caller waits for a free pooled connection before an error: overload
# queues callers instead of opening ever more connections.
POOL_TIMEOUT_SECONDS = 20.0
# How long an acknowledged write waits for a replica to confirm it (WAIT), by default.
DEFAULT_REPLICA_TIMEOUT_MS = 500

# One `.lua` file each in chat_server/store/lua/, composed by its loader.
SCRIPTS = (
    "create", "by_resume", "read_queue", "read_set", "assign", "assign_chat", "language", "transfer", "requeue",
    "end", "finish",
    "visitor", "append", "send", "connected", "disconnected", "available", "heartbeat", "dead_workers", "reap",
    "pause", "unstaffed",
    # login throttling (accounts)
    "login_attempt", "login_forget",
    # the private staff thread of a chat; flags
    "thread_append", "flag", "help_answer",
    # a colleague brought into a chat
    "second_join", "second_leave",
)


def _ts(value: datetime) -> str:
    """Serialise an aware datetime as an ISO string in UTC."""
    if value.tzinfo is None:
        # A naive time would come back meaning something else on another worker.
        raise ValueError("the chat store needs timezone-aware datetimes")
    return value.astimezone(UTC).isoformat()


def _parse_ts(value: str) -> datetime:
    """Parse an ISO string written by `_ts` back into an aware UTC datetime."""
    return datetime.fromisoformat(value).astimezone(UTC)


def _parse_opt_ts(value: str | None) -> datetime | None:
    """Parse an optional timestamp field."""
    return _parse_ts(value) if value is not None else None


def _pairs(flat: list[str]) -> dict[str, str]:
    """Turn a flat HGETALL reply from a script into a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _int_or_none(value: str | None) -> int | None:
    """Parse an optional integer field."""
    return int(value) if value is not None else None


def _chat_fields(chat: Chat) -> list[str]:
    """Flatten a chat into hash field/value pairs; None fields are left out."""
    values: dict[str, str | None] = {
        "chat_id": chat.chat_id,
        "session_id": chat.session_id,
        "resume_hash": chat.resume_hash,
        "language": chat.language,
        "visitor_alias": chat.visitor_alias,
        "state": chat.state.value,
        "created_at": _ts(chat.created_at),
        "staff_id": str(chat.staff_id) if chat.staff_id is not None else None,
        "shift_id": str(chat.shift_id) if chat.shift_id is not None else None,
        "assigned_at": _ts(chat.assigned_at) if chat.assigned_at else None,
        "first_assigned_at": _ts(chat.first_assigned_at) if chat.first_assigned_at else None,
        "last_seq": str(chat.last_seq),
        "visitor_messages": str(chat.visitor_messages),
        "staff_messages": str(chat.staff_messages),
        "visitor_connected": "1" if chat.visitor_connected else "0",
        "visitor_left_at": _ts(chat.visitor_left_at) if chat.visitor_left_at else None,
        "visitor_sid": chat.visitor_sid,
        "visitor_worker": chat.visitor_worker,
        "ended_at": _ts(chat.ended_at) if chat.ended_at else None,
        "end_reason": chat.end_reason.value if chat.end_reason else None,
        "outcome": chat.outcome.value if chat.outcome else None,
        "address_hash": chat.address_hash,
        "requested_language": chat.requested_language,
        "returns_to": str(chat.returns_to) if chat.returns_to is not None else None,
        "unstaffed": "1" if chat.unstaffed else None,
        "flags": ",".join(chat.flags) if chat.flags else None,
        "from_group": "1" if chat.from_group else None,
        "second_id": str(chat.second_id) if chat.second_id is not None else None,
        "second_as": chat.second_as,
        "seconds": ",".join(chat.seconds) if chat.seconds else None,
    }
    flat: list[str] = []
    for name, value in values.items():
        if value is not None:
            flat += [name, value]
    return flat


def _chat(flat: list[str]) -> Chat | None:
    """Build a chat from a flat hash reply; an empty reply means no chat."""
    if not flat:
        return None
    h = _pairs(flat)
    return Chat(
        chat_id=h["chat_id"],
        session_id=h["session_id"],
        resume_hash=h["resume_hash"],
        language=h["language"],
        visitor_alias=h["visitor_alias"],
        state=ChatState(h["state"]),
        created_at=_parse_ts(h["created_at"]),
        staff_id=_int_or_none(h.get("staff_id")),
        shift_id=_int_or_none(h.get("shift_id")),
        assigned_at=_parse_opt_ts(h.get("assigned_at")),
        first_assigned_at=_parse_opt_ts(h.get("first_assigned_at")),
        last_seq=int(h["last_seq"]),
        visitor_messages=int(h["visitor_messages"]),
        staff_messages=int(h["staff_messages"]),
        visitor_connected=h["visitor_connected"] == "1",
        visitor_left_at=_parse_opt_ts(h.get("visitor_left_at")),
        visitor_sid=h.get("visitor_sid"),
        visitor_worker=h.get("visitor_worker"),
        ended_at=_parse_opt_ts(h.get("ended_at")),
        end_reason=EndReason(h["end_reason"]) if "end_reason" in h else None,
        outcome=Outcome(h["outcome"]) if "outcome" in h else None,
        address_hash=h.get("address_hash"),
        requested_language=h.get("requested_language"),
        returns_to=_int_or_none(h.get("returns_to")),
        unstaffed=h.get("unstaffed") == "1",
        from_group=h.get("from_group") == "1",
        flags=tuple(h["flags"].split(",")) if h.get("flags") else (),
        second_id=_int_or_none(h.get("second_id")),
        second_as=h.get("second_as"),
        seconds=tuple(h["seconds"].split(",")) if h.get("seconds") else (),
    )


def _presence(flat: list[str]) -> StaffPresence | None:
    """Build a staff presence from a flat hash reply; empty means none."""
    if not flat:
        return None
    h = _pairs(flat)
    return StaffPresence(
        staff_id=int(h["staff_id"]),
        alias=h["alias"],
        max_chats=int(h["max_chats"]),
        available=h["available"] == "1",
        sockets=int(h["sockets"]),
        disconnected_at=_parse_opt_ts(h.get("disconnected_at")),
        last_chat_at=_parse_opt_ts(h.get("last_chat_at")),
        paused_at=_parse_opt_ts(h.get("paused_at")),
        dropped=h.get("dropped") == "1",
    )


def _message(chat_id: str, member: str) -> Message:
    """Decode a "{seq} {json}" message member."""
    seq, _, payload = member.partition(" ")
    data = json.loads(payload)
    return Message(
        chat_id=chat_id,
        seq=int(seq),
        sender=Sender(data["sender"]),
        client_id=data["client_id"],
        text=data["text"],
        sent_at=_parse_ts(data["sent_at"]),
        staff_id=data.get("staff_id"),
        staff_alias=data.get("staff_alias", ""),
    )


def _dedupe_field(sender: Sender, client_id: str) -> str:
    """Name the (sender, client id) pair; JSON keeps any client id unambiguous and encodable."""
    return json.dumps([sender.value, client_id])


class NotReplicatedError(RedisError):
    """A write that is acknowledged to a client reached no replica in time; the client retries."""


# The scripts whose outcome a client is told (a message's acknowledgement, an assignment, an
# end, a start, a resume, a check-in): with replicas they return only once a replica has the
# write too (WAIT). A lost resume would leave the chat held by the dead socket.
REPLICATED_SCRIPTS = frozenset({
    "append", "send", "assign", "assign_chat", "language", "transfer", "requeue", "end", "finish", "create", "visitor",
    "connected", "disconnected", "available", "pause", "thread_append", "flag", "help_answer",
    "second_join", "second_leave",
})


class RedisChatStore:
    """A ChatStore in Redis: each racing decision is one atomic Lua script."""

    def __init__(
        self, client: Redis, prefix: str = DEFAULT_PREFIX, ttl_seconds: int = DEFAULT_TTL_SECONDS,
        wait_replicas: int = 1, replica_timeout_ms: int = DEFAULT_REPLICA_TIMEOUT_MS,
    ) -> None:
        """Use a client created with decode_responses=True; the store owns and closes it.

        wait_replicas: how many in-sync replicas an acknowledged write waits for (at most
        as many as the primary has online; 0 never waits).
        """
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        self._wait_replicas = max(0, wait_replicas)
        self._replica_timeout_ms = max(1, replica_timeout_ms)
        # What the primary last said about itself (INFO), refreshed with every heartbeat.
        self._replicas_online = 0
        # How many replicas an acknowledged write waits for now (0: none in sync, degraded).
        self._wait_for = 0
        # Degraded under Sentinel: the run id of the primary every Sentinel settled on. An
        # acknowledged write that waits for no replica must have run on that server, not on a
        # demoted one a connection still reached (its writes are taken back when it resyncs).
        self._degraded_on: str | None = None
        self._primary_id: str | None = None
        self._primary_address: tuple[str, int] | None = None
        self._primaries_seen: set[str] = set()
        self._epoch_seen: str | None = None
        self._ever_replicated = False
        self._degraded = False
        self._redis = client
        self._prefix = prefix
        self._ttl = int(ttl_seconds)
        self._queue_key = prefix + "queue"
        self._chats_key = prefix + "chats"
        self._loads_key = prefix + "loads"
        self._presences_key = prefix + "presences"
        self._workers_key = prefix + "workers"
        self._sweep_key = prefix + "sweep"
        # register_script runs EVALSHA and reloads the script after a Redis restart.
        self._scripts = {name: client.register_script(lua.script(name)) for name in SCRIPTS}

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        wait_replicas: int = 1,
        replica_timeout_ms: int = DEFAULT_REPLICA_TIMEOUT_MS,
    ) -> RedisChatStore:
        """Connect (to one server, or to the primary Sentinels name) through a bounded pool on which overload waits."""
        pool = bounded_pool(
            url, max_connections=max_connections, timeout=POOL_TIMEOUT_SECONDS, decode_responses=True,
            # A command on a connection that died with a restarted server must fail, not hang.
            socket_timeout=COMMAND_TIMEOUT_SECONDS, socket_connect_timeout=COMMAND_TIMEOUT_SECONDS,
            retry_on_timeout=False,
        )
        return cls(
            Redis.from_pool(pool), prefix=prefix, ttl_seconds=ttl_seconds, wait_replicas=wait_replicas,
            replica_timeout_ms=replica_timeout_ms,
        )

    @property
    def prefix(self) -> str:
        """The prefix of every key this store writes."""
        return self._prefix

    async def close(self) -> None:
        """Close the client and its pool; the data stays in Redis for the other workers."""
        await self._redis.aclose()

    async def check_persistence(self) -> str | None:
        """Describe how the primary or any replica writes data to disk, or None when none does."""
        found = []
        replicas = await self._replica_addresses()
        # With replicas, a full sync must not go through a file either, on either side.
        replicated = bool(replicas) or isinstance(self._redis.connection_pool, SentinelConnectionPool)
        primary = await _persistence(self._redis, replicated)
        if primary:
            found.append(primary)
        for host, port in replicas:
            # The replicas hold every chat too; the primary's account is theirs (the same ACL file).
            replica = _node_client(self._redis, host, port)
            try:
                problem = await _persistence(replica, replicated)
            except RedisError as exc:
                problem = f"its persistence settings cannot be read ({type(exc).__name__})"
            finally:
                await replica.aclose()
            if problem:
                found.append(f"replica {host}:{port}: {problem}")
        return "; ".join(found) or None

    async def _replica_addresses(self) -> list[tuple[str, int]]:
        """The replicas the primary reports (INFO replication), whatever their state."""
        try:
            info = await self._redis.info("replication")
        except ResponseError:
            return []
        found = []
        for name, value in info.items():
            if name.startswith("slave") and isinstance(value, dict) and "ip" in value:
                found.append((str(value["ip"]), int(value["port"])))
        return found

    async def replication(self) -> tuple[int, bool]:
        """Ask the primary how many replicas are in sync; note (and log once) a failover to a new primary.

        Returns (replicas online, whether acknowledged writes wait for one). Called with every heartbeat.
        """
        pool = self._redis.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            await self._follow_sentinels(pool)
        try:
            info = await self._redis.info("server", "replication")
        except ResponseError:
            # INFO not allowed for the account: replicas unknown, acknowledgements do not wait.
            self._replicas_online = self._wait_for = 0
            return 0, False
        online = sum(
            1 for name, value in info.items()
            if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online"
        )
        primary = str(info.get("run_id", ""))
        self._replicas_online = online
        self._ever_replicated = self._ever_replicated or online > 0
        # Decided in a local first: concurrent writes must never see a 0 that is not final.
        wait_for = min(self._wait_replicas, online)
        if info.get("role") != "master" and isinstance(pool, SentinelConnectionPool):
            # A connection still on a demoted primary: every connection asks the Sentinels again.
            await pool.disconnect(inuse_connections=True)
            wait_for = max(1, wait_for)
        elif self._wait_replicas > 0 and online == 0 and not await self._sentinels_settled_on(primary):
            # A primary that just lost its replica while the Sentinels promote it (a switch-over), or
            # one they demoted: what it acknowledged alone would be lost. Keep waiting: writes fail
            # and clients retry until the connection follows the Sentinels to the new primary.
            wait_for = 1
        self._degraded_on = primary if wait_for == 0 and isinstance(pool, SentinelConnectionPool) else None
        self._wait_for = wait_for
        degraded = self._wait_replicas > 0 and self._wait_for == 0 and self._has_replicas_configured()
        if degraded != self._degraded:
            if degraded:
                log.warning("no Redis replica is in sync; acknowledgements no longer wait for one (degraded)")
            else:
                log.info("a Redis replica is in sync again; acknowledgements wait for it")
            self._degraded = degraded
        if self._primary_id is not None and primary not in self._primaries_seen:
            # Once per new primary: a connection that still reached the old one must not log it again.
            epoch = await self._redis.get(self._prefix + "epoch")
            if epoch is not None and epoch == self._epoch_seen:
                # Same contents under a new server: a replica was promoted (or a switch-over).
                log.warning(
                    "the chat store failed over to a new Redis primary; live chats carry on",
                    extra={"count": online},
                )
        self._primary_id = primary
        self._primaries_seen.add(primary)
        return online, self._wait_for > 0

    async def _follow_sentinels(self, pool: SentinelConnectionPool) -> None:
        """Move every connection to the primary the Sentinels name, once it changed.

        redis-py moves a connection when a write meets READONLY or it reconnects; a
        connection that only reads would stay on a demoted primary.
        """
        address = await pool.sentinel_manager.discover_master(pool.service_name)
        if self._primary_address is not None and address != self._primary_address:
            await pool.disconnect(inuse_connections=True)
        self._primary_address = address
        pool.master_address = address

    async def _sentinels_settled_on(self, run_id: str) -> bool:
        """Whether every Sentinel names this server the primary, with no failover under way.

        All of them: the one leading a switch-over may be the only one that knows. A Sentinel
        that does not answer counts as unsettled (writes keep waiting, and fail, until it is back
        or a replica is). Without Sentinel there is no automatic failover: a lone primary is settled.
        """
        pool = self._redis.connection_pool
        if not isinstance(pool, SentinelConnectionPool):
            return True
        for sentinel in pool.sentinel_manager.sentinels:
            try:
                state = await sentinel.sentinel_master(pool.service_name)
            except RedisError:
                return False
            if state.get("runid") != run_id or "failover_in_progress" in str(state.get("flags", "")):
                return False
        return True

    async def health(self) -> str:
        """"ready", or "degraded" when replicas are expected but none is in sync; raises when Redis is unreachable."""
        await self.replication()
        return "degraded" if self._degraded else "ready"

    def _has_replicas_configured(self) -> bool:
        """A Sentinel deployment has replicas by definition; a plain server only once it reported one."""
        return isinstance(self._redis.connection_pool, SentinelConnectionPool) or self._ever_replicated

    def _k(self, kind: str, ident: object) -> str:
        """Name a key of this store."""
        return f"{self._prefix}{kind}:{ident}"

    async def _run(self, name: str, keys: list[str], *args: str | int) -> Any:
        """Run a registered script with the prefix and TTL as its first arguments.

        A script whose outcome a client is told returns, with replicas, only once one has it.
        """
        script = self._scripts[name]
        argv = [self._prefix, self._ttl, *args]
        if name not in REPLICATED_SCRIPTS or not self._confirms():
            return await script(keys=keys, args=argv)
        for _attempt in (1, 2):
            # WAIT counts the writes of its own connection: one pipeline sends both on one, and a
            # reconnect re-sends both (a lone WAIT on a fresh connection would confirm nothing).
            wanted, primary = self._wait_for, self._degraded_on
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.evalsha(script.sha, len(keys), *keys, *argv)
                self._confirmation(pipe, wanted)
                try:
                    result, confirmed = await pipe.execute()
                except NoScriptError:
                    # A new primary (a failover) or a restart: load the script, run it again.
                    await self._redis.script_load(script.script)
                    continue
            await self._check_confirmed(confirmed, wanted, primary, name)
            return result
        raise NotReplicatedError(f"the {name} script could not be loaded")

    def confirmation(self) -> tuple[int, str | None] | None:
        """What an acknowledged write of another store on this Redis (the group store) waits for now.

        (replicas to WAIT for, or 0 and the primary's run id when degraded), or None when nothing confirms.
        """
        return (self._wait_for, self._degraded_on) if self._confirms() else None

    def confirm_in(self, pipe: Any, plan: tuple[int, str | None]) -> None:
        """End that store's write pipeline with what `plan` (from confirmation()) asks."""
        self._confirmation(pipe, plan[0])

    async def check_confirmed(self, confirmed: Any, plan: tuple[int, str | None], what: str) -> None:
        """Raise NotReplicatedError unless that write is confirmed as `plan` asked."""
        await self._check_confirmed(confirmed, plan[0], plan[1], what)

    def _confirms(self) -> bool:
        """Whether an acknowledged write is confirmed now: by a replica, or (degraded) by the primary's id."""
        return self._wait_for > 0 or self._degraded_on is not None

    def _confirmation(self, pipe: Any, wanted: int) -> None:
        """End a write's pipeline with what confirms it: WAIT, or (degraded) the id of the server it ran on."""
        if wanted > 0:
            pipe.wait(wanted, self._replica_timeout_ms)
        else:
            pipe.info("server")

    async def _check_confirmed(self, confirmed: Any, wanted: int, primary: str | None, what: str) -> None:
        """Raise NotReplicatedError unless the write is confirmed as _confirmation asked."""
        if wanted > 0:
            await self._check_replicated(int(confirmed), wanted, what)
            return
        if primary is not None and str(confirmed.get("run_id", "")) != primary:
            # Ran on a server the Sentinels no longer name (a connection still on a demoted
            # primary during a switch-over): never acknowledged; the client retries.
            await self.replication()
            raise NotReplicatedError(f"the {what} write ran on a server that is not the primary")

    async def _check_replicated(self, acked: int, wanted: int, what: str) -> None:
        """Raise NotReplicatedError unless as many replicas as waited for confirmed a write."""
        if acked >= wanted:
            return
        # Never acknowledged alone: the client retries. Look again at once (a failover, a replica
        # gone for good) so that the retry waits for what is there.
        await self.replication()
        raise NotReplicatedError(f"no replica confirmed the {what} write within {self._replica_timeout_ms} ms")

    # chats and the queue
    async def create_chat(self, chat: Chat) -> None:
        """Store a new waiting chat at the back of the queue."""
        if await self._create(chat, 0, 0) == 0:
            raise ValueError("chat exists")

    async def _create(self, chat: Chat, max_queue: int, max_per_address: int) -> int:
        """Run create.lua: 1 created, 0 exists, -1 queue full, -2 address full (0 limits = none)."""
        address = chat.address_hash if max_per_address else None
        keys = [
            self._k("chat", chat.chat_id), self._k("resume", chat.resume_hash), self._queue_key, self._chats_key,
            self._sweep_key, self._k("addrchats", address or "-"),
        ]
        args: list[str | int] = [chat.chat_id, max_queue, max_per_address, address or "", *_chat_fields(chat)]
        return int(await self._run("create", keys, *args))

    async def get_chat(self, chat_id: str) -> Chat | None:
        """Return a live chat (waiting, active or ended awaiting topics)."""
        return _chat(_flatten(await self._redis.hgetall(self._k("chat", chat_id))))

    async def chat_by_resume_hash(self, resume_hash: str) -> Chat | None:
        """Return the live chat a resume token belongs to."""
        return _chat(await self._run("by_resume", [self._k("resume", resume_hash)]))

    async def all_chats(self) -> list[Chat]:
        """Return every live chat (for the sweeper)."""
        return _sorted(c for c in map(_chat, await self._run("read_set", [self._chats_key], "chat:")) if c)

    async def chats_to_sweep(self) -> list[Chat]:
        """Return the live chats with a deadline: ended (awaiting topics) or the visitor away."""
        found = (c for c in map(_chat, await self._run("read_set", [self._sweep_key], "chat:")) if c)
        return _sorted(c for c in found if c.state is ChatState.ENDED or not c.visitor_connected)

    async def queue(self) -> list[Chat]:
        """Return the waiting chats, front of the queue first."""
        return [c for c in map(_chat, await self._run("read_queue", [self._queue_key])) if c]

    async def chat_counts(self) -> dict[ChatState, int]:
        """Count the live chats in each state from the indexes the scripts keep (no chat is read).

        Waiting: the queue's length; active: the sum of the staff loads; ended: the rest of the
        live set (an id whose chat expired counts there until the set's own TTL).
        """
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.llen(self._queue_key)
            pipe.hvals(self._loads_key)
            pipe.scard(self._chats_key)
            waiting, loads, live = await pipe.execute()
        active = sum(max(0, int(v)) for v in loads)
        return {
            ChatState.WAITING: int(waiting), ChatState.ACTIVE: active,
            ChatState.ENDED: max(0, int(live) - int(waiting) - active),
        }

    async def ping(self) -> None:
        """One round trip to Redis (for /metrics)."""
        await self._redis.ping()

    async def chats_of_staff(self, staff_id: int) -> list[Chat]:
        """Return the active and ended-awaiting-topics chats of a staff member."""
        found = await self._run("read_set", [self._k("staff", f"{staff_id}:chats")], "chat:")
        return _sorted(
            c
            for c in map(_chat, found)
            if c and c.staff_id == staff_id and c.state in (ChatState.ACTIVE, ChatState.ENDED)
        )

    def _onto_staff_keys(self, staff_id: int) -> list[str]:
        """The keys a script that takes a chat onto a staff member touches (lua/lib/staff_load.lua)."""
        return [
            self._queue_key,
            self._chats_key,
            self._loads_key,
            self._k("staff", f"{staff_id}:active"),
            self._k("staff", f"{staff_id}:chats"),
            self._k("presence", staff_id),
            self._presences_key,
        ]

    async def assign_next(
        self, staff_id: int, capacity: int, shift_id: int | None, now: datetime
    ) -> Chat | None:
        """Atomically give the front of the queue to a staff member below capacity."""
        keys = self._onto_staff_keys(staff_id)
        shift = "" if shift_id is None else str(shift_id)
        return _chat(await self._run("assign", keys, staff_id, capacity, shift, _ts(now)))

    async def assign_chat(
        self, chat_id: str, staff_id: int, capacity: int, shift_id: int | None, now: datetime,
        languages: tuple[str, ...] = (),
    ) -> Chat | None:
        """Atomically give a waiting chat to a member below capacity who speaks its language."""
        keys = [self._k("chat", chat_id), *self._onto_staff_keys(staff_id)]
        shift = "" if shift_id is None else str(shift_id)
        spoken = ",".join(languages)
        return _chat(await self._run("assign_chat", keys, chat_id, staff_id, capacity, shift, _ts(now), spoken))

    async def switch_language(self, chat_id: str, language: str, active_ok: bool = False) -> Chat | None:
        """Atomically change the language of a waiting (or active) chat, keeping the one first asked for."""
        keys = [self._k("chat", chat_id), self._queue_key, self._chats_key, self._loads_key]
        return _chat(await self._run("language", keys, chat_id, language, 1 if active_ok else 0))

    async def transfer(
        self, chat_id: str, from_staff: int, to_staff: int, capacity: int, now: datetime
    ) -> Chat | None:
        """Atomically move an active chat of from_staff to to_staff if to_staff is below capacity."""
        keys = [self._k("chat", chat_id), *self._onto_staff_keys(to_staff)]
        return _chat(await self._run("transfer", keys, chat_id, from_staff, to_staff, capacity, _ts(now)))

    async def requeue(self, chat_id: str, now: datetime) -> Chat | None:
        """Atomically put an active chat back at the front of the queue."""
        keys = [self._k("chat", chat_id), self._queue_key, self._chats_key, self._loads_key]
        return _chat(await self._run("requeue", keys, chat_id))

    async def end_chat(
        self, chat_id: str, reason: EndReason, outcome: Outcome, now: datetime, staff_id: int | None = None
    ) -> Chat | None:
        """Atomically end a waiting or active chat (of staff_id, if given), deleting its messages; first caller only."""
        keys = [
            self._k("chat", chat_id),
            self._queue_key,
            self._chats_key,
            self._loads_key,
            self._k("msgs", chat_id),
            self._k("cids", chat_id),
            self._sweep_key,
        ]
        holder = "" if staff_id is None else str(staff_id)
        return _chat(await self._run("end", keys, chat_id, reason.value, outcome.value, _ts(now), holder))

    async def finish_chat(self, chat_id: str) -> Chat | None:
        """Atomically remove an ended chat; only the first caller gets it."""
        keys = [
            self._k("chat", chat_id), self._chats_key, self._k("msgs", chat_id), self._k("cids", chat_id),
            self._sweep_key,
        ]
        return _chat(await self._run("finish", keys, chat_id))

    async def join_second(
        self, chat_id: str, primary: int, staff_id: int, role: str, capacity: int, now: datetime
    ) -> Chat | JoinRefusal:
        """Bring a colleague into primary's active chat as its second (second_join.lua)."""
        keys = [
            self._k("chat", chat_id), self._queue_key, self._chats_key, self._loads_key,
            self._k("staff", f"{staff_id}:active"), self._k("staff", f"{staff_id}:seconds"),
            self._k("presence", staff_id), self._presences_key,
        ]
        found = await self._run("second_join", keys, chat_id, primary, staff_id, capacity, role, _ts(now))
        if len(found) == 1:
            return JoinRefusal(found[0])
        chat = _chat(found)
        assert chat is not None
        return chat

    async def leave_second(self, chat_id: str, staff_id: int | None = None) -> Chat | None:
        """Take the chat's second out of it (second_leave.lua); the chat as it was, or None."""
        keys = [self._k("chat", chat_id), self._queue_key, self._chats_key, self._loads_key]
        return _chat(await self._run("second_leave", keys, chat_id, "" if staff_id is None else str(staff_id)))

    async def chats_seconded(self, staff_id: int) -> list[Chat]:
        """Return the active chats a member is in as the second."""
        found = await self._run("read_set", [self._k("staff", f"{staff_id}:seconds")], "chat:")
        return _sorted(
            c for c in map(_chat, found) if c and c.second_id == staff_id and c.state is ChatState.ACTIVE
        )

    async def set_visitor_connected(
        self, chat_id: str, connected: bool, now: datetime, sid: str, worker: str = ""
    ) -> Chat | None:
        """Record that the visitor came back on sid (on worker), or that sid (still the holder) dropped."""
        keys = [self._k("chat", chat_id), self._queue_key, self._chats_key, self._loads_key, self._sweep_key]
        return _chat(await self._run("visitor", keys, chat_id, "1" if connected else "0", _ts(now), sid, worker))

    # messages
    async def append_message(
        self, chat_id: str, sender: Sender, client_id: str, text: str, now: datetime,
        max_messages: int = 0, max_bytes: int = 0, waiting_ok: bool = False,
        author: tuple[int, str] | None = None,
    ) -> tuple[Message, bool] | None:
        """Add a message with the next sequence number to an active (or waiting) chat, once per client id."""
        keys = [
            self._k("chat", chat_id),
            self._k("msgs", chat_id),
            self._k("cids", chat_id),
            self._queue_key,
            self._chats_key,
            self._loads_key,
        ]
        # ensure_ascii keeps any str (even lone surrogates) encodable, like the memory store.
        fields: dict[str, str | int] = {
            "sender": sender.value, "client_id": client_id, "text": text, "sent_at": _ts(now),
        }
        if author is not None:
            fields["staff_id"], fields["staff_alias"] = author
        payload = _message_json(fields)
        counter = "visitor_messages" if sender is Sender.VISITOR else "staff_messages"
        result = await self._run(
            "append", keys, chat_id, _dedupe_field(sender, client_id), payload, counter,
            text_bytes(text), max_messages, max_bytes, 1 if waiting_ok else 0,
        )
        if not result:
            return None
        if result == -1:
            raise ChatFull(chat_id)
        duplicate, member = result
        return _message(chat_id, member), bool(int(duplicate))

    async def send_message(
        self, chat_id: str, sender: Sender, holder: str | int, client_id: str, text: str, now: datetime,
        max_messages: int = 0, max_bytes: int = 0,
    ) -> Sent | SendRefusal:
        """Check the sender's right and append, in one script (send.lua): one round trip per message."""
        keys = [
            self._k("chat", chat_id), self._k("msgs", chat_id), self._k("cids", chat_id),
            self._queue_key, self._chats_key, self._loads_key,
        ]
        fields: dict[str, str | int] = {
            "sender": sender.value, "client_id": client_id, "text": text, "sent_at": _ts(now),
        }
        if sender is Sender.STAFF:
            fields["staff_id"] = int(holder)
        payload = _message_json(fields)
        if sender is Sender.STAFF:
            payload = payload[:-1]  # send.lua closes it with the author's alias
        counter = "visitor_messages" if sender is Sender.VISITOR else "staff_messages"
        result = await self._run(
            "send", keys, chat_id, _dedupe_field(sender, client_id), payload, counter,
            text_bytes(text), max_messages, max_bytes, sender.value, str(holder),
        )
        if result[0] == 0:
            return SendRefusal(result[1])
        if result[0] == -1:
            raise ChatFull(chat_id)
        _, duplicate, member, staff, state, visitor_messages, second, workers = result
        return Sent(
            _message(chat_id, member), bool(int(duplicate)), int(staff) if staff else None, ChatState(state),
            int(visitor_messages), int(second) if second else None,
            None if workers == "*" else frozenset(workers.split()),
        )

    async def messages_after(self, chat_id: str, after_seq: int, limit: int = 0) -> list[Message]:
        """Return the chat's messages with seq > after_seq, in order; at most limit (0 = all)."""
        key, low = self._k("msgs", chat_id), f"({after_seq}"
        # Without withscores the reply is the members alone, decoded by the client.
        found = (
            await self._redis.zrangebyscore(key, low, "+inf", start=0, num=limit) if limit
            else await self._redis.zrangebyscore(key, low, "+inf")
        )
        members = cast("list[str]", found)
        return [_message(chat_id, m) for m in members]

    # staff presence
    async def staff_connected(self, staff_id: int, alias: str, max_chats: int, worker: str = "") -> StaffPresence:
        """Count one more socket of a staff member, on worker."""
        keys = [self._k("presence", staff_id), self._presences_key]
        presence = _presence(await self._run("connected", keys, staff_id, alias, max_chats, worker))
        assert presence is not None  # the script always creates it
        return presence

    async def staff_disconnected(self, staff_id: int, now: datetime, worker: str = "") -> StaffPresence | None:
        """Count one socket less; with none left, note when the last one went."""
        keys = [self._k("presence", staff_id), self._presences_key]
        return _presence(await self._run("disconnected", keys, _ts(now), worker))

    async def set_available(
        self, staff_id: int, available: bool, now: datetime, dropped: bool = False
    ) -> StaffPresence | None:
        """Check a staff member in or out; either ends a break."""
        keys = [self._k("presence", staff_id), self._presences_key]
        return _presence(
            await self._run("available", keys, "1" if available else "0", _ts(now), "1" if dropped else "0")
        )

    async def set_paused(self, staff_id: int, paused: bool, now: datetime) -> StaffPresence | None:
        """Atomically start or end a checked-in member's break."""
        keys = [self._k("presence", staff_id), self._presences_key]
        return _presence(await self._run("pause", keys, "1" if paused else "0", _ts(now)))

    async def mark_unstaffed(self, chat_id: str) -> bool:
        """Atomically mark a waiting chat as having waited while nobody was checked in (True once)."""
        keys = [self._k("chat", chat_id), self._queue_key, self._chats_key, self._loads_key]
        return bool(await self._run("unstaffed", keys, chat_id))

    async def presences(self) -> list[StaffPresence]:
        """Return every known staff presence."""
        found = await self._run("read_set", [self._presences_key], "presence:")
        return sorted((p for p in map(_presence, found) if p), key=lambda p: p.staff_id)

    async def staff_loads(self) -> dict[int, int]:
        """Return the number of active chats per staff member."""
        loads = await self._redis.hgetall(self._loads_key)
        return {int(k): int(v) for k, v in loads.items() if int(v) > 0}

    # blocked visitors
    async def add_blocks(self, keys: list[str], until: datetime, now: datetime) -> None:
        """Block each key until `until`; Redis deletes the entry when the block ends."""
        seconds = max(1, math.ceil((until - now).total_seconds()))
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.set(self._k("block", key), _ts(until), ex=seconds)
            await pipe.execute()

    async def is_blocked(self, keys: list[str], now: datetime) -> bool:
        """Whether any key is blocked at `now` (the stored end is compared with the caller's clock)."""
        if not keys:
            return False
        values = await self._redis.mget([self._k("block", key) for key in keys])
        return any(v is not None and _parse_ts(_text(v)) > now for v in values)

    async def address_keys(self, days: list[str], ttl_seconds: int) -> list[str | None]:
        """The random keys of these days; the first is made if missing (expiring after ttl_seconds)."""
        if not days:
            return []
        await self._redis.set(self._k("addrkey", days[0]), secrets.token_hex(32), nx=True, ex=ttl_seconds)
        found = await self._redis.mget([self._k("addrkey", day) for day in days])
        return [None if v is None else _text(v) for v in found]

    # the store itself
    async def epoch(self) -> str:
        """Return the id of this Redis incarnation; a restart without persistence makes a new one."""
        key = self._prefix + "epoch"
        await self._redis.set(key, secrets.token_hex(8), nx=True, ex=self._ttl)
        await self._redis.expire(key, self._ttl)
        # Replicated like every key: a promoted replica keeps it, a restarted lone server has a new one.
        self._epoch_seen = str(await self._redis.get(key))
        return self._epoch_seen

    # worker liveness
    async def worker_heartbeat(self, worker: str, ttl_seconds: float) -> bool:
        """Keep a worker alive for ttl_seconds; False when it is new or had been reaped."""
        keys = [self._k("worker", worker), self._workers_key]
        known = bool(await self._run("heartbeat", keys, worker, int(ttl_seconds * 1000)))
        await self.replication()
        return known

    async def dead_workers(self) -> list[str]:
        """Return the registered workers whose heartbeat has expired."""
        return sorted(await self._run("dead_workers", [self._workers_key]))

    async def reap_worker(self, worker: str, now: datetime) -> tuple[list[Chat], list[StaffPresence]]:
        """Atomically take a dead worker's visitors and staff sockets off the books."""
        keys = [
            self._workers_key, self._chats_key, self._presences_key, self._queue_key, self._loads_key, self._sweep_key
        ]
        chats, presences = await self._run("reap", keys, worker, _ts(now))
        return [c for c in map(_chat, chats) if c], [p for p in map(_presence, presences) if p]

    async def worker_stopped(self, worker: str) -> None:
        """Forget a worker that shut down cleanly."""
        await self._redis.delete(self._k("worker", worker))
        await self._redis.srem(self._workers_key, worker)

    # owed session rows: counts only, kept for OWED_TTL_SECONDS at most
    async def owe_row(self, record: SessionRecord) -> None:
        """Keep a session row until some worker writes it to the database."""
        key = self._prefix + "owed"
        wanted, primary = self._wait_for, self._degraded_on
        confirms = self._confirms()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, record.session_id, _record_json(record))
            pipe.expire(key, OWED_TTL_SECONDS)
            if confirms:
                self._confirmation(pipe, wanted)
            replies = await pipe.execute()
        if confirms:
            await self._check_confirmed(replies[-1], wanted, primary, "owed row")

    async def owed_rows(self) -> list[SessionRecord]:
        """Return the rows still owed to the database."""
        return [_record(_text(v)) for v in (await self._redis.hgetall(self._prefix + "owed")).values()]

    async def settle_row(self, session_id: str) -> None:
        """Forget an owed row once it is in the database."""
        await self._redis.hdel(self._prefix + "owed", session_id)

    # rating tickets: "P feedback:{hash}" -> expiry time, nothing else
    async def add_feedback_ticket(self, ticket_hash: str, now: datetime, ttl_seconds: int) -> None:
        """Keep a rating ticket until used; Redis expires it after ttl_seconds."""
        expires = now + timedelta(seconds=ttl_seconds)
        await self._redis.set(self._k("feedback", ticket_hash), _ts(expires), ex=ttl_seconds)

    async def use_feedback_ticket(self, ticket_hash: str, now: datetime) -> bool:
        """Consume a ticket with GETDEL: only one caller, on any worker, gets it."""
        expires = await self._redis.getdel(self._k("feedback", ticket_hash))
        # The stored time also holds for a clock that is not Redis's (tests move theirs).
        return expires is not None and now < _parse_ts(_text(expires))

    # ------------------------------------------------------------------ flood limits
    #   P addrchats:{hash}  set     live chat ids of an address hash (pruned of ended ones by create.lua)
    #   P once:{key}        string  a `first_in_period` mark, expiring after its period
    #   P window:{key}      string  a `count_in_window` counter, expiring at the end of its window

    async def create_chat_within(self, chat: Chat, max_queue: int, max_per_address: int) -> Admission:
        """Store a new waiting chat unless the queue or its address is full (one script, atomic)."""
        found = await self._create(chat, max_queue, max_per_address if chat.address_hash else 0)
        if found == 0:
            raise ValueError("chat exists")
        return {1: Admission.CREATED, -1: Admission.QUEUE_FULL}.get(found, Admission.ADDRESS_FULL)

    async def chats_of_address(self, address_hash: str) -> list[Chat]:
        """Return the live chats of an address hash."""
        found = await self._run("read_set", [self._k("addrchats", address_hash)], "chat:")
        return _sorted(
            c for c in map(_chat, found)
            if c and c.address_hash == address_hash and c.state is not ChatState.ENDED
        )

    async def first_in_period(self, key: str, period_seconds: int) -> bool:
        """SET NX EX: only the first caller in the period, on any worker, gets True."""
        return bool(await self._redis.set(self._k("once", key), "1", nx=True, ex=period_seconds))

    async def count_in_window(self, key: str, window_seconds: int) -> int:
        """SET NX EX opens the window (its expiry), INCR counts in it (keeping the expiry)."""
        name = self._k("window", key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, nx=True, ex=window_seconds)
            pipe.incr(name)
            _, count = await pipe.execute()
        return int(count)


    # ---- login throttling (accounts)
    async def login_attempt(
        self, keys: list[str], free: list[int], now: datetime, base_seconds: float, max_seconds: float,
        forget_seconds: int,
    ) -> float:
        """Admit one login attempt against every key, or answer the longest wait (one script)."""
        if not keys:
            return 0.0
        wait = await self._run(
            "login_attempt", [self._k("login", key) for key in keys], repr(now.timestamp()), repr(base_seconds),
            repr(max_seconds), forget_seconds, *free,
        )
        return float(_text(wait))

    async def login_forget(self, clear: list[str], refund: list[str]) -> None:
        """Forget the `clear` keys and take one attempt off each `refund` key (one script)."""
        if clear or refund:
            await self._run("login_forget", [self._k("login", key) for key in (*clear, *refund)], len(clear))

    # ------------------------------------------------------------------ the staff thread of a chat

    async def thread_append(
        self, chat_id: str, staff_id: int, alias: str, client_id: str, text: str, now: datetime, *,
        kind: ThreadKind = ThreadKind.MESSAGE, add: tuple[int, ...] = (), members_only: bool = True,
        max_entries: int = 0,
    ) -> ThreadPost | None:
        """Add an entry to an active chat's staff thread (thread_append.lua), once per writer and client id."""
        keys = [
            self._k("chat", chat_id), self._k("thread", chat_id), self._k("threadcids", chat_id),
            self._k("threadwho", chat_id),
        ]
        payload = json.dumps(
            {"kind": kind.value, "staff_id": staff_id, "alias": alias, "client_id": client_id, "text": text,
             "sent_at": _ts(now)},
            ensure_ascii=True, separators=(",", ":"),
        )
        result = await self._run(
            "thread_append", keys, staff_id, client_id, payload, 1 if members_only else 0, max_entries,
            *(str(i) for i in add),
        )
        if not result:
            return None
        if result == -1:
            raise NotInThread(chat_id)
        if result == -2:
            raise ChatFull(chat_id)
        duplicate, member, *members = result
        return ThreadPost(_thread_entry(chat_id, member), bool(int(duplicate)), frozenset(int(m) for m in members))

    async def help_raise(self, alarm: HelpAlarm) -> None:
        """Keep an open alarm and list it (one transaction)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("help", alarm.alarm_id), _alarm_json(alarm), ex=self._ttl)
            pipe.sadd(self._prefix + "helps", alarm.alarm_id)
            pipe.expire(self._prefix + "helps", self._ttl)
            await pipe.execute()

    async def help_answer(
        self, alarm_id: str, staff_id: int, alias: str, now: datetime
    ) -> tuple[HelpAlarm, bool] | None:
        """Answer an alarm (help_answer.lua): the first answer takes it; it is forgotten."""
        found = await self._run("help_answer", [self._k("help", alarm_id), self._prefix + "helps"], alarm_id)
        if not found:
            return None
        alarm = _alarm(found)
        return replace(alarm, answered_by=staff_id, answered_alias=alias, answered_at=now), True

    async def help_alarms(self) -> list[HelpAlarm]:
        """Return the open alarms, oldest first (ids whose alarm expired are skipped)."""
        ids = sorted(cast("set[str]", await self._redis.smembers(self._prefix + "helps")))
        if not ids:
            return []
        values = cast("list[str | None]", await self._redis.mget([self._k("help", i) for i in ids]))
        return sorted((_alarm(v) for v in values if v), key=lambda a: a.raised_at)

    async def flag_chat(self, chat_id: str, category: str) -> tuple[Chat, bool] | None:
        """Add a flag category to an active or ended chat (flag.lua); True when it is new."""
        result = await self._run("flag", [self._k("chat", chat_id)], category)
        if not result:
            return None
        added, flat = result
        chat = _chat(flat)
        return (chat, bool(int(added))) if chat is not None else None

    async def thread_entries(self, chat_id: str) -> list[ThreadEntry]:
        """Return the thread's entries in order."""
        found = cast("list[str]", await self._redis.lrange(self._k("thread", chat_id), 0, -1))
        return [_thread_entry(chat_id, m) for m in found]

    async def thread_members(self, chat_id: str) -> frozenset[int]:
        """Return who wrote in the thread or was asked into it."""
        members = cast("set[str]", await self._redis.smembers(self._k("threadwho", chat_id)))
        return frozenset(int(m) for m in members)


OWED_TTL_SECONDS = 7 * 24 * 3600


def _alarm_json(alarm: HelpAlarm) -> str:
    return json.dumps({
        "alarm_id": alarm.alarm_id, "staff_id": alarm.staff_id, "alias": alarm.alias,
        "raised_at": _ts(alarm.raised_at), "chat_id": alarm.chat_id, "visitor_alias": alarm.visitor_alias,
    }, ensure_ascii=True)


def _alarm(value: str) -> HelpAlarm:
    d = json.loads(value)
    return HelpAlarm(
        d["alarm_id"], int(d["staff_id"]), d["alias"], _parse_ts(d["raised_at"]), d.get("chat_id"),
        visitor_alias=d.get("visitor_alias"),
    )


def _thread_entry(chat_id: str, member: str) -> ThreadEntry:
    seq, _, body = member.partition(" ")
    data = json.loads(body)
    return ThreadEntry(
        chat_id, int(seq), ThreadKind(data["kind"]), int(data["staff_id"]), data["alias"], data["client_id"],
        data["text"], _parse_ts(data["sent_at"]),
    )


def _node_client(primary: Redis, host: str, port: int) -> Redis:
    """A one-connection client to another node of the deployment, with the primary's account and TLS."""
    pool = primary.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k not in ("connection_pool", "host", "port")}
    connection_class = pool.connection_class
    if issubclass(connection_class, SentinelManagedConnection):
        connection_class = SSLConnection if issubclass(connection_class, SSLConnection) else Connection
    return Redis.from_pool(
        ConnectionPool(connection_class=connection_class, host=host, port=port, max_connections=1, **kwargs)
    )


async def _persistence(client: Redis, replicated: bool = False) -> str | None:
    """Describe how one server writes data to disk, or None when it does not.

    replicated: the server has (or may become) a primary or a replica, so a full
    synchronisation must stream over the socket (repl-diskless-sync) and be
    loaded from it (repl-diskless-load), never through an RDB file.
    """
    try:
        save = _text((await client.config_get("save")).get("save") or "")
        appendonly = _text((await client.config_get("appendonly")).get("appendonly") or "no")
        sync = load = ""
        if replicated:
            sync = _text((await client.config_get("repl-diskless-sync")).get("repl-diskless-sync") or "no")
            load = _text((await client.config_get("repl-diskless-load")).get("repl-diskless-load") or "disabled")
    except ResponseError as exc:
        # Managed services often rename CONFIG; unknown must count as persisting.
        return f"the persistence settings cannot be read (CONFIG GET failed: {exc})"
    found = []
    if save.strip():
        found.append(f"RDB snapshots are enabled (save {save!r})")
    if appendonly.strip().lower() == "yes":
        found.append("the append-only file is enabled (appendonly yes)")
    if replicated and sync.strip().lower() != "yes":
        found.append("a full sync to a replica writes an RDB file (repl-diskless-sync no)")
    if replicated and load.strip().lower() != "swapdb":
        # on-empty-db still goes through a file when the replica holds data (a demoted primary).
        found.append(
            f"a full sync from the primary may be written to an RDB file (repl-diskless-load {load}; use swapdb)"
        )
    return "; ".join(found) or None


def _message_json(message: dict[str, str | int]) -> str:
    """JSON for Redis: raw UTF-8 (Cyrillic or Thai escaped would take six bytes a
    character), escaped only when the text holds a lone surrogate UTF-8 cannot carry."""
    try:
        str(message["text"]).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(message)
    return json.dumps(message, ensure_ascii=False)


def _record_json(record: SessionRecord) -> str:
    return json.dumps({
        "session_id": record.session_id, "started_at": _ts(record.started_at),
        "wait_seconds": record.wait_seconds, "duration_seconds": record.duration_seconds,
        "outcome": record.outcome.value, "language": record.language,
        "visitor_messages": record.visitor_messages, "staff_messages": record.staff_messages,
        "shift_id": record.shift_id, "topics": list(record.topics),
        "requested_language": record.requested_language, "left_for_language": record.left_for_language,
        "unstaffed": record.unstaffed, "flags": list(record.flags), "from_group": record.from_group,
        "seconds": list(record.seconds),
    })


def _record(value: str) -> SessionRecord:
    d = json.loads(value)
    return SessionRecord(
        session_id=d["session_id"], started_at=_parse_ts(d["started_at"]), wait_seconds=d["wait_seconds"],
        duration_seconds=d["duration_seconds"], outcome=Outcome(d["outcome"]), language=d["language"],
        visitor_messages=d["visitor_messages"], staff_messages=d["staff_messages"], shift_id=d["shift_id"],
        topics=tuple(d["topics"]), requested_language=d.get("requested_language", ""),
        left_for_language=bool(d.get("left_for_language", False)), unstaffed=bool(d.get("unstaffed", False)),
        flags=tuple(d.get("flags", ())), from_group=bool(d.get("from_group", False)),
        seconds=tuple(d.get("seconds", ())),
    )


def _flatten(mapping: Mapping[bytes | str, bytes | str]) -> list[str]:
    """Turn a client-side HGETALL dict into the flat form scripts return."""
    return [_text(part) for item in mapping.items() for part in item]


def _text(value: bytes | str) -> str:
    """A reply value as text: the store's client decodes replies, redis-py's types allow bytes."""
    return value if isinstance(value, str) else value.decode()


def _sorted(chats: Iterable[Chat]) -> list[Chat]:
    """Order chats by creation, as the memory store's insertion order has them."""
    return sorted(chats, key=lambda c: (c.created_at, c.chat_id))
