"""Redis with Sentinel, with real processes: a primary, a replica, three Sentinels, two workers, PostgreSQL.

The primary is killed with SIGKILL while 20 chats exchange messages: every chat
carries on with its seq on the promoted replica, nobody is told `state_lost`,
every acknowledged message is there exactly once in order for both sides, and
every session row is written once. Then a planned switch-over (SENTINEL
FAILOVER) does the same. Nothing of a chat is on any node's disk afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from chat_server.store.redis import RedisChatStore
from chat_server.store.redis_pool import parse_sentinel_url
from tests.support.clients import EventClient, StaffMember, Visitor, login
from tests.support.cluster import PASSWORD, TOPIC, cluster, log_records, session_rows, staff_on, wait_until
from tests.support.redis import new_prefix
from tests.support.sentinel import SentinelDeployment, start_data_node, start_sentinel_deployment

CHATS = 20
# A failover here takes about DOWN_AFTER_MS plus an election: seconds. Clients retry for longer.
RETRY_SECONDS = 30.0
# Error answers and lost answers that reliably() retried, per event name: proof the failover hit live traffic.
RETRIED: dict[str, int] = {}
PHASES: list[tuple[str, float]] = []


def test_sentinel_url_is_parsed_like_python_socketio() -> None:
    target = parse_sentinel_url(
        "rediss+sentinel://dutychat:pa%40ss@10.0.0.1:26379,10.0.0.2:26380/2/chat"
        "?sentinel_password=s3&ssl_ca_certs=/etc/ca.pem"
    )
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert (target.service, target.db, target.username, target.password) == ("chat", 2, "dutychat", "pa@ss")
    assert (target.sentinel_password, target.tls, target.ssl_ca_certs) == ("s3", True, "/etc/ca.pem")
    assert "pa@ss" not in repr(target) and "s3" not in repr(target)
    for bad in ("redis+sentinel://:sekrit@h:1/0", "redis+sentinel://:sekrit@h/0/x",
                "redis+sentinel://:sekrit@h:1/0/x?colour=red"):
        with pytest.raises(ValueError) as caught:
            parse_sentinel_url(bad)
        assert "sekrit" not in str(caught.value)


async def test_persistence_check_covers_the_replicas(tmp_path: Path) -> None:
    primary = start_data_node(tmp_path / "a")
    replica = start_data_node(tmp_path / "b", replica_of=primary.port)
    try:
        store = RedisChatStore(Redis(port=primary.port, decode_responses=True), prefix=new_prefix())
        try:
            await wait_until(lambda: _replicas(store), 15, "the replica in sync")
            assert await store.check_persistence() is None
            # The replica alone starts writing snapshots: the check names it.
            async with Redis(port=replica.port, decode_responses=True) as direct:
                await direct.config_set("save", "3600 1")
            found = await store.check_persistence()
            assert found is not None and f"replica 127.0.0.1:{replica.port}" in found and "RDB" in found
            async with Redis(port=replica.port, decode_responses=True) as direct:
                await direct.config_set("save", "")
                await direct.config_set("repl-diskless-load", "disabled")
            found = await store.check_persistence()
            assert found is not None and "repl-diskless-load disabled" in found
        finally:
            await store.close()
    finally:
        replica.stop()
        primary.stop()


async def test_a_degraded_write_is_acknowledged_only_on_the_primary_the_sentinels_named(
    redis_url: str, redis_prefix: str
) -> None:
    """Degraded (no replica) under Sentinel, a write that waits for no replica still names the server it ran on.

    During a switch-over a pooled connection can still reach the demoted primary while the store
    judged the new one degraded; what it acknowledged there would be taken back when it resyncs.
    """
    from datetime import UTC, datetime

    from chat_server.chat.models import Chat, ChatState, Sender
    from chat_server.store.redis import NotReplicatedError

    store = RedisChatStore.from_url(redis_url, prefix=redis_prefix)
    try:
        now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
        run_id = (await store._redis.info("server"))["run_id"]
        # As replication() leaves it when every Sentinel names this server and no replica is in sync.
        store._wait_for, store._degraded_on = 0, run_id
        await store.create_chat(Chat("c1", "s1", "r1", "fi", "Guest 1", ChatState.WAITING, now))
        assert await store.get_chat("c1") is not None
        # The same write on a server that is not the one named: never acknowledged.
        store._wait_for, store._degraded_on = 0, "0" * 40
        with pytest.raises(NotReplicatedError):
            await store.create_chat(Chat("c2", "s2", "r2", "fi", "Guest 2", ChatState.WAITING, now))
        store._wait_for, store._degraded_on = 0, "0" * 40
        with pytest.raises(NotReplicatedError):
            await store.append_message("c1", Sender.VISITOR, "v1", "hello", now)
        # Without Sentinel (this plain server) replication() clears it: a lone server has no failover.
        await store.replication()
        assert store._degraded_on is None
        await store.create_chat(Chat("c3", "s3", "r3", "fi", "Guest 3", ChatState.WAITING, now))
    finally:
        await store.close()


async def _replicas(store: RedisChatStore) -> int:
    online, waits = await store.replication()
    return online if waits else 0


async def reliably(
    client: EventClient | Callable[[], EventClient], event: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Call an event until it is answered ok, retrying errors and timeouts as the protocol tells clients.

    client may be a function giving the current socket: a reconnect elsewhere replaces it.
    """
    deadline = time.monotonic() + RETRY_SECONDS
    last: Any = None
    while time.monotonic() < deadline:
        try:
            current = client() if callable(client) else client
            ack = await current.call(event, payload, timeout=3)
        except Exception as exc:  # a lost answer is retried like an error answer
            last = repr(exc)
        else:
            if ack.get("ok"):
                return dict(ack)
            last = ack
            assert ack["error"]["code"] == "internal_error", (event, ack)
        RETRIED[event] = RETRIED.get(event, 0) + 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"{event} never answered ok within {RETRY_SECONDS}s (last: {last!r})")


class Conversation:
    """One chat: a visitor and their staff member taking turns, every message retried until acknowledged."""

    def __init__(self, visitor: Visitor, staff: StaffMember, canary: str) -> None:
        self.visitor, self.staff, self.canary = visitor, staff, canary
        assert visitor.chat_id is not None
        self.chat_id = visitor.chat_id
        # (sender, client id) -> the seq its acknowledgement named
        self.acked: dict[tuple[str, str], int] = {}
        self.turn = 0
        self.log: list[Any] = []

    async def exchange(self) -> None:
        self.turn += 1
        text = f"{self.canary} turn {self.turn}"
        ack = await reliably(lambda: self.visitor, "message:send", {"client_id": f"v{self.turn}", "text": text})
        self.log.append((time.monotonic(), f"v{self.turn}", ack, RETRIED.copy()))
        self.acked[("visitor", f"v{self.turn}")] = ack["seq"]
        ack = await reliably(lambda: self.staff, "message:send", {
            "chat_id": self.chat_id, "client_id": f"s{self.turn}", "text": f"reply {self.turn}"})
        self.log.append((time.monotonic(), f"s{self.turn}", ack, RETRIED.copy()))
        self.acked[("staff", f"s{self.turn}")] = ack["seq"]

    async def check(self) -> None:
        """Both sides see every acknowledged message exactly once, in seq order, with the seq of its ack."""
        expected = sorted((seq, sender, cid) for (sender, cid), seq in self.acked.items())
        assert [seq for seq, _, _ in expected] == list(range(1, len(expected) + 1)), (
            self.chat_id, [e for e in expected if [x[0] for x in expected].count(e[0]) > 1],
            [e[:3] for e in self.log if [x[0] for x in expected].count(e[2]["seq"]) > 1], PHASES)
        sides = ((self.visitor, {"after_seq": 0}), (self.staff, {"chat_id": self.chat_id, "after_seq": 0}))
        for side, payload in sides:
            # Paged as the protocol says: a long chat comes in pages of limits.fetch_page_size.
            got: list[tuple[int, str, str]] = []
            while True:
                ack = await reliably(side, "messages:fetch", {**payload, "after_seq": got[-1][0] if got else 0})
                got += [(m["seq"], m["sender"], m["client_id"]) for m in ack["messages"]]
                if not ack["more"]:
                    break
            assert got == expected, (side.namespace, self.chat_id, "missing", sorted(set(expected) - set(got)),
                                     "unexpected", sorted(set(got) - set(expected)), len(got), len(expected))
            # What arrived live never gave one seq to two messages.
            live = {(m["seq"], m["client_id"]) for m in side.received["message:new"] if m["chat_id"] == self.chat_id}
            assert len({seq for seq, _ in live}) == len(live), live


async def resume_elsewhere(conversation: Conversation, url: str) -> None:
    """What the widget does when its worker dies: a new socket on another worker, chat:resume with last_seq."""
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        visitor = Visitor(url)
        try:
            # As for staff: the connect handler counts the socket in the chat store, so a connect
            # made during the switch-over is refused and the widget's reconnection tries again.
            await visitor.connect()
            break
        except Exception:
            RETRIED["visitor connect"] = RETRIED.get("visitor connect", 0) + 1
            with contextlib.suppress(Exception):
                await visitor.disconnect()
            assert time.monotonic() < deadline, "the visitor socket was never accepted"
            await asyncio.sleep(0.2)
    visitor.token, visitor.chat_id = conversation.visitor.token, conversation.chat_id
    last = max(conversation.acked.values(), default=0)
    await reliably(visitor, "chat:resume", {"resume_token": visitor.token, "last_seq": last})
    conversation.visitor = visitor


async def sync_elsewhere(username: str, url: str) -> StaffMember:
    """What the console does when its worker dies: a new socket on another worker, staff:sync."""
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        # The login throttle is in the chat store: during the failover it answers internal_error, retried.
        try:
            cookie = await login(url, username, PASSWORD)
            break
        except AssertionError as exc:
            assert "internal_error" in str(exc) and time.monotonic() < deadline, exc
            RETRIED["login"] = RETRIED.get("login", 0) + 1
            await asyncio.sleep(0.2)
    while True:
        member = StaffMember(url, cookie)
        try:
            # The connect handler counts the socket in the chat store: refused while it fails over.
            await member.connect()
            break
        except Exception:
            RETRIED["staff connect"] = RETRIED.get("staff connect", 0) + 1
            with contextlib.suppress(Exception):
                await member.disconnect()
            assert time.monotonic() < deadline, "the staff socket was never accepted"
            await asyncio.sleep(0.2)
    await reliably(member, "staff:sync", {})
    return member


async def converse(conversations: list[Conversation], rounds: int) -> None:
    for _ in range(rounds):
        await asyncio.gather(*(c.exchange() for c in conversations))


async def converse_until(conversations: list[Conversation], stop: asyncio.Event) -> None:
    """Every chat exchanges messages on its own until stop is set."""
    async def chat(conversation: Conversation) -> None:
        while not stop.is_set():
            await conversation.exchange()

    await asyncio.gather(*(chat(c) for c in conversations))


def assert_no_state_lost(visitors: list[Visitor], members: list[StaffMember]) -> None:
    for visitor in visitors:
        assert visitor.received["chat:ended"] == [], visitor.received["chat:ended"]
    for member in members:
        assert member.received["staff:resync"] == [], member.received["staff:resync"]


# Two failovers, a worker restart and 20 chats: about a minute alone, more on a shared machine.
@pytest.mark.timeout(300)
async def test_failover_and_switch_over_are_non_events(tmp_path: Path, pg_url: str) -> None:
    deployment = start_sentinel_deployment(tmp_path / "redis")
    canary = "canary-" + secrets.token_hex(8)
    staff_accounts = (("aino", "Aino", CHATS // 2), ("leo", "Leo", CHATS // 2))
    visitors: list[Visitor] = []
    members: list[StaffMember] = []
    try:
        async with cluster(tmp_path, deployment.url, new_prefix(), pg_url, staff=staff_accounts) as workers:
            try:
                members = [await staff_on(workers.urls[0], "aino"), await staff_on(workers.urls[1], "leo")]
                for n in range(CHATS):
                    visitor = Visitor(workers.urls[n % 2])
                    visitors.append(visitor)
                    await visitor.connect()
                    await visitor.start("fi")
                conversations = []
                for visitor in visitors:
                    chat_id = visitor.chat_id

                    async def holder(chat_id: str | None = chat_id) -> StaffMember | None:
                        return next((m for m in members
                                     if any(c["chat_id"] == chat_id for c in m.received["chat:assigned"])), None)

                    conversations.append(Conversation(visitor, await wait_until(holder, 15, "assigned"), canary))
                await converse(conversations, 2)

                # 1. kill -9 of the primary while every chat is exchanging messages.
                old = deployment.primary()
                stop = asyncio.Event()
                talking = asyncio.create_task(converse_until(conversations, stop))
                await asyncio.sleep(0.3)
                old.kill()
                PHASES.append(("killed primary", time.monotonic()))
                await asyncio.to_thread(deployment.wait_primary_moved, old.port)
                PHASES.append(("promoted", time.monotonic()))
                await asyncio.sleep(1)
                stop.set()
                await talking
                assert RETRIED.get("message:send"), "the failover happened between messages: nothing was retried"
                await converse(conversations, 1)
                for conversation in conversations:
                    await conversation.check()
                assert_no_state_lost(visitors, members)
                records = log_records(workers.output())
                failovers = [r for r in records if "failed over" in r.get("msg", "")]
                assert 1 <= len(failovers) <= 2, failovers  # once per worker that noticed it
                assert not [r for r in records if "lost its contents" in r.get("msg", "")]

                # One node left: serving, but /healthz tells monitoring it is not redundant.
                await wait_until(lambda: _statuses(workers.urls, {"degraded"}), 10, "both workers degraded")

                # The killed node comes back empty; the Sentinels make it a replica.
                deployment.restart_as_replica(old)
                deployment.wait_replica_in_sync(30)
                await wait_until(lambda: _statuses(workers.urls, {"ok"}), 10, "both workers ok (a replica in sync)")

                # 2. A planned switch-over, again while messages flow, and a kill -9 of the
                # second worker meanwhile: its visitors and staff member reconnect to the first.
                before = deployment.primary_port()
                stop = asyncio.Event()
                talking = asyncio.create_task(converse_until(conversations, stop))
                await asyncio.sleep(0.3)
                PHASES.append(("switch-over", time.monotonic()))
                await asyncio.to_thread(deployment.switch_over)
                os.kill(workers.worker_pids()[workers.ports[1]], signal.SIGKILL)
                leo = await sync_elsewhere("leo", workers.urls[0])
                for conversation in conversations:
                    if conversation.staff is members[1]:
                        conversation.staff = leo
                members.append(leo)
                await asyncio.gather(*(
                    resume_elsewhere(c, workers.urls[0]) for c in conversations if c.visitor.base_url == workers.urls[1]
                ))
                await asyncio.to_thread(deployment.wait_primary_moved, before)
                PHASES.append(("switched", time.monotonic()))
                await asyncio.sleep(1)
                stop.set()
                await talking
                await converse(conversations, 1)
                for conversation in conversations:
                    await conversation.check()
                assert_no_state_lost(visitors, members)
                print("retried during the failovers:", RETRIED)

                # Every chat ends once, and its row is written once.
                for conversation in conversations:
                    ack = await reliably(conversation.staff, "chat:end",
                                         {"chat_id": conversation.chat_id, "topics": [TOPIC]})
                    assert ack["outcome"] == "answered"
                rows = await wait_until(
                    lambda: _rows_when(pg_url, CHATS), 15, f"{CHATS} session rows")
                assert len({r["id"] for r in rows}) == CHATS
                assert all(r["outcome"] == "answered" and r["topics"] == [TOPIC] for r in rows)
                turns = sorted(c.turn for c in conversations)
                assert sorted(r["visitor_messages"] for r in rows) == turns, rows
                assert sorted(r["staff_messages"] for r in rows) == turns, rows
            finally:
                for client in [*visitors, *members]:
                    with contextlib.suppress(Exception):
                        await client.disconnect()
        assert canary not in workers.output()
    finally:
        deployment.stop()
    assert_nothing_on_disk(deployment, canary)


def assert_nothing_on_disk(deployment: SentinelDeployment, canary: str) -> None:
    """No node wrote a file (no RDB, no AOF, no sync file); no file of any node or Sentinel holds the canary."""
    assert deployment.files() == [], deployment.files()
    everything = [p for p in deployment.root.rglob("*") if p.is_file()]
    assert any(p.name == "sentinel.conf" for p in everything)
    for path in everything:
        assert canary.encode() not in path.read_bytes(), path


async def _statuses(urls: list[str], wanted: set[str]) -> bool:
    """Whether every worker's /healthz answers 200 with one of these statuses."""
    async with aiohttp.ClientSession() as http:
        for url in urls:
            async with http.get(f"{url}/healthz") as r:
                if r.status != 200 or (await r.json())["status"] not in wanted:
                    return False
    return True


async def _rows_when(pg_url: str, count: int) -> list[dict[str, Any]] | None:
    rows = await session_rows(pg_url)
    return rows if len(rows) >= count else None

