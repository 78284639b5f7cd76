"""One contract for both group stores (memory and Redis): every command, its refusals, and concurrent changes.

"Workers" are separate store instances (for Redis, separate clients and pools,
as separate processes would have); the memory store has one process, so its
workers share one instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from chat_server import errors
from chat_server.groups import room as commands
from chat_server.groups.room import GroupError, Participant, Room, nickname_key
from chat_server.groups.store import GroupStore, MemoryGroupStore, RedisGroupStore
from tests.support.redis import redis_keys

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
ROOM = "7-2026-11-29"

Workers = Callable[[int], Awaitable[list[GroupStore]]]


def fresh(capacity: int = 3, max_waiting: int = 2) -> Room:
    return commands.new_room(ROOM, T0, T0, T0 + timedelta(hours=2), capacity, max_waiting, "fi")


def person(n: int, address: str | None = None) -> Participant:
    return Participant(f"p_{n:04x}", f"Nick {n}", nickname_key(f"Nick {n}"), f"token{n}", [address or f"addr{n}"])


def join(member: Participant) -> Callable[[Room], tuple[commands.Effects, None]]:
    return lambda room: (commands.join(room, member), None)


def send(member_id: str, client_id: str, text: str, at: datetime = T0, per_second: int = 1000) -> Callable[
    [Room], tuple[commands.Effects, tuple[int, bool]]
]:
    def change(room: Room) -> tuple[commands.Effects, tuple[int, bool]]:
        effects, seq, duplicate = commands.send(room, member_id, client_id, text, at, per_second)
        return effects, (seq, duplicate)

    return change


@pytest.fixture(params=["memory", "redis"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[Workers]:
    opened: list[GroupStore] = []
    memory = MemoryGroupStore(max_messages=50)

    async def make(n: int) -> list[GroupStore]:
        if request.param == "memory":
            return [memory] * n
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        stores: list[GroupStore] = [
            RedisGroupStore.from_url(url, prefix, ttl_seconds=3600, max_connections=20, max_messages=50)
            for _ in range(n)
        ]
        opened.extend(stores)
        return stores

    yield make
    for store in opened:
        await store.close()
    await memory.close()


async def test_join_send_resume_and_end_delete_everything(workers: Workers, request: pytest.FixtureRequest) -> None:
    (store,) = await workers(1)
    await store.open_room(fresh())
    again = await store.open_room(fresh(capacity=9))
    assert again.capacity == 3  # an open room is never replaced
    a, b = person(1), person(2)
    await store.change(ROOM, join(a))
    await store.change(ROOM, join(b))
    assert await store.change(ROOM, send(a.member_id, "m1", "hello")) == (1, False)
    assert await store.change(ROOM, send(b.member_id, "m1", "hi")) == (2, False)
    # A repeated client id is the first message again, counted once.
    assert await store.change(ROOM, send(a.member_id, "m1", "hello")) == (1, True)
    assert [m.text for m in await store.messages_after(ROOM, 0, 10)] == ["hello", "hi"]
    assert [m.seq for m in await store.messages_after(ROOM, 1, 10)] == [2]
    assert await store.member_by_token("token1") == (ROOM, a.member_id)
    room = await store.room(ROOM)
    assert room is not None and room.counts.messages == 2 and room.counts.total_participants == 2
    ended = await store.end_room(ROOM)
    assert ended is not None and ended.counts.peak_participants == 2
    assert await store.end_room(ROOM) is None  # only the first caller gets it
    assert await store.room(ROOM) is None
    assert await store.messages_after(ROOM, 0, 10) == []
    assert await store.member_by_token("token1") is None
    assert await store.rooms() == []
    if isinstance(store, RedisGroupStore):
        assert redis_keys(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")) == {}


async def test_capacity_waiting_list_and_promotion(workers: Workers) -> None:
    (store,) = await workers(1)
    await store.open_room(fresh(capacity=2, max_waiting=1))
    people = [person(n) for n in range(4)]
    for member in people[:3]:
        await store.change(ROOM, join(member))
    with pytest.raises(GroupError) as full:
        await store.change(ROOM, join(people[3]))
    assert full.value.code == errors.GROUP_FULL
    room = await store.room(ROOM)
    assert room is not None and room.waiting == [people[2].member_id] and room.members[people[2].member_id].waiting
    with pytest.raises(GroupError) as waiting:
        await store.change(ROOM, send(people[2].member_id, "x", "too early"))
    assert waiting.value.code == errors.STILL_WAITING

    def leave(room: Room) -> tuple[commands.Effects, list[str]]:
        return commands.leave(room, people[0].member_id)

    assert await store.change(ROOM, leave) == [people[2].member_id]
    room = await store.room(ROOM)
    assert room is not None and room.waiting == [] and len(room.present()) == 2
    assert room.counts.total_participants == 3 and room.counts.peak_participants == 2
    assert await store.member_by_token("token0") is None


async def test_refusals_change_nothing(workers: Workers) -> None:
    (store,) = await workers(1)
    await store.open_room(fresh())
    a = person(1)
    await store.change(ROOM, join(a))
    before = (await store.room(ROOM)).dumps()  # type: ignore[union-attr]
    same_nick = Participant("p_ffff", "NICK 1", nickname_key("ñick  1"), "t", ["other"])
    with pytest.raises(GroupError) as taken:
        await store.change(ROOM, join(same_nick))
    assert taken.value.code == errors.NICKNAME_TAKEN
    with pytest.raises(GroupError) as unknown:
        await store.change(ROOM, lambda room: (commands.remove_message(room, 5), None))
    assert unknown.value.code == errors.MESSAGE_NOT_FOUND
    with pytest.raises(GroupError) as stranger:
        await store.change(ROOM, send("p_dead", "x", "hello"))
    assert stranger.value.code == errors.NOT_IN_GROUP
    assert (await store.room(ROOM)).dumps() == before  # type: ignore[union-attr]
    with pytest.raises(GroupError) as gone:
        await store.change("1-2000-01-01", join(person(9)))
    assert gone.value.code == errors.GROUP_NOT_RUNNING


async def test_moderation_commands(workers: Workers) -> None:
    (store,) = await workers(1)
    await store.open_room(fresh(capacity=5))
    a, b = person(1, "shared"), person(2)
    await store.change(ROOM, join(a))
    await store.change(ROOM, join(b))
    await store.change(ROOM, send(a.member_id, "m1", "first"))
    await store.change(ROOM, send(b.member_id, "m1", "second"))
    await store.change(ROOM, lambda room: (commands.remove_message(room, 1), None))
    assert [m.seq for m in await store.messages_after(ROOM, 0, 10)] == [2]
    with pytest.raises(GroupError) as again:
        await store.change(ROOM, lambda room: (commands.remove_message(room, 1), None))
    assert again.value.code == errors.MESSAGE_NOT_FOUND
    await store.change(ROOM, lambda room: (commands.mute(room, b.member_id, True), None))
    with pytest.raises(GroupError) as muted:
        await store.change(ROOM, send(b.member_id, "m2", "muted now"))
    assert muted.value.code == errors.MUTED
    await store.change(ROOM, lambda room: (commands.set_paused(room, True), None))
    with pytest.raises(GroupError) as paused:
        await store.change(ROOM, send(a.member_id, "m2", "paused"))
    assert paused.value.code == errors.GROUP_PAUSED
    await store.change(ROOM, lambda room: (commands.set_paused(room, False), None))
    await store.change(ROOM, lambda room: (commands.set_slow(room, 30), None))
    await store.change(ROOM, send(a.member_id, "m3", "slow one", T0 + timedelta(seconds=60)))
    with pytest.raises(GroupError) as slow:
        await store.change(ROOM, send(a.member_id, "m4", "slow two", T0 + timedelta(seconds=70)))
    assert slow.value.code == errors.SLOW_MODE
    assert await store.change(ROOM, send(a.member_id, "m5", "later", T0 + timedelta(seconds=91))) == (4, False)
    await store.change(ROOM, lambda room: (commands.report(room, a.member_id, 2), None))
    await store.change(ROOM, lambda room: commands.remove(room, a.member_id))
    with pytest.raises(GroupError) as back:
        await store.change(ROOM, join(Participant("p_abcd", "Another", "another", "t9", ["shared"])))
    assert back.value.code == errors.REMOVED_FROM_GROUP
    ended = await store.end_room(ROOM)
    assert ended is not None
    counts = ended.counts
    assert (counts.messages, counts.removed_messages, counts.reports, counts.muted, counts.removed_participants) == (
        4, 1, 1, 1, 1
    )


async def test_room_rate_limit(workers: Workers) -> None:
    (store,) = await workers(1)
    await store.open_room(fresh(capacity=5))
    a, b = person(1), person(2)
    await store.change(ROOM, join(a))
    await store.change(ROOM, join(b))
    for n in range(3):
        await store.change(ROOM, send(a.member_id if n % 2 else b.member_id, f"m{n}", "x", T0, per_second=3))
    with pytest.raises(GroupError) as flood:
        await store.change(ROOM, send(a.member_id, "m9", "x", T0, per_second=3))
    assert flood.value.code == errors.RATE_LIMITED
    assert await store.change(ROOM, send(a.member_id, "m9", "x", T0 + timedelta(seconds=1), 3)) == (4, False)


async def test_concurrent_sends_from_many_workers_get_distinct_seqs(workers: Workers) -> None:
    stores = await workers(4)
    await stores[0].open_room(fresh(capacity=20))
    people = [person(n) for n in range(12)]
    for member in people:
        await stores[0].change(ROOM, join(member))

    async def burst(i: int, member: Participant) -> list[int]:
        store = stores[i % len(stores)]
        return [(await store.change(ROOM, send(member.member_id, f"m{k}", f"{i}/{k}")))[0] for k in range(5)]

    results = await asyncio.gather(*(burst(i, m) for i, m in enumerate(people)))
    seqs = sorted(s for each in results for s in each)
    assert seqs == list(range(1, 61))
    for each in results:
        assert each == sorted(each)  # one sender's messages keep their order
    kept = await stores[1].messages_after(ROOM, 0, 100)
    assert [m.seq for m in kept] == list(range(11, 61))  # max_messages=50 keeps the latest
    assert (await stores[2].room(ROOM)).counts.messages == 60  # type: ignore[union-attr]


async def test_away_participants_leave_after_the_grace(workers: Workers) -> None:
    (store,) = await workers(1)
    await store.open_room(fresh(capacity=1, max_waiting=1))
    a, b = person(1), person(2)
    await store.change(ROOM, join(a))
    await store.change(ROOM, join(b))
    await store.change(ROOM, lambda room: (commands.attach(room, a.member_id, "sid-new"), None))
    # A late drop of a replaced socket changes nothing.
    await store.change(ROOM, lambda room: (commands.detach(room, a.member_id, "sid-old", T0), None))
    assert await store.change(ROOM, lambda room: commands.expire_away(room, T0 + timedelta(hours=1), 60)) == []
    await store.change(ROOM, lambda room: (commands.detach(room, a.member_id, "sid-new", T0), None))
    assert await store.change(ROOM, lambda room: commands.expire_away(room, T0 + timedelta(seconds=30), 60)) == []
    promoted = await store.change(ROOM, lambda room: commands.expire_away(room, T0 + timedelta(seconds=60), 60))
    assert promoted == [b.member_id]


def test_nickname_key_folds_case_accents_and_punctuation() -> None:
    assert nickname_key("Modérator") == nickname_key("M.O.D.E.R.A.T.O.R") == "moderator"
    assert nickname_key("ＡＩＮＯ") == "aino"  # full-width letters
    assert nickname_key("...") == ""


async def test_a_pin_and_invitations_live_with_the_room_and_end_with_it(
    workers: Workers, request: pytest.FixtureRequest
) -> None:
    first, second = await workers(2)
    await first.open_room(fresh())
    a = person(1)
    await first.change(ROOM, join(a))
    await first.change(ROOM, send(a.member_id, "m1", "a participant"))
    await first.change(ROOM, lambda room: commands.moderator_send(room, "Pia", "Pinned words", T0))
    participants_message, moderators_message = await second.messages_after(ROOM, 0, 10)
    with pytest.raises(GroupError) as refused:
        await second.change(ROOM, lambda room: (commands.pin(room, participants_message), None))
    assert refused.value.code == errors.MESSAGE_NOT_PINNABLE
    assert (await first.room(ROOM)).pinned is None  # type: ignore[union-attr]
    await second.change(ROOM, lambda room: (commands.pin(room, moderators_message), None))
    await second.change(ROOM, lambda room: (commands.invite(room, a.member_id), None))
    seen = await first.room(ROOM)  # another worker sees both
    assert seen is not None and seen.counts.invitations == 1
    assert seen.pinned == {"kind": "message", "seq": 2, "nickname": "Pia", "text": "Pinned words", "at": T0.isoformat()}
    with pytest.raises(GroupError) as nobody:
        await first.change(ROOM, lambda room: (commands.invite(room, "p_ffff"), None))
    assert nobody.value.code == errors.PARTICIPANT_NOT_FOUND
    await first.change(ROOM, lambda room: (commands.remove_message(room, 2), None))
    assert (await second.room(ROOM)).pinned is None  # type: ignore[union-attr]
    await first.change(ROOM, lambda room: (commands.pin(room, None), None))
    assert (await second.room(ROOM)).pinned == {"kind": "rules"}  # type: ignore[union-attr]
    ended = await second.end_room(ROOM)
    assert ended is not None and ended.counts.invitations == 1 and ended.pinned == {"kind": "rules"}
    assert await first.room(ROOM) is None
    if isinstance(first, RedisGroupStore):
        assert redis_keys(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")) == {}
