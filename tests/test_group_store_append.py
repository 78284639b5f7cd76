"""A group message is an append: both stores refuse and accept exactly alike, the Redis store writes
only the sender's entry, the counters and the message, and waits for a replica like chat writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from chat_server import errors
from chat_server.groups import room as commands
from chat_server.groups.room import CLIENT_IDS_KEPT, GroupError, Participant, nickname_key
from chat_server.groups.store import GroupStore, MemoryGroupStore, RedisGroupStore
from chat_server.store.redis import NotReplicatedError, RedisChatStore
from tests.support.sentinel import start_data_node

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
ROOM = "9-2026-11-29"


def person(n: int) -> Participant:
    return Participant(f"p_{n:04x}", f"Nick {n}", nickname_key(f"Nick {n}"), f"token{n}", [f"addr{n}"])


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[GroupStore]:
    opened: GroupStore
    if request.param == "memory":
        opened = MemoryGroupStore(max_messages=5)
    else:
        opened = RedisGroupStore.from_url(
            request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"), ttl_seconds=3600,
            max_connections=5, max_messages=5,
        )
    yield opened
    await opened.close()


async def _room(store: GroupStore, people: int, capacity: int = 10) -> list[Participant]:
    await store.open_room(commands.new_room(ROOM, T0, T0, T0 + timedelta(hours=2), capacity, 5, "fi"))
    members = [person(n) for n in range(people)]
    for member in members:
        await store.change(ROOM, lambda room, member=member: (commands.join(room, member), None))
    return members


async def _refused(store: GroupStore, member_id: str, client_id: str, at: datetime, per_second: int = 100) -> str:
    with pytest.raises(GroupError) as refused:
        await store.send(ROOM, member_id, client_id, "no", at, per_second)
    return refused.value.code


async def test_send_checks_and_counts_alike_in_both_stores(store: GroupStore) -> None:
    a, b, c = await _room(store, 3, capacity=2)
    assert await _refused(store, "p_ffff", "x", T0) == errors.NOT_IN_GROUP
    assert await _refused(store, c.member_id, "x", T0) == errors.STILL_WAITING
    seq, duplicate, message = await store.send(ROOM, a.member_id, "a1", "hello", T0, 100)
    assert (seq, duplicate) == (1, False) and message is not None
    assert (message.nickname, message.member_id, message.moderator, message.at) == (
        "Nick 0", a.member_id, False, T0.isoformat())
    assert await store.send(ROOM, a.member_id, "a1", "hello", T0, 100) == (1, True, None)
    seq, _, said = await store.send(ROOM, None, "", "welcome", T0, 0, alias="Pia")
    assert seq == 2 and said is not None and (said.nickname, said.member_id, said.moderator) == ("Pia", None, True)
    await store.change(ROOM, lambda room: (commands.mute(room, b.member_id, True), None))
    assert await _refused(store, b.member_id, "b1", T0) == errors.MUTED
    await store.change(ROOM, lambda room: (commands.mute(room, b.member_id, False), None))
    await store.change(ROOM, lambda room: (commands.set_paused(room, True), None))
    assert await _refused(store, b.member_id, "b1", T0) == errors.GROUP_PAUSED
    await store.change(ROOM, lambda room: (commands.set_paused(room, False), None))
    await store.change(ROOM, lambda room: (commands.set_slow(room, 10), None))
    with pytest.raises(GroupError) as slow:
        await store.send(ROOM, a.member_id, "a2", "again", T0 + timedelta(seconds=9.5), 100)
    assert slow.value.code == errors.SLOW_MODE and "10 seconds" in slow.value.message
    assert (await store.send(ROOM, a.member_id, "a2", "again", T0 + timedelta(seconds=10), 100))[0] == 3
    await store.change(ROOM, lambda room: (commands.set_slow(room, 0), None))
    # Two a second for the whole room: the third within the same second is refused, the next second is new.
    later = T0 + timedelta(seconds=60)
    assert (await store.send(ROOM, b.member_id, "b1", "one", later, 2))[0] == 4
    assert (await store.send(ROOM, a.member_id, "a3", "two", later + timedelta(milliseconds=500), 2))[0] == 5
    assert await _refused(store, b.member_id, "b2", later + timedelta(milliseconds=999), 2) == errors.RATE_LIMITED
    assert (await store.send(ROOM, b.member_id, "b2", "three", later + timedelta(seconds=1), 2))[0] == 6
    room = await store.room(ROOM)
    assert room is not None
    assert (room.last_seq, room.counts.messages, room.window_count) == (6, 6, 1)
    assert room.members[a.member_id].client_ids == {"a1": 1, "a2": 3, "a3": 5}
    assert room.members[a.member_id].last_sent == (later + timedelta(milliseconds=500)).timestamp()
    # The store keeps the last five (max_messages): the oldest went.
    assert [m.seq for m in await store.messages_after(ROOM, 0, 10)] == [2, 3, 4, 5, 6]
    # A general change sees what the appends did and keeps it.
    await store.change(ROOM, lambda room: (commands.remove_message(room, 4), None))
    assert [m.seq for m in await store.messages_after(ROOM, 0, 10)] == [2, 3, 5, 6]
    ended = await store.end_room(ROOM)
    assert ended is not None and ended.counts.messages == 6 and ended.counts.removed_messages == 1
    with pytest.raises(GroupError) as gone:
        await store.send(ROOM, a.member_id, "a9", "late", later, 100)
    assert gone.value.code == errors.GROUP_NOT_RUNNING


async def test_client_ids_kept_and_forgotten_oldest_first(store: GroupStore) -> None:
    (a,) = await _room(store, 1)
    for n in range(CLIENT_IDS_KEPT + 1):
        await store.send(ROOM, a.member_id, f"c{n}", f"m{n}", T0 + timedelta(seconds=n), 100)
    room = await store.room(ROOM)
    assert room is not None and list(room.members[a.member_id].client_ids) == [
        f"c{n}" for n in range(1, CLIENT_IDS_KEPT + 1)]
    # The first is forgotten: sent again it is a new message; the second is still a duplicate.
    assert (await store.send(ROOM, a.member_id, "c1", "again", T0 + timedelta(seconds=99), 100))[1] is True
    assert (await store.send(ROOM, a.member_id, "c0", "again", T0 + timedelta(seconds=99), 100))[1] is False
    await store.end_room(ROOM)


async def test_concurrent_sends_and_changes_across_workers(redis_url: str, redis_prefix: str) -> None:
    workers = [RedisGroupStore.from_url(redis_url, redis_prefix, 3600, 10, 1000) for _ in range(3)]
    try:
        people = await _room(workers[0], 6, capacity=6)

        async def talk(n: int, member: Participant) -> list[int]:
            seqs = []
            for k in range(15):
                seqs.append((await workers[n % 3].send(ROOM, member.member_id, f"k{k}", "hi", T0, 10_000))[0])
            return seqs

        async def moderate() -> None:
            for k in range(10):
                await workers[1].change(ROOM, lambda room, k=k: (commands.moderator_present(room, k), None))
                await workers[2].change(ROOM, lambda room: (commands.invite(room, people[0].member_id), None))

        *sent, _ = await asyncio.gather(*(talk(n, m) for n, m in enumerate(people)), moderate())
        assert sorted(seq for seqs in sent for seq in seqs) == list(range(1, 91))
        room = await workers[0].room(ROOM)
        assert room is not None and room.counts.messages == 90 and room.counts.invitations == 10
        assert all(len(room.members[m.member_id].client_ids) == 15 for m in people)
        assert len(await workers[0].messages_after(ROOM, 0, 1000)) == 90
        await workers[0].end_room(ROOM)
    finally:
        for worker in workers:
            await worker.close()


async def test_a_message_rewrites_nothing_of_the_room(redis_url: str, redis_prefix: str) -> None:
    """Structurally: one hash field per participant, the room's cold part untouched by messages."""
    store = RedisGroupStore.from_url(redis_url, redis_prefix, 3600, 5, 1000)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        people = await _room(store, 50, capacity=60)
        types = {kind: client.type(f"{redis_prefix}{kind}:{ROOM}") for kind in ("groom", "gmembers", "gmhot")}
        assert types == {"groom": "hash", "gmembers": "hash", "gmhot": "hash"}
        await store.send(ROOM, people[0].member_id, "warm", "first", T0, 1000)
        before = _parts(client, redis_prefix)
        for n in range(1, 40):
            await store.send(ROOM, people[1].member_id, f"m{n}", f"message {n}", T0 + timedelta(seconds=n), 1000)
        meta, cold, hot = _parts(client, redis_prefix)
        # Neither the room's cold part nor any participant changed but the sender's own small entry.
        assert meta == before[0] and cold == before[1]
        sender = people[1].member_id
        assert {k: v for k, v in hot.items() if k != sender} == {k: v for k, v in before[2].items() if k != sender}
        # The messages are members of a sorted set, one per message: each written once, never rewritten.
        assert client.type(f"{redis_prefix}gmsgs:{ROOM}") == "zset"
        assert client.zcard(f"{redis_prefix}gmsgs:{ROOM}") == 40
        assert client.zrangebyscore(f"{redis_prefix}gmsgs:{ROOM}", 1, 1) == before_first(client, redis_prefix)
        assert client.hget(f"{redis_prefix}groom:{ROOM}", "last_seq") == "40"
        await store.end_room(ROOM)
    finally:
        client.close()
        await store.close()


def _parts(client: redis.Redis, prefix: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The room's cold part, every participant's entry and every participant's message entry."""
    return (str(client.hget(f"{prefix}groom:{ROOM}", "meta")), dict(client.hgetall(f"{prefix}gmembers:{ROOM}")),
            dict(client.hgetall(f"{prefix}gmhot:{ROOM}")))


def before_first(client: redis.Redis, prefix: str) -> list[str]:
    found = client.zrangebyscore(f"{prefix}gmsgs:{ROOM}", 1, 1)
    assert len(found) == 1 and '"first"' in found[0]
    return list(found)


async def test_group_writes_wait_for_a_replica_like_chat_writes(tmp_path: Path) -> None:
    primary = start_data_node(tmp_path / "primary")
    replica = start_data_node(tmp_path / "replica", replica_of=primary.port)
    url = f"redis://127.0.0.1:{primary.port}/0"
    chat = RedisChatStore.from_url(url, prefix="gw:", wait_replicas=1, replica_timeout_ms=3000)
    store = RedisGroupStore.from_url(url, "gw:", 3600, 5, 100, replication=chat)
    try:
        for _ in range(100):
            if (await chat.replication())[1]:
                break
            await asyncio.sleep(0.1)
        assert chat.confirmation() == (1, None)
        people = await _room(store, 2)
        assert (await store.send(ROOM, people[0].member_id, "a", "hello", T0, 100))[0] == 1
        # Every write waited for the replica: it has the room and the message already.
        on_replica = redis.Redis(port=replica.port, decode_responses=True)
        try:
            assert on_replica.zcard(f"gw:gmsgs:{ROOM}") == 1
            assert on_replica.hget(f"gw:groom:{ROOM}", "last_seq") == "1"
        finally:
            on_replica.close()
        replica.stop()
        # The chat store still expects a replica: nothing is acknowledged alone, a message or a change.
        chat._wait_for = 1
        with pytest.raises(NotReplicatedError):
            await store.send(ROOM, people[1].member_id, "b", "alone", T0, 100)
        chat._wait_for = 1
        with pytest.raises(NotReplicatedError):
            await store.change(ROOM, lambda room: (commands.set_paused(room, True), None))
    finally:
        await store.close()
        await chat.close()
        replica.stop()
        primary.stop()
