"""One contract for every chat store: each operation, each edge, and the decisions that must not race.

Every test runs against the in-memory store and the Redis store. "Workers" are
separate store instances (for Redis, separate clients and pools, as separate
processes would have); the memory store has one process, so its workers share
one instance.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from chat_server.chat.models import Chat, ChatState, EndReason, Outcome, Sender, StaffPresence
from chat_server.store.base import Admission, ChatFull, ChatStore, SendRefusal, Sent
from chat_server.store.memory import MemoryChatStore
from chat_server.store.redis import RedisChatStore
from tests.support.redis import redis_keys, start_redis_server

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)

Workers = Callable[[int], Awaitable[list[ChatStore]]]


def chat(n: int) -> Chat:
    return Chat(f"c{n}", f"s{n}", f"r{n}", "fi", f"Guest {n}", ChatState.WAITING, T0 + timedelta(seconds=n))


def ids(chats: list[Chat]) -> list[str]:
    return [c.chat_id for c in chats]


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ChatStore]:
    if request.param == "memory":
        memory = MemoryChatStore()
        yield memory
        await memory.close()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    redis_store = RedisChatStore.from_url(url, prefix=prefix)
    yield redis_store
    await redis_store.close()


@pytest.fixture
async def workers(store: ChatStore, request: pytest.FixtureRequest) -> AsyncIterator[Workers]:
    """Make n store instances over the same data, like n worker processes."""
    opened: list[RedisChatStore] = []

    async def make(n: int) -> list[ChatStore]:
        if not isinstance(store, RedisChatStore):
            return [store] * n
        url = request.getfixturevalue("redis_url")
        more = [RedisChatStore.from_url(url, prefix=store.prefix) for _ in range(n)]
        opened.extend(more)
        return list(more)

    yield make
    for s in opened:
        await s.close()


@pytest.fixture
async def rstore(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisChatStore]:
    """A Redis store alone, for checks of the key layout that the memory store has no part in."""
    redis_store = RedisChatStore.from_url(redis_url, prefix=redis_prefix)
    yield redis_store
    await redis_store.close()


# --- chats and the queue ---------------------------------------------------------


async def test_create_and_get_round_trip_every_field(store: ChatStore) -> None:
    full = Chat(
        "c-full", "sess", "rh", "sv", "Guest 1234", ChatState.WAITING, T0, staff_id=None, shift_id=42,
        assigned_at=None, first_assigned_at=T1, last_seq=0, visitor_messages=0, staff_messages=0,
        visitor_connected=False, visitor_left_at=T2, visitor_sid="sid-full", visitor_worker="w-full", ended_at=None,
        end_reason=None, outcome=None, requested_language="th",
    )
    plain = chat(1)
    await store.create_chat(full)
    await store.create_chat(plain)
    assert await store.get_chat("c-full") == full
    assert await store.get_chat("c1") == plain
    got = await store.get_chat("c-full")
    assert got is not None and got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert await store.get_chat("nope") is None
    with pytest.raises(ValueError):
        await store.create_chat(replace(plain, resume_hash="other"))
    assert ids(await store.queue()) == ["c-full", "c1"]


async def test_resume_lookup(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    await store.create_chat(chat(2))
    assert await store.chat_by_resume_hash("r1") == chat(1)
    assert await store.chat_by_resume_hash("unknown") is None
    await store.staff_connected(7, "Aino", 3)
    assigned = await store.assign_next(7, 3, None, T1)
    assert await store.chat_by_resume_hash("r1") == assigned  # follows the chat's current state
    await store.end_chat("c1", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T2)
    assert await store.chat_by_resume_hash("r1") is None
    assert (await store.chat_by_resume_hash("r2")).chat_id == "c2"  # type: ignore[union-attr]


async def test_all_chats_and_queue_order(store: ChatStore) -> None:
    assert await store.all_chats() == [] and await store.queue() == []
    for n in range(5):
        await store.create_chat(chat(n))
    assert ids(await store.queue()) == ["c0", "c1", "c2", "c3", "c4"]
    assert await store.queue() == [chat(n) for n in range(5)]
    await store.assign_next(7, 3, None, T1)
    await store.end_chat("c2", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T1)
    assert ids(await store.queue()) == ["c1", "c3", "c4"]
    everything = {c.chat_id: c.state for c in await store.all_chats()}
    assert everything == {
        "c0": ChatState.ACTIVE, "c1": ChatState.WAITING, "c2": ChatState.ENDED,
        "c3": ChatState.WAITING, "c4": ChatState.WAITING,
    }
    await store.finish_chat("c2")
    assert sorted(ids(await store.all_chats())) == ["c0", "c1", "c3", "c4"]


async def test_chats_of_staff(store: ChatStore) -> None:
    for n in range(4):
        await store.create_chat(chat(n))
    await store.assign_next(7, 3, None, T1)  # c0
    await store.assign_next(8, 3, None, T1)  # c1
    await store.assign_next(7, 3, None, T1)  # c2
    assert sorted(ids(await store.chats_of_staff(7))) == ["c0", "c2"]
    assert ids(await store.chats_of_staff(8)) == ["c1"]
    assert await store.chats_of_staff(9) == []
    await store.end_chat("c0", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T2)  # ended, awaiting topics: still theirs
    await store.requeue("c2", T2)  # back in the queue: no longer theirs
    mine = await store.chats_of_staff(7)
    assert [(c.chat_id, c.state) for c in mine] == [("c0", ChatState.ENDED)]
    await store.finish_chat("c0")
    assert await store.chats_of_staff(7) == []


async def test_assign_next_capacity_shift_and_presence(store: ChatStore) -> None:
    assert await store.assign_next(7, 3, 1, T0) is None  # empty queue
    for n in range(4):
        await store.create_chat(chat(n))
    await store.staff_connected(7, "Aino", 2)
    first = await store.assign_next(7, 2, 99, T1)
    assert first == replace(
        chat(0), state=ChatState.ACTIVE, staff_id=7, shift_id=99, assigned_at=T1, first_assigned_at=T1
    )
    assert await store.get_chat("c0") == first
    presence = (await store.presences())[0]
    assert presence.last_chat_at == T1
    assert (await store.assign_next(7, 2, None, T1)).chat_id == "c1"  # type: ignore[union-attr]
    assert await store.assign_next(7, 2, 99, T1) is None  # at capacity
    assert ids(await store.queue()) == ["c2", "c3"]  # nothing popped by the refusal
    assert (await store.assign_next(7, 3, 99, T1)).chat_id == "c2"  # type: ignore[union-attr]  # capacity is per call
    assert await store.assign_next(7, 0, None, T1) is None
    # A staff member without a presence can still be given a chat; no presence appears.
    assert (await store.assign_next(8, 1, None, T2)).chat_id == "c3"  # type: ignore[union-attr]
    assert [p.staff_id for p in await store.presences()] == [7]
    assert await store.staff_loads() == {7: 3, 8: 1}

    # Requeued and reassigned: first_assigned_at and shift_id stay, assigned_at and staff change.
    second = await store.get_chat("c1")
    assert second is not None and second.shift_id is None
    await store.requeue("c0", T2)
    again = await store.assign_next(8, 3, 100, T2)
    assert again is not None and again.chat_id == "c0"
    assert (again.staff_id, again.shift_id, again.assigned_at, again.first_assigned_at) == (8, 99, T2, T1)
    await store.requeue("c1", T2)
    later = await store.assign_next(8, 3, 100, T2)
    assert later is not None and later.chat_id == "c1" and later.shift_id == 100  # none before: the new one


async def test_transfer_moves_an_active_chat_within_capacity(store: ChatStore) -> None:
    for n in range(4):
        await store.create_chat(chat(n))
    await store.staff_connected(8, "Bo", 2)
    await store.assign_next(7, 3, 11, T0)  # c0
    await store.assign_next(7, 3, 11, T0)  # c1
    await store.assign_next(8, 2, 12, T0)  # c2
    assert await store.transfer("c0", 7, 8, 2, T1) is None  # Bo is connected but not checked in
    await store.set_available(8, True, T0)
    assert await store.transfer("c0", 7, 9, 3, T1) is None  # nobody 9 is connected
    assert await store.transfer("c0", 9, 8, 2, T1) is None  # not from_staff's chat
    assert await store.transfer("c3", 7, 8, 5, T1) is None  # waiting
    assert await store.transfer("nope", 7, 8, 5, T1) is None
    moved = await store.transfer("c0", 7, 8, 2, T1)
    assert moved == replace(
        chat(0), state=ChatState.ACTIVE, staff_id=8, shift_id=11, assigned_at=T1, first_assigned_at=T0
    )
    assert await store.get_chat("c0") == moved
    assert (await store.presences())[0].last_chat_at == T1
    assert await store.transfer("c1", 7, 8, 2, T2) is None  # Bo is at capacity
    assert await store.staff_loads() == {7: 1, 8: 2}
    assert ids(await store.chats_of_staff(7)) == ["c1"]
    assert sorted(ids(await store.chats_of_staff(8))) == ["c0", "c2"]
    await store.staff_connected(7, "Aino", 3)
    await store.set_available(7, True, T0)
    assert (await store.transfer("c1", 7, 7, 3, T2)).assigned_at == T2  # type: ignore[union-attr]
    assert await store.staff_loads() == {7: 1, 8: 2}
    # Ending "my" chat does not end one just transferred away from me.
    assert await store.end_chat("c0", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2, staff_id=7) is None
    assert (await store.get_chat("c0")).state is ChatState.ACTIVE  # type: ignore[union-attr]
    assert (await store.end_chat("c1", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2, staff_id=7)) is not None
    assert await store.transfer("c1", 7, 9, 3, T2) is None  # ended
    assert await store.staff_loads() == {8: 2}


async def test_requeue_puts_chat_at_the_front(store: ChatStore) -> None:
    for n in range(3):
        await store.create_chat(chat(n))
    await store.assign_next(7, 3, 5, T1)
    assert await store.requeue("c1", T1) is None  # waiting, not active
    assert await store.requeue("nope", T1) is None
    back = await store.requeue("c0", T2)
    assert back == replace(chat(0), shift_id=5, first_assigned_at=T1, returns_to=7)
    assert back.state is ChatState.WAITING and back.staff_id is None and back.assigned_at is None  # type: ignore[union-attr]
    assert ids(await store.queue()) == ["c0", "c1", "c2"]
    assert await store.requeue("c0", T2) is None
    assert await store.staff_loads() == {}
    await store.assign_next(7, 3, None, T2)
    await store.end_chat("c0", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2)
    assert await store.requeue("c0", T2) is None  # ended


async def test_end_chat_once_from_each_state(store: ChatStore) -> None:
    for n in range(3):
        await store.create_chat(chat(n))
    await store.assign_next(7, 3, 3, T1)  # c0 active
    ended = await store.end_chat("c0", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2)
    assert ended == replace(
        chat(0), state=ChatState.ENDED, staff_id=7, shift_id=3, assigned_at=T1, first_assigned_at=T1,
        ended_at=T2, end_reason=EndReason.STAFF_ENDED, outcome=Outcome.ANSWERED,
    )
    assert await store.get_chat("c0") == ended
    assert await store.end_chat("c0", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T2) is None
    assert await store.staff_loads() == {}

    waiting = await store.end_chat("c1", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T2)
    assert waiting is not None and waiting.state is ChatState.ENDED and waiting.staff_id is None
    assert waiting.outcome is Outcome.ABANDONED and waiting.end_reason is EndReason.VISITOR_LEFT
    assert ids(await store.queue()) == ["c2"]
    assert await store.end_chat("nope", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T2) is None
    # An ended chat is still live (awaiting topics) until finished, but cannot resume.
    assert sorted(ids(await store.all_chats())) == ["c0", "c1", "c2"]
    assert await store.chat_by_resume_hash("r1") is None
    assert await store.set_visitor_connected("c0", False, T2, "sid-0") is None


async def test_finish_chat_once(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    assert await store.finish_chat("c1") is None  # waiting: not finished
    await store.assign_next(7, 3, None, T1)
    assert await store.finish_chat("c1") is None  # active: not finished
    ended = await store.end_chat("c1", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2)
    assert await store.finish_chat("c1") == ended
    assert await store.finish_chat("c1") is None
    assert await store.finish_chat("nope") is None
    assert await store.get_chat("c1") is None
    assert await store.all_chats() == [] and await store.chats_of_staff(7) == []
    # The id can be used again once the chat is gone.
    await store.create_chat(chat(1))
    assert await store.get_chat("c1") == chat(1)


async def test_set_visitor_connected(store: ChatStore) -> None:
    await store.create_chat(replace(chat(1), visitor_sid="sid-a"))
    # A socket that does not hold the chat cannot drop it (a late disconnect elsewhere).
    assert await store.set_visitor_connected("c1", False, T1, "sid-old") is None
    gone = await store.set_visitor_connected("c1", False, T1, "sid-a")
    assert gone == replace(chat(1), visitor_connected=False, visitor_left_at=T1, visitor_sid=None)
    back = await store.set_visitor_connected("c1", True, T2, "sid-b")
    assert back == replace(chat(1), visitor_sid="sid-b")
    # Resumed on another socket while sid-b lingers: sid-c holds it now.
    moved = await store.set_visitor_connected("c1", True, T2, "sid-c")
    assert moved is not None and moved.visitor_sid == "sid-c" and moved.visitor_connected
    assert await store.set_visitor_connected("c1", False, T2, "sid-b") is None
    assert (await store.get_chat("c1")).visitor_connected is True  # type: ignore[union-attr]
    await store.assign_next(7, 3, None, T1)
    active = await store.set_visitor_connected("c1", False, T2, "sid-c")
    assert active is not None and active.state is ChatState.ACTIVE and active.visitor_left_at == T2
    assert await store.get_chat("c1") == active
    assert await store.set_visitor_connected("nope", True, T2, "sid-x") is None
    await store.end_chat("c1", EndReason.VISITOR_TIMEOUT, Outcome.ANSWERED, T2)
    assert await store.set_visitor_connected("c1", True, T2, "sid-d") is None
    assert (await store.get_chat("c1")).visitor_connected is False  # type: ignore[union-attr]


async def test_append_message_sequence_dedupe_and_counts(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    assert await store.append_message("c1", Sender.VISITOR, "a", "too early", T0) is None  # waiting
    assert await store.append_message("nope", Sender.VISITOR, "a", "nobody", T0) is None
    await store.staff_connected(7, "Aino", 3)
    await store.assign_next(7, 3, None, T0)
    m1, dup1 = await store.append_message("c1", Sender.VISITOR, "a", "hello", T1)  # type: ignore[misc]
    m2, dup2 = await store.append_message("c1", Sender.STAFF, "a", "hi", T1)  # type: ignore[misc]
    m3, dup3 = await store.append_message("c1", Sender.VISITOR, "a", "hello again?", T2)  # type: ignore[misc]
    assert (m1.seq, m2.seq, m3.seq) == (1, 2, 1) and (dup1, dup2, dup3) == (False, False, True)
    assert m3 == m1 and m3.text == "hello" and m3.sent_at == T1
    assert (m1.chat_id, m1.sender, m1.client_id) == ("c1", Sender.VISITOR, "a")
    current = await store.get_chat("c1")
    assert (current.last_seq, current.visitor_messages, current.staff_messages) == (2, 1, 1)  # type: ignore[union-attr]
    assert await store.messages_after("c1", 0) == [m1, m2]
    assert [m.seq for m in await store.messages_after("c1", 1)] == [2]
    assert await store.messages_after("c1", 2) == []
    assert await store.messages_after("nope", 0) == []


async def test_message_text_round_trips_exactly(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    texts = [
        "hei 👋 ääkköset", "line one\nline two\t", '{"seq": 9, "text": "x"}', "9 not a seq", "  spaces  ",
        "\x00nul", "lone \ud800 surrogate", "x" * 20000, "\\ / \" '",
    ]
    for n, text in enumerate(texts):
        message, duplicate = await store.append_message("c1", Sender.STAFF, f"k{n}", text, T1)  # type: ignore[misc]
        assert message.text == text and not duplicate
    assert [m.text for m in await store.messages_after("c1", 0)] == texts
    # Client ids are opaque: ones that look alike stay apart.
    one, _ = await store.append_message("c1", Sender.VISITOR, "a:b", "first", T1)  # type: ignore[misc]
    two, _ = await store.append_message("c1", Sender.VISITOR, "a", "second", T1)  # type: ignore[misc]
    three, dup = await store.append_message("c1", Sender.STAFF, "a:b", "third", T1)  # type: ignore[misc]
    assert len({one.seq, two.seq, three.seq}) == 3 and not dup


async def test_a_waiting_visitor_may_write_when_allowed(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    assert await store.append_message("c1", Sender.VISITOR, "a", "not allowed", T0) is None
    m1, dup = await store.append_message("c1", Sender.VISITOR, "a", "help", T0, waiting_ok=True)  # type: ignore[misc]
    assert (m1.seq, dup) == (1, False)
    again, dup = await store.append_message("c1", Sender.VISITOR, "a", "help", T0, waiting_ok=True)  # type: ignore[misc]
    assert (again, dup) == (m1, True)
    with pytest.raises(ChatFull):
        await store.append_message("c1", Sender.VISITOR, "b", "x" * 10, T0, max_bytes=8, waiting_ok=True)
    waiting = await store.get_chat("c1")
    assert (waiting.state, waiting.last_seq, waiting.visitor_messages) == (ChatState.WAITING, 1, 1)  # type: ignore[union-attr]
    assert ids(await store.queue()) == ["c1"]
    await store.assign_next(7, 3, None, T1)
    assert await store.messages_after("c1", 0) == [m1]
    await store.end_chat("c1", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2)
    assert await store.messages_after("c1", 0) == []
    assert await store.append_message("c1", Sender.VISITOR, "c", "late", T2, waiting_ok=True) is None


async def test_a_staff_message_keeps_its_author(store: ChatStore, workers: Workers) -> None:
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    first, _ = await store.append_message("c1", Sender.STAFF, "k1", "moi", T1, author=(7, "Äino ✓"))  # type: ignore[misc]
    await store.append_message("c1", Sender.VISITOR, "v1", "hei", T1)
    assert (first.staff_id, first.staff_alias) == (7, "Äino ✓")
    other = (await workers(1))[0]
    read = await other.messages_after("c1", 0)
    assert [(m.staff_id, m.staff_alias) for m in read] == [(7, "Äino ✓"), (None, "")]


async def test_messages_survive_requeue_and_go_with_end(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    await store.append_message("c1", Sender.VISITOR, "a", "one", T0)
    await store.requeue("c1", T1)
    assert await store.append_message("c1", Sender.VISITOR, "b", "while waiting", T1) is None
    assert [m.text for m in await store.messages_after("c1", 0)] == ["one"]
    await store.assign_next(8, 3, None, T1)
    m, dup = await store.append_message("c1", Sender.VISITOR, "a", "one again", T1)  # type: ignore[misc]
    assert (m.seq, m.text, dup) == (1, "one", True)
    assert (await store.append_message("c1", Sender.STAFF, "s", "two", T1))[0].seq == 2  # type: ignore[index]
    await store.end_chat("c1", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2)
    assert await store.messages_after("c1", 0) == []
    assert await store.append_message("c1", Sender.VISITOR, "c", "late", T2) is None
    ended = await store.get_chat("c1")
    assert (ended.last_seq, ended.visitor_messages, ended.staff_messages) == (2, 1, 1)  # type: ignore[union-attr]


# --- staff presence --------------------------------------------------------------


async def test_presence_connect_disconnect_available(store: ChatStore) -> None:
    assert await store.staff_disconnected(7, T0) is None
    assert await store.set_available(7, True, T0) is None
    assert await store.presences() == []
    first = await store.staff_connected(7, "Aino", 3)
    assert first == StaffPresence(7, "Aino", 3, available=False, sockets=1)
    second = await store.staff_connected(7, "Aino B", 4)  # alias and capacity follow the account
    assert second == StaffPresence(7, "Aino B", 4, sockets=2)
    on = await store.set_available(7, True, T0)
    assert on == replace(second, available=True, last_chat_at=T0)
    assert (await store.set_available(7, True, T1)).last_chat_at == T0  # type: ignore[union-attr]
    one = await store.staff_disconnected(7, T1)
    assert one == replace(on, sockets=1)  # type: ignore[arg-type]
    none = await store.staff_disconnected(7, T1)
    assert none == replace(on, sockets=0, disconnected_at=T1)  # type: ignore[arg-type]
    floor = await store.staff_disconnected(7, T2)  # no socket left to count off: nothing changes
    assert floor is not None and floor.sockets == 0 and floor.disconnected_at == T1
    back = await store.staff_connected(7, "Aino", 3)
    assert back.sockets == 1 and back.disconnected_at is None and back.available
    off = await store.set_available(7, False, T2)
    assert off is not None and not off.available and off.last_chat_at == T0  # kept for routing
    again = await store.set_available(7, True, T2)
    assert again is not None and again.last_chat_at == T0  # only set when there was none
    await store.staff_connected(8, "Bo", 2)
    assert sorted(await store.presences(), key=lambda p: p.staff_id) == [
        again, StaffPresence(8, "Bo", 2, sockets=1)
    ]


async def test_staff_loads(store: ChatStore) -> None:
    assert await store.staff_loads() == {}
    for n in range(5):
        await store.create_chat(chat(n))
    await store.assign_next(1, 3, None, T0)
    await store.assign_next(1, 3, None, T0)
    await store.assign_next(2, 3, None, T0)
    assert await store.staff_loads() == {1: 2, 2: 1}
    await store.end_chat("c0", EndReason.STAFF_ENDED, Outcome.ANSWERED, T1)  # ended chats are not load
    assert await store.staff_loads() == {1: 1, 2: 1}
    await store.requeue("c2", T1)
    assert await store.staff_loads() == {1: 1}
    await store.end_chat("c1", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T1)
    assert await store.staff_loads() == {}


async def test_workers_share_state(store: ChatStore, workers: Workers) -> None:
    (other,) = await workers(1)
    await other.create_chat(chat(1))
    assert await store.get_chat("c1") == chat(1)


async def test_worker_heartbeat_and_reaping_a_dead_worker(store: ChatStore) -> None:
    """A worker killed without closing its sockets: another one takes them off the books."""
    assert await store.worker_heartbeat("w-live", 30) is False  # new
    assert await store.worker_heartbeat("w-live", 30) is True
    assert await store.worker_heartbeat("w-dead", 0.2) is False
    assert await store.dead_workers() == []
    # Staff 7 has a socket on each worker; staff 8 only on the dying one.
    await store.staff_connected(7, "Aino", 3, "w-live")
    await store.staff_connected(7, "Aino", 3, "w-dead")
    await store.staff_connected(8, "Bo", 2, "w-dead")
    await store.staff_connected(8, "Bo", 2, "w-dead")
    await store.create_chat(chat(1))
    await store.create_chat(chat(2))
    await store.create_chat(chat(3))
    await store.set_visitor_connected("c1", True, T0, "sid-1", "w-dead")
    await store.set_visitor_connected("c2", True, T0, "sid-2", "w-live")
    await store.set_visitor_connected("c3", True, T0, "sid-3", "w-dead")
    await store.end_chat("c3", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T0)  # ended chats stay as they are
    # A live worker is never reaped.
    assert await store.reap_worker("w-live", T1) == ([], [])
    await asyncio.sleep(0.3)
    assert await store.dead_workers() == ["w-dead"]
    chats, presences = await store.reap_worker("w-dead", T1)
    assert ids(chats) == ["c1"]
    assert chats[0] == replace(chat(1), visitor_connected=False, visitor_left_at=T1)
    assert await store.get_chat("c1") == chats[0]
    assert (await store.get_chat("c2")).visitor_worker == "w-live"  # type: ignore[union-attr]
    assert sorted(presences, key=lambda p: p.staff_id) == [
        StaffPresence(7, "Aino", 3, sockets=1),
        StaffPresence(8, "Bo", 2, sockets=0, disconnected_at=T1),
    ]
    # Reaping is once only, and a dead worker is no longer listed.
    assert await store.reap_worker("w-dead", T2) == ([], [])
    assert await store.dead_workers() == []
    # Its disconnects arriving late (it was not dead after all) change nothing.
    assert (await store.staff_disconnected(7, T2, "w-dead")).sockets == 1  # type: ignore[union-attr]
    assert (await store.staff_disconnected(7, T2, "w-live")).sockets == 0  # type: ignore[union-attr]
    # A reaped worker that beats again learns it had been taken for dead.
    assert await store.worker_heartbeat("w-dead", 30) is False
    await store.worker_stopped("w-live")
    await store.worker_stopped("w-dead")
    assert await store.dead_workers() == []
    assert await store.worker_heartbeat("w-live", 30) is False


async def test_chats_to_sweep_are_those_with_a_deadline(store: ChatStore) -> None:
    for n in range(4):
        await store.create_chat(chat(n))
    await store.create_chat(replace(chat(9), visitor_connected=False, visitor_left_at=T0))
    assert ids(await store.chats_to_sweep()) == ["c9"]
    await store.assign_next(7, 3, None, T0)  # c0 active
    await store.set_visitor_connected("c1", True, T0, "sid-1", "w")
    await store.set_visitor_connected("c1", False, T1, "sid-1", "w")  # visitor away
    await store.end_chat("c0", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T1)  # awaiting topics
    assert ids(await store.chats_to_sweep()) == ["c0", "c1", "c9"]
    await store.set_visitor_connected("c1", True, T2, "sid-2", "w")  # back
    await store.finish_chat("c0")
    await store.set_visitor_connected("c9", True, T2, "sid-9", "w")
    assert await store.chats_to_sweep() == []
    await store.end_chat("c2", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T2)
    assert ids(await store.chats_to_sweep()) == ["c2"]
    await store.finish_chat("c2")
    assert await store.chats_to_sweep() == []


async def test_visitor_worker_follows_the_holding_socket(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    moved = await store.set_visitor_connected("c1", True, T0, "sid-b", "w-b")
    assert moved is not None and moved.visitor_sid == "sid-b" and moved.visitor_worker == "w-b"
    gone = await store.set_visitor_connected("c1", False, T1, "sid-b", "w-b")
    assert gone is not None and gone.visitor_sid is None and gone.visitor_worker is None


async def test_address_keys_are_random_per_day_and_only_today_is_made(store: ChatStore) -> None:
    assert await store.address_keys(["2026-11-29", "2026-11-28"], 60) == [
        (await store.address_keys(["2026-11-29"], 60))[0], None
    ]
    today, none = await store.address_keys(["2026-11-29", "2026-11-28"], 60)
    assert today is not None and len(bytes.fromhex(today)) == 32 and none is None
    tomorrow = (await store.address_keys(["2026-11-30", "2026-11-29"], 60))
    assert tomorrow[1] == today and tomorrow[0] not in (None, today)
    assert await store.address_keys([], 60) == []


async def test_redis_address_keys_expire(rstore: RedisChatStore, redis_url: str) -> None:
    await rstore.address_keys(["2026-11-29"], 60)
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert 0 < await client.ttl(rstore.prefix + "addrkey:2026-11-29") <= 60
    finally:
        await client.aclose()


async def test_assign_chat_takes_one_waiting_chat_in_a_language_the_member_speaks(store: ChatStore) -> None:
    for n, language in enumerate(["th", "fi", "en", "th"]):
        await store.create_chat(replace(chat(n), language=language))
    await store.staff_connected(7, "Aino", 2)
    finnish = ("fi", "en")
    assert await store.assign_chat("c0", 7, 2, 99, T1, finnish) is None  # Thai: not spoken
    assert ids(await store.queue()) == ["c0", "c1", "c2", "c3"]  # the refusal changed nothing
    first = await store.assign_chat("c1", 7, 2, 99, T1, finnish)
    assert first == replace(
        chat(1), state=ChatState.ACTIVE, staff_id=7, shift_id=99, assigned_at=T1, first_assigned_at=T1
    )
    assert ids(await store.queue()) == ["c0", "c2", "c3"]  # taken from the middle, the order kept
    assert (await store.presences())[0].last_chat_at == T1
    assert await store.assign_chat("c1", 8, 3, None, T1) is None  # already held: never two holders
    assert (await store.assign_chat("c2", 7, 2, None, T1, finnish)).staff_id == 7  # type: ignore[union-attr]
    assert await store.assign_chat("c3", 7, 2, None, T1, ("th",)) is None  # at capacity
    assert ids(await store.queue()) == ["c0", "c3"]
    # No languages listed: the member speaks every language.
    assert (await store.assign_chat("c0", 8, 1, None, T2)).staff_id == 8  # type: ignore[union-attr]
    assert await store.assign_chat("c3", 8, 1, None, T2) is None  # capacity 1
    assert await store.staff_loads() == {7: 2, 8: 1}
    assert await store.assign_chat("nope", 9, 3, None, T2) is None
    await store.end_chat("c3", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T2)
    assert await store.assign_chat("c3", 9, 3, None, T2) is None  # ended
    # Requeued and taken again: first_assigned_at and shift stay, the holder changes.
    await store.requeue("c1", T2)
    again = await store.assign_chat("c1", 9, 3, 100, T2, ("fi",))
    assert again is not None and (again.staff_id, again.shift_id, again.first_assigned_at) == (9, 99, T1)
    assert await store.queue() == [] and await store.staff_loads() == {7: 1, 8: 1, 9: 1}


async def test_switch_language_of_a_waiting_chat_keeps_the_first_asked_for(
    store: ChatStore, workers: Workers
) -> None:
    await store.create_chat(replace(chat(1), language="th"))
    await store.create_chat(chat(2))
    switched = await store.switch_language("c1", "en")
    assert switched == replace(chat(1), language="en", requested_language="th")
    assert await store.get_chat("c1") == switched
    assert ids(await store.queue()) == ["c1", "c2"]  # its place in line is kept
    again = await store.switch_language("c1", "fi")
    assert again is not None and (again.language, again.requested_language) == ("fi", "th")
    assert (await store.switch_language("c2", "fi")).requested_language is None  # type: ignore[union-attr]  # same language
    await store.assign_chat("c1", 7, 3, None, T1, ("fi",))
    assert await store.switch_language("c1", "en") is None  # no longer waiting
    # An active chat switches only when asked to (the visitor's switch mid-chat); it stays with its member.
    active = await store.switch_language("c1", "en", active_ok=True)
    assert active is not None and (active.language, active.requested_language, active.staff_id) == ("en", "th", 7)
    assert active.state is ChatState.ACTIVE and await store.staff_loads() == {7: 1}
    assert await store.switch_language("nope", "en") is None
    # Racing a switch against an assignment: the assignment checks the language at that moment.
    await store.create_chat(replace(chat(3), language="th"))
    instances = await workers(2)
    results = await asyncio.gather(
        instances[0].switch_language("c3", "fi"), instances[1].assign_chat("c3", 8, 3, None, T1, ("th",))
    )
    final = await store.get_chat("c3")
    assert final is not None
    if final.state is ChatState.ACTIVE:
        assert final.staff_id == 8 and final.language == "th" and results[0] is None
    else:
        assert final.language == "fi" and results[1] is None


# --- races between workers -------------------------------------------------------


async def test_concurrent_language_assignment_respects_language_capacity_and_one_holder(
    store: ChatStore, workers: Workers
) -> None:
    instances = await workers(4)
    # Thai and Finnish visitors alternately, plus English ones both members speak.
    languages = ["th", "fi"] * 6 + ["en"] * 4
    for n, language in enumerate(languages):
        await store.create_chat(replace(chat(n), language=language))
    speaks = {1: ("fi", "en"), 2: ("th", "en")}
    for s in speaks:
        await store.staff_connected(s, f"S{s}", 3)
    rng = random.Random(15)

    async def grab(instance: ChatStore) -> None:
        # Every worker tries every chat on every member at once, in its own order, wrong languages too.
        tries = [(f"c{n}", s) for n in range(len(languages)) for s in speaks]
        rng.shuffle(tries)
        for chat_id, s in tries:
            await instance.assign_chat(chat_id, s, 3, None, T1, speaks[s])

    await asyncio.gather(*(grab(i) for i in instances))
    chats = {c.chat_id: c for c in await store.all_chats()}
    held = {s: [c for c in chats.values() if c.staff_id == s] for s in speaks}
    assert {s: len(got) for s, got in held.items()} == {1: 3, 2: 3}
    for s, got in held.items():
        assert all(c.state is ChatState.ACTIVE and c.language in speaks[s] for c in got)
        assert sorted(ids(await store.chats_of_staff(s))) == sorted(ids(got))
    waiting = ids(await store.queue())
    assert len(waiting) == len(set(waiting)) == len(languages) - 6
    assert sorted(waiting) == sorted(c.chat_id for c in chats.values() if c.state is ChatState.WAITING)
    assert await store.staff_loads() == {1: 3, 2: 3}


async def test_concurrent_assign_chat_of_one_chat_has_one_winner(store: ChatStore, workers: Workers) -> None:
    instances = await workers(4)
    for n in range(20):
        await store.create_chat(chat(n))
    for n in range(20):
        got = await asyncio.gather(
            *(i.assign_chat(f"c{n}", s, 50, None, T1, ("fi",)) for i in instances for s in (1, 2, 3))
        )
        winners = [c for c in got if c is not None]
        assert len(winners) == 1
        assert (await store.get_chat(f"c{n}")).staff_id == winners[0].staff_id  # type: ignore[union-attr]
    assert await store.queue() == []
    assert sum((await store.staff_loads()).values()) == 20


async def test_assign_chat_races_end_and_requeue(store: ChatStore, workers: Workers) -> None:
    instances = await workers(4)
    for n in range(30):
        await store.create_chat(replace(chat(n), language=("fi", "th", "en")[n % 3]))
    speaks = {1: ("fi",), 2: ("th", "en"), 3: ()}
    rng = random.Random(16)

    async def churn(worker: ChatStore, staff: int) -> None:
        for _ in range(60):
            action, target = rng.random(), f"c{rng.randrange(30)}"
            if action < 0.6:
                await worker.assign_chat(target, staff, 2, None, T1, speaks[staff])
            elif action < 0.8:
                await worker.requeue(target, T1)
            else:
                await worker.end_chat(target, EndReason.VISITOR_LEFT, Outcome.ABANDONED, T1)

    await asyncio.gather(*(churn(i, s) for i in instances for s in speaks))
    chats = await store.all_chats()
    waiting = ids(await store.queue())
    assert sorted(waiting) == sorted(c.chat_id for c in chats if c.state is ChatState.WAITING)
    assert len(waiting) == len(set(waiting))
    loads: dict[int, int] = {}
    for c in chats:
        if c.state is ChatState.ACTIVE:
            assert c.staff_id is not None and (not speaks[c.staff_id] or c.language in speaks[c.staff_id])
            loads[c.staff_id] = loads.get(c.staff_id, 0) + 1
    assert await store.staff_loads() == loads and all(v <= 2 for v in loads.values())


# --- races between workers -------------------------------------------------------


async def test_concurrent_arrivals_and_assignment_never_double_lose_or_exceed(
    store: ChatStore, workers: Workers
) -> None:
    instances = await workers(4)
    chats = [chat(n) for n in range(200)]
    await asyncio.gather(*(instances[n % 4].create_chat(c) for n, c in enumerate(chats)))
    assert sorted(ids(await store.queue())) == sorted(c.chat_id for c in chats)

    staff_ids = list(range(1, 11))
    for s in staff_ids:
        await store.staff_connected(s, f"S{s}", 3)
    taken: dict[int, list[str]] = {s: [] for s in staff_ids}

    async def take(s: int, instance: ChatStore) -> None:
        # Every staff member grabs through every worker at once: capacity must still hold.
        while (c := await instance.assign_next(s, 3, None, T1)) is not None:
            assert c.staff_id == s
            taken[s].append(c.chat_id)
            await asyncio.sleep(0)

    await asyncio.gather(*(take(s, i) for s in staff_ids for i in instances))
    assigned = [c for got in taken.values() for c in got]
    assert len(assigned) == len(set(assigned)) == 30
    assert all(len(got) == 3 for got in taken.values())
    waiting = ids(await store.queue())
    assert len(waiting) == 170 and not set(waiting) & set(assigned)
    assert sorted(waiting + assigned) == sorted(c.chat_id for c in chats)
    assert await store.staff_loads() == dict.fromkeys(staff_ids, 3)
    for s in staff_ids:
        assert sorted(ids(await store.chats_of_staff(s))) == sorted(taken[s])


async def test_concurrent_end_and_finish_have_one_winner(store: ChatStore, workers: Workers) -> None:
    instances = await workers(5)
    for n in range(10):
        await store.create_chat(chat(n))
    for _ in range(5):
        await store.assign_next(7, 5, None, T0)
    for n in range(10):  # half active, half waiting
        ends = await asyncio.gather(
            *(i.end_chat(f"c{n}", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T1) for i in instances)
        )
        assert sum(e is not None for e in ends) == 1
        finishes = await asyncio.gather(*(i.finish_chat(f"c{n}") for i in instances))
        assert sum(f is not None for f in finishes) == 1
    assert await store.all_chats() == [] and await store.queue() == [] and await store.staff_loads() == {}


async def test_concurrent_transfers_never_exceed_capacity(store: ChatStore, workers: Workers) -> None:
    instances = await workers(4)
    for n in range(12):
        await store.create_chat(chat(n))
    for _ in range(12):
        await store.assign_next(7, 12, None, T0)
    for member in (8, 9, 10):
        await store.staff_connected(member, f"S{member}", 2)
        await store.set_available(member, True, T0)
    # Each chat is handed to three members at once from different workers; each takes at most 2.
    moves = await asyncio.gather(
        *(instances[(n + s) % 4].transfer(f"c{n}", 7, s, 2, T1) for n in range(12) for s in (8, 9, 10))
    )
    done = [m for m in moves if m is not None]
    assert len(done) == 6 and len({m.chat_id for m in done}) == 6
    assert await store.staff_loads() == {7: 6, 8: 2, 9: 2, 10: 2}
    chats = await store.all_chats()
    assert sorted(c.staff_id for c in chats if c.staff_id != 7) == [8, 8, 9, 9, 10, 10]


async def test_concurrent_requeue_has_one_winner(store: ChatStore, workers: Workers) -> None:
    instances = await workers(5)
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    back = await asyncio.gather(*(i.requeue("c1", T1) for i in instances))
    assert sum(b is not None for b in back) == 1
    assert ids(await store.queue()) == ["c1"]


async def test_concurrent_appends(store: ChatStore, workers: Workers) -> None:
    instances = await workers(5)
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    # The same client id from every worker at once (a retry storm): one message.
    same = await asyncio.gather(
        *(i.append_message("c1", Sender.VISITOR, "retry", "once", T1) for i in instances for _ in range(4))
    )
    assert all(r is not None for r in same)
    assert {r[0].seq for r in same if r} == {1}
    assert sum(not r[1] for r in same if r) == 1
    # Different client ids at once: every one gets its own, gap-free sequence number.
    distinct = await asyncio.gather(
        *(instances[n % 5].append_message("c1", Sender.STAFF, f"m{n}", f"text {n}", T1) for n in range(50))
    )
    assert sorted(r[0].seq for r in distinct if r) == list(range(2, 52))
    current = await store.get_chat("c1")
    assert (current.last_seq, current.visitor_messages, current.staff_messages) == (51, 1, 50)  # type: ignore[union-attr]
    assert [m.seq for m in await store.messages_after("c1", 0)] == list(range(1, 52))


async def test_assignment_races_end_and_requeue(store: ChatStore, workers: Workers) -> None:
    instances = await workers(4)
    for n in range(40):
        await store.create_chat(chat(n))
    rng = random.Random(5)

    async def churn(worker: ChatStore, staff: int) -> None:
        for _ in range(60):
            action = rng.random()
            target = f"c{rng.randrange(40)}"
            if action < 0.5:
                await worker.assign_next(staff, 2, None, T1)
            elif action < 0.7:
                await worker.requeue(target, T1)
            else:
                await worker.end_chat(target, EndReason.VISITOR_LEFT, Outcome.ABANDONED, T1)

    await asyncio.gather(*(churn(i, s) for i in instances for s in (1, 2, 3)))
    chats = await store.all_chats()
    assert len(chats) == 40
    waiting = ids(await store.queue())
    assert sorted(waiting) == sorted(c.chat_id for c in chats if c.state is ChatState.WAITING)
    assert len(waiting) == len(set(waiting))
    loads: dict[int, int] = {}
    for c in chats:
        if c.state is ChatState.ACTIVE:
            assert c.staff_id is not None
            loads[c.staff_id] = loads.get(c.staff_id, 0) + 1
    assert await store.staff_loads() == loads and all(v <= 2 for v in loads.values())


# --- Redis keys: TTLs, cleanup, robustness -----------------------------------------


async def test_redis_every_key_has_a_ttl(rstore: RedisChatStore, redis_url: str) -> None:
    store = redis_store = rstore
    await store.staff_connected(7, "Aino", 3)
    await store.set_available(7, True, T0)
    for n in range(3):
        await store.create_chat(chat(n))
    await store.assign_next(7, 3, 1, T0)
    await store.append_message("c0", Sender.VISITOR, "a", "hello", T0)
    await store.set_visitor_connected("c1", True, T1, "sid-1")
    await store.set_visitor_connected("c1", False, T1, "sid-1")
    await store.end_chat("c2", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T1)
    keys = redis_keys(redis_url, redis_store.prefix)
    names = {k.removeprefix(redis_store.prefix) for k in keys}
    assert names >= {
        "chat:c0", "chat:c1", "chat:c2", "msgs:c0", "cids:c0", "resume:r0", "resume:r1", "queue", "chats",
        "staff:7:active", "staff:7:chats", "loads", "presence:7", "presences",
    }
    assert "resume:r2" not in names  # the ended chat cannot be resumed
    assert all(0 < ttl <= 86400 for ttl in keys.values()), keys


async def test_redis_ttl_is_configurable(redis_url: str, redis_prefix: str) -> None:
    short = RedisChatStore.from_url(redis_url, prefix=redis_prefix, ttl_seconds=120)
    try:
        await short.create_chat(chat(1))
        await short.staff_connected(7, "Aino", 3)
        await short.assign_next(7, 3, None, T0)
        await short.append_message("c1", Sender.VISITOR, "a", "hello", T0)
        keys = redis_keys(redis_url, redis_prefix)
        assert keys and all(0 < ttl <= 120 for ttl in keys.values()), keys
    finally:
        await short.close()
    with pytest.raises(ValueError):
        RedisChatStore.from_url(redis_url, prefix=redis_prefix, ttl_seconds=0)


async def test_redis_churn_leaves_only_presence_keys(rstore: RedisChatStore, redis_url: str) -> None:
    store = redis_store = rstore
    instances = [RedisChatStore.from_url(redis_url, prefix=rstore.prefix) for _ in range(4)]
    try:
        await churn_100_chats(store, instances)
    finally:
        for instance in instances:
            await instance.close()
    keys = redis_keys(redis_url, redis_store.prefix)
    leftover = {k for k in keys if not k.startswith(redis_store.prefix + "presence")}
    assert leftover == set(), leftover
    assert keys and all(ttl > 0 for ttl in keys.values()), keys
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for key in keys:
            kind = await client.type(key)
            content = await client.hgetall(key) if kind == "hash" else await client.smembers(key)
            assert CANARY not in str(content)
    finally:
        await client.aclose()


CANARY = "canary-7f3b1e"


async def churn_100_chats(store: RedisChatStore, instances: list[RedisChatStore]) -> None:
    """Start, assign, talk in, end and finish 100 chats across workers, racing the end and the finish."""
    for s in range(1, 6):
        await store.staff_connected(s, f"S{s}", 5)
        await store.set_available(s, True, T0)

    async def one_chat(n: int) -> None:
        worker = instances[n % 4]
        await worker.create_chat(chat(n))
        while (await worker.get_chat(f"c{n}")).state is ChatState.WAITING:  # type: ignore[union-attr]
            await worker.assign_next(1 + n % 5, 5, 1, T0)
            await asyncio.sleep(0)
        await worker.append_message(f"c{n}", Sender.VISITOR, "v1", f"{CANARY} {n}", T1)
        await worker.append_message(f"c{n}", Sender.STAFF, "s1", "reply", T1)
        ends = await asyncio.gather(
            worker.end_chat(f"c{n}", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2),
            instances[(n + 1) % 4].end_chat(f"c{n}", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T2),
        )
        assert sum(e is not None for e in ends) == 1
        finished = await asyncio.gather(worker.finish_chat(f"c{n}"), instances[(n + 2) % 4].finish_chat(f"c{n}"))
        assert sum(f is not None for f in finished) == 1

    await asyncio.gather(*(one_chat(n) for n in range(100)))
    for s in range(1, 6):
        await store.staff_disconnected(s, T2)


async def test_redis_expired_chats_do_not_block_the_queue_or_capacity(
    rstore: RedisChatStore, redis_url: str
) -> None:
    store = redis_store = rstore
    for n in range(3):
        await store.create_chat(chat(n))
    await store.assign_next(7, 1, None, T0)  # c0, at capacity 1
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        # What TTL expiry does to keys a dead worker left: the chat hashes vanish.
        await client.delete(f"{redis_store.prefix}chat:c0", f"{redis_store.prefix}chat:c1")
    finally:
        await client.aclose()
    got = await store.assign_next(7, 1, None, T1)
    assert got is not None and got.chat_id == "c2"  # c0 no longer counts, c1 is skipped
    assert await store.staff_loads() == {7: 1}
    assert ids(await store.queue()) == [] and ids(await store.all_chats()) == ["c2"]


async def test_redis_bounded_pool_waits_instead_of_failing(redis_url: str, redis_prefix: str) -> None:
    small = RedisChatStore.from_url(redis_url, prefix=redis_prefix, max_connections=2)
    try:
        await asyncio.gather(*(small.create_chat(chat(n)) for n in range(100)))
        assert len(await small.queue()) == 100
    finally:
        await small.close()


async def test_redis_persistence_check(tmp_path: Path) -> None:
    variants = {
        "none": ("--save", "", "--appendonly", "no"),
        "rdb": ("--save", "60 1", "--appendonly", "no"),
        "aof": ("--save", "", "--appendonly", "yes"),
    }
    found: dict[str, str | None] = {}
    for name, args in variants.items():
        folder = tmp_path / name
        folder.mkdir()
        server = start_redis_server(folder, *args)
        checked = RedisChatStore.from_url(server.url)
        try:
            found[name] = await checked.check_persistence()
        finally:
            await checked.close()
            server.stop()
    assert found["none"] is None
    assert found["rdb"] is not None and "save" in found["rdb"] and "60 1" in found["rdb"]
    assert found["aof"] is not None and "appendonly yes" in found["aof"]


async def test_epoch_and_owed_rows(store: ChatStore) -> None:
    from chat_server.chat.models import SessionRecord

    first = await store.epoch()
    assert first and await store.epoch() == first
    # A chat asked for in Thai and answered in Finnish; a visitor who left for lack of their language.
    row = SessionRecord("a" * 32, T0, 5, 60, Outcome.ANSWERED, "fi", 2, 3, 7, ("health.mental", "life.housing"),
                        requested_language="th")
    other = SessionRecord("b" * 32, T1, 40, 0, Outcome.ABANDONED, "en", 0, 0, None, (), left_for_language=True)
    await store.owe_row(row)
    await store.owe_row(other)
    await store.owe_row(row)  # owing the same row twice keeps one
    assert sorted(await store.owed_rows(), key=lambda r: r.session_id) == [row, other]
    await store.settle_row(row.session_id)
    await store.settle_row("nope")
    assert await store.owed_rows() == [other]


# --- blocked visitors --------------------------------------------------------------


async def test_blocks_until_their_end(store: ChatStore) -> None:
    assert await store.is_blocked([], T0) is False
    assert await store.is_blocked(["addr:a"], T0) is False
    await store.add_blocks(["addr:a", "sid:s"], T0 + timedelta(minutes=60), T0)
    assert await store.is_blocked(["addr:a"], T1) is True
    assert await store.is_blocked(["other", "sid:s"], T1) is True
    assert await store.is_blocked(["addr:b", "token:t"], T1) is False
    # A later block replaces the end of an earlier one.
    await store.add_blocks(["addr:a"], T2 + timedelta(minutes=60), T2)
    assert await store.is_blocked(["addr:a"], T0 + timedelta(minutes=61)) is True
    assert await store.is_blocked(["sid:s"], T0 + timedelta(minutes=61)) is False
    assert await store.is_blocked(["addr:a"], T2 + timedelta(minutes=60)) is False


async def test_blocks_are_shared_by_workers(store: ChatStore, workers: Workers) -> None:
    one, two = await workers(2)
    await one.add_blocks(["addr:x"], T0 + timedelta(minutes=5), T0)
    assert await two.is_blocked(["addr:x"], T1) is True


async def test_address_hash_round_trips_and_goes_with_the_chat(store: ChatStore) -> None:
    await store.create_chat(replace(chat(1), address_hash="ab" * 32))
    assert (await store.get_chat("c1")).address_hash == "ab" * 32  # type: ignore[union-attr]
    await store.end_chat("c1", EndReason.BLOCKED, Outcome.BLOCKED, T1)
    finished = await store.finish_chat("c1")
    assert finished is not None and finished.address_hash == "ab" * 32 and finished.outcome is Outcome.BLOCKED
    assert await store.get_chat("c1") is None


async def test_redis_block_keys_expire_with_the_block(rstore: RedisChatStore, redis_url: str) -> None:
    now = datetime.now(UTC)
    await rstore.add_blocks(["addr:h"], now + timedelta(minutes=60), now)
    keys = redis_keys(redis_url, rstore.prefix)
    assert list(keys) == [rstore.prefix + "block:addr:h"]
    assert 3500 < keys[rstore.prefix + "block:addr:h"] <= 3600


async def test_feedback_tickets_are_single_use_and_expire(store: ChatStore, workers: Workers) -> None:
    await store.add_feedback_ticket("t1", T0, 3600)
    await store.add_feedback_ticket("t2", T0, 60)
    assert not await store.use_feedback_ticket("unknown", T0)
    # Many workers race to use one ticket: exactly one gets it.
    many = await workers(6)
    results = await asyncio.gather(*(w.use_feedback_ticket("t1", T1) for w in many))
    assert sorted(results) == [False] * 5 + [True]
    assert not await store.use_feedback_ticket("t1", T1)
    # Past its TTL a ticket is refused, and is gone afterwards.
    assert not await store.use_feedback_ticket("t2", T0 + timedelta(seconds=61))
    await store.add_feedback_ticket("t3", T0, 60)
    assert await store.use_feedback_ticket("t3", T0 + timedelta(seconds=59))


async def test_redis_feedback_tickets_expire_in_redis(
    rstore: RedisChatStore, redis_url: str, redis_prefix: str
) -> None:
    await rstore.add_feedback_ticket("abc", T0, 120)
    keys = redis_keys(redis_url, redis_prefix)
    assert list(keys) == [f"{redis_prefix}feedback:abc"]
    assert 0 < keys[f"{redis_prefix}feedback:abc"] <= 120
    assert await rstore.use_feedback_ticket("abc", T1)
    assert redis_keys(redis_url, redis_prefix) == {}


# --- flood limits (a block of its own) ----------------------------------------------


def from_address(n: int, address: str | None) -> Chat:
    return replace(chat(n), address_hash=address)


async def test_create_within_caps_the_queue_and_each_address(store: ChatStore) -> None:
    assert await store.create_chat_within(from_address(1, "a"), 3, 2) is Admission.CREATED
    assert await store.create_chat_within(from_address(2, "a"), 3, 2) is Admission.CREATED
    assert await store.create_chat_within(from_address(3, "a"), 3, 2) is Admission.ADDRESS_FULL
    assert await store.create_chat_within(from_address(4, "b"), 3, 2) is Admission.CREATED
    assert await store.create_chat_within(from_address(5, "c"), 3, 2) is Admission.QUEUE_FULL
    assert await store.create_chat_within(from_address(6, None), 3, 2) is Admission.QUEUE_FULL
    assert ids(await store.queue()) == ["c1", "c2", "c4"]
    assert ids(await store.chats_of_address("a")) == ["c1", "c2"]
    # An active chat still counts for its address; an ended one does not.
    await store.assign_next(7, 3, None, T0)
    assert await store.create_chat_within(from_address(7, "a"), 3, 2) is Admission.ADDRESS_FULL
    await store.end_chat("c1", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T1)
    assert ids(await store.chats_of_address("a")) == ["c2"]
    assert await store.create_chat_within(from_address(8, "a"), 3, 2) is Admission.CREATED
    assert ids(await store.chats_of_address("a")) == ["c2", "c8"]
    assert await store.chats_of_address("nobody") == []


async def test_create_within_never_overshoots_under_concurrent_starts(store: ChatStore, workers: Workers) -> None:
    instances = await workers(4)
    results = await asyncio.gather(
        *(instances[n % 4].create_chat_within(from_address(n, "troll"), 50, 5) for n in range(40)),
        *(instances[n % 4].create_chat_within(from_address(100 + n, f"v{n}"), 50, 5) for n in range(60)),
    )
    assert results.count(Admission.CREATED) == 50
    assert len(await store.chats_of_address("troll")) == 5
    assert len(await store.queue()) == 50


async def test_append_caps_messages_and_bytes_per_chat(store: ChatStore, workers: Workers) -> None:
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    instances = await workers(3)
    # Ten at once from three workers against a cap of four messages: four get in.
    outcomes = await asyncio.gather(
        *(instances[n % 3].append_message("c1", Sender.VISITOR, f"m{n}", "x", T1, max_messages=4) for n in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, tuple) for o in outcomes) == 4
    assert sum(isinstance(o, ChatFull) for o in outcomes) == 6
    # A duplicate of an accepted message is still answered as one.
    first = next(o for o in outcomes if isinstance(o, tuple))
    again = await store.append_message("c1", Sender.VISITOR, first[0].client_id, "x", T1, max_messages=4)
    assert again is not None and again[1] is True
    # Bytes are UTF-8 bytes of text, both senders together ("ä" is two).
    await store.create_chat(chat(2))
    await store.assign_next(8, 3, None, T0)
    assert await store.append_message("c2", Sender.VISITOR, "a", "ää", T1, max_bytes=7)
    assert await store.append_message("c2", Sender.STAFF, "b", "é", T1, max_bytes=7)
    with pytest.raises(ChatFull):
        await store.append_message("c2", Sender.STAFF, "c", "xxx", T1, max_bytes=7)
    assert await store.append_message("c2", Sender.STAFF, "d", "x", T1, max_bytes=7)
    current = await store.get_chat("c2")
    assert current is not None and current.last_seq == 3


async def test_messages_after_pages(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    await store.assign_next(7, 3, None, T0)
    for n in range(7):
        await store.append_message("c1", Sender.VISITOR, f"m{n}", f"t{n}", T1)
    assert [m.seq for m in await store.messages_after("c1", 0, limit=3)] == [1, 2, 3]
    assert [m.seq for m in await store.messages_after("c1", 3, limit=3)] == [4, 5, 6]
    assert [m.seq for m in await store.messages_after("c1", 6, limit=3)] == [7]
    assert [m.seq for m in await store.messages_after("c1", 2)] == [3, 4, 5, 6, 7]


async def test_first_in_period_and_count_in_window(store: ChatStore, workers: Workers) -> None:
    instances = await workers(4)
    firsts = await asyncio.gather(*(i.first_in_period("closed:x", 60) for i in instances for _ in range(5)))
    assert sorted(firsts) == [False] * 19 + [True]
    assert await store.first_in_period("closed:y", 60)
    counts = await asyncio.gather(*(i.count_in_window("start:x", 60) for i in instances for _ in range(5)))
    assert sorted(counts) == list(range(1, 21))
    assert await store.count_in_window("start:y", 60) == 1


async def test_first_in_period_expires(store: ChatStore) -> None:
    assert await store.first_in_period("k", 1)
    assert await store.count_in_window("w", 1) == 1
    await asyncio.sleep(1.2)
    assert await store.first_in_period("k", 1)
    assert await store.count_in_window("w", 1) == 1


async def test_redis_address_index_goes_with_the_chats(
    rstore: RedisChatStore, redis_url: str, redis_prefix: str
) -> None:
    await rstore.create_chat_within(from_address(1, "a"), 10, 5)
    assert f"{redis_prefix}addrchats:a" in redis_keys(redis_url, redis_prefix)
    await rstore.end_chat("c1", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T1)
    await rstore.finish_chat("c1")
    assert redis_keys(redis_url, redis_prefix) == {}

# ---- login throttling (accounts) ------------------------------------------------------------


async def _attempt(store: ChatStore, keys: list[str], free: list[int], now: datetime) -> float:
    return await store.login_attempt(keys, free, now, 1.0, 8.0, 3600)


async def test_login_attempts_back_off_exponentially_per_key(store: ChatStore) -> None:
    assert [await _attempt(store, ["user:a"], [3], T0) for _ in range(4)] == [0.0] * 4
    # The 4th attempt was past 3 free ones: the next waits 1 s, then 2, 4, capped at 8.
    assert await _attempt(store, ["user:a"], [3], T0) == pytest.approx(1.0)
    # A refused attempt is not counted.
    assert await _attempt(store, ["user:a"], [3], T0 + timedelta(seconds=0.5)) == pytest.approx(0.5)
    for step, expected in enumerate((2.0, 4.0, 8.0, 8.0), start=1):
        now = T0 + timedelta(seconds=100 * step)
        assert await _attempt(store, ["user:a"], [3], now) == 0.0
        assert await _attempt(store, ["user:a"], [3], now) == pytest.approx(expected)
    # Another key is untouched.
    assert await _attempt(store, ["user:b"], [3], T0) == 0.0


async def test_login_attempts_wait_for_the_longest_key_and_count_on_all(store: ChatStore) -> None:
    assert await _attempt(store, ["user:a", "addr:x"], [1, 2], T0) == 0.0
    assert await _attempt(store, ["user:b", "addr:x"], [1, 2], T0) == 0.0
    # addr:x is past its 2 free attempts now: user:c waits for it, and nothing is counted on user:c.
    assert await _attempt(store, ["user:c", "addr:x"], [1, 2], T0) == 0.0
    assert await _attempt(store, ["user:c", "addr:x"], [1, 2], T0) == pytest.approx(1.0)
    assert await _attempt(store, ["user:c"], [1], T0) == 0.0


async def test_login_forget_clears_and_refunds(store: ChatStore) -> None:
    for _ in range(2):
        assert await _attempt(store, ["user:a", "addr:x"], [1, 2], T0) == 0.0
    assert await _attempt(store, ["user:a", "addr:x"], [1, 2], T0) == pytest.approx(1.0)
    await store.login_forget(["user:a"], ["addr:x"])
    # user:a is forgotten and addr:x has one attempt back: one more is free, then the back-off again.
    assert await _attempt(store, ["user:a", "addr:x"], [1, 2], T0) == 0.0
    assert await _attempt(store, ["addr:x"], [2], T0) == 0.0
    assert await _attempt(store, ["addr:x"], [2], T0) == pytest.approx(1.0)
    await store.login_forget([], ["nothing:here"])
    await store.login_forget([], [])


async def test_login_counts_are_forgotten_after_a_while(store: ChatStore) -> None:
    for _ in range(3):
        await _attempt(store, ["user:a"], [1], T0)
    later = T0 + timedelta(seconds=3600 + 9)
    assert await _attempt(store, ["user:a"], [1], later) == 0.0
    assert await _attempt(store, ["user:a"], [1], later) == 0.0


async def test_concurrent_login_attempts_admit_only_the_free_ones(store: ChatStore, workers: Workers) -> None:
    instances = await workers(5)
    waits = await asyncio.gather(*(_attempt(instances[i % 5], ["user:a"], [5], T0) for i in range(50)))
    # Five free, one more admitted that starts the back-off; every other one is told to wait.
    assert waits.count(0.0) == 6


async def test_redis_login_keys_expire(rstore: RedisChatStore, redis_url: str) -> None:
    await rstore.login_attempt(["user:a"], [5], T0, 1.0, 8.0, 60)
    client = aioredis.from_url(redis_url)
    try:
        keys = await client.keys(f"{rstore.prefix}login:*")
        assert len(keys) == 1 and 0 < await client.ttl(keys[0]) <= 60
    finally:
        await client.aclose()


# --- breaks, lost connections and unanswered waits (issue: duty you can trust) -----------------


async def test_a_break_needs_a_check_in_keeps_its_start_and_ends_with_check_out(store: ChatStore) -> None:
    await store.staff_connected(7, "Aino", 3)
    assert await store.set_paused(7, True, T0) is None  # not checked in
    await store.set_available(7, True, T0)
    paused = await store.set_paused(7, True, T1)
    assert paused is not None and paused.paused_at == T1
    again = await store.set_paused(7, True, T2)
    assert again is not None and again.paused_at == T1  # a running break keeps its start
    resumed = await store.set_paused(7, False, T2)
    assert resumed is not None and resumed.paused_at is None
    await store.set_paused(7, True, T2)
    out = await store.set_available(7, False, T2)
    assert out is not None and out.paused_at is None and not out.dropped
    assert await store.set_paused(7, True, T2) is None


async def test_no_chat_reaches_a_member_on_a_break(store: ChatStore) -> None:
    for n in range(3):
        await store.create_chat(chat(n))
    for staff_id in (7, 8):
        await store.staff_connected(staff_id, f"S{staff_id}", 3)
        await store.set_available(staff_id, True, T0)
    await store.set_paused(7, True, T0)
    assert await store.assign_chat("c0", 7, 3, None, T1) is None
    assert await store.assign_next(7, 3, None, T1) is None
    assert ids(await store.queue()) == ["c0", "c1", "c2"]
    # A transfer to a member on a break is refused too.
    held = await store.assign_chat("c0", 8, 3, None, T1)
    assert held is not None
    assert await store.transfer("c0", 8, 7, 3, T1) is None
    await store.set_paused(7, False, T1)
    assert (await store.transfer("c0", 8, 7, 3, T1)) is not None


async def test_a_break_and_an_assignment_race_across_workers(store: ChatStore, workers: Workers) -> None:
    a, b = await workers(2)
    for n in range(20):
        await store.create_chat(chat(n))
    await a.staff_connected(7, "Aino", 50)
    await a.set_available(7, True, T0)
    # One worker assigns chat after chat while the other starts a break: none after the break.

    async def assign_all() -> list[str]:
        got = []
        for n in range(20):
            taken = await a.assign_chat(f"c{n}", 7, 50, None, T1)
            if taken is not None:
                got.append(taken.chat_id)
            await asyncio.sleep(0)
        return got

    async def pause() -> None:
        await asyncio.sleep(0)
        await b.set_paused(7, True, T1)

    got, _ = await asyncio.gather(assign_all(), pause())
    presence = next(p for p in await store.presences() if p.staff_id == 7)
    assert presence.paused_at == T1
    # After the break began nothing more was taken: what was taken is a prefix, the rest still waits.
    assert got == [f"c{n}" for n in range(len(got))]
    assert ids(await store.queue()) == [f"c{n}" for n in range(len(got), 20)]
    assert await a.assign_chat("c19", 7, 50, None, T2) is None


async def test_a_lost_connection_check_out_is_marked_dropped_and_any_other_clears_it(store: ChatStore) -> None:
    await store.staff_connected(7, "Aino", 3)
    await store.set_available(7, True, T0)
    dropped = await store.set_available(7, False, T1, dropped=True)
    assert dropped is not None and dropped.dropped and not dropped.available
    assert next(p for p in await store.presences() if p.staff_id == 7).dropped
    back = await store.set_available(7, True, T2)
    assert back is not None and not back.dropped
    await store.set_available(7, False, T2, dropped=True)
    chosen = await store.set_available(7, False, T2)  # a deliberate check-out
    assert chosen is not None and not chosen.dropped


async def test_a_requeued_chat_remembers_its_member_until_assigned(store: ChatStore) -> None:
    await store.create_chat(chat(0))
    await store.assign_chat("c0", 7, 3, None, T1)
    back = await store.requeue("c0", T2)
    assert back is not None and back.returns_to == 7
    stored = await store.get_chat("c0")
    assert stored is not None and stored.returns_to == 7
    again = await store.assign_chat("c0", 8, 3, None, T2)
    assert again is not None and again.returns_to is None


async def test_a_waiting_chat_is_marked_unstaffed_once_across_workers(store: ChatStore, workers: Workers) -> None:
    await store.create_chat(chat(0))
    a, b = await workers(2)
    marks = await asyncio.gather(*[(a if n % 2 else b).mark_unstaffed("c0") for n in range(10)])
    assert sorted(marks) == [False] * 9 + [True]
    stored = await store.get_chat("c0")
    assert stored is not None and stored.unstaffed
    assert await store.mark_unstaffed("nope") is False
    await store.assign_chat("c0", 7, 3, None, T1)
    await store.create_chat(chat(1))
    await store.assign_chat("c1", 7, 3, None, T1)
    assert await store.mark_unstaffed("c1") is False  # only a waiting chat


async def test_send_message_checks_the_sender_and_appends_in_one_step(store: ChatStore) -> None:
    await store.create_chat(chat(1))
    await store.set_visitor_connected("c1", True, T0, "sid-a")
    assert await store.send_message("c1", Sender.VISITOR, "sid-b", "a", "other socket", T0) is SendRefusal.NOT_HELD
    assert await store.send_message("nope", Sender.VISITOR, "sid-a", "a", "no chat", T0) is SendRefusal.NOT_HELD
    # A waiting visitor may write; nobody gets a staff copy yet.
    first = await store.send_message("c1", Sender.VISITOR, "sid-a", "a", "help", T0)
    assert isinstance(first, Sent)
    assert (first.message.seq, first.duplicate, first.staff_id, first.state, first.visitor_messages) == (
        1, False, None, ChatState.WAITING, 1)
    assert (first.message.text, first.message.sender, first.message.client_id) == ("help", Sender.VISITOR, "a")
    assert await store.send_message("c1", Sender.STAFF, 7, "s", "not yet mine", T0) is SendRefusal.NOT_HELD
    await store.staff_connected(7, "Aino", 3)
    await store.assign_next(7, 3, None, T1)
    assert await store.send_message("c1", Sender.STAFF, 8, "s", "not mine", T1) is SendRefusal.NOT_HELD
    reply = await store.send_message("c1", Sender.STAFF, 7, "s", "hei", T1)
    assert isinstance(reply, Sent)
    assert (reply.message.seq, reply.duplicate, reply.staff_id, reply.state, reply.visitor_messages) == (
        2, False, 7, ChatState.ACTIVE, 1)
    assert (reply.message.staff_id, reply.message.staff_alias) == (7, "Aino")
    # A retry of the same client id: the first message, stored once.
    again = await store.send_message("c1", Sender.VISITOR, "sid-a", "a", "help?", T2)
    assert isinstance(again, Sent) and again.duplicate and again.message == first.message
    assert (again.staff_id, again.state, again.visitor_messages) == (7, ChatState.ACTIVE, 1)
    with pytest.raises(ChatFull):
        await store.send_message("c1", Sender.VISITOR, "sid-a", "b", "one too many", T2, max_messages=2)
    current = await store.get_chat("c1")
    assert (current.last_seq, current.visitor_messages, current.staff_messages) == (2, 1, 1)  # type: ignore[union-attr]
    assert await store.messages_after("c1", 0) == [first.message, reply.message]
    # Ended: the visitor holds nothing; the member's chat is theirs but no longer active.
    await store.end_chat("c1", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2)
    assert await store.send_message("c1", Sender.VISITOR, "sid-a", "c", "late", T2) is SendRefusal.NOT_HELD
    assert await store.send_message("c1", Sender.STAFF, 7, "t", "late", T2) is SendRefusal.NOT_ACTIVE
    assert await store.messages_after("c1", 0) == []


async def test_concurrent_sends_get_contiguous_seqs(store: ChatStore, workers: Workers) -> None:
    await store.create_chat(chat(1))
    await store.set_visitor_connected("c1", True, T0, "sid-a")
    await store.staff_connected(7, "Aino", 3)
    await store.assign_next(7, 3, None, T0)
    stores = await workers(3)
    sends = [
        stores[n % 3].send_message("c1", Sender.VISITOR if n % 2 else Sender.STAFF, "sid-a" if n % 2 else 7,
                                   f"k{n}", f"text {n}", T1)
        for n in range(30)
    ]
    # Each one twice: a retry races its first try and gets the same seq back.
    results = await asyncio.gather(*sends, *[
        stores[(n + 1) % 3].send_message("c1", Sender.VISITOR if n % 2 else Sender.STAFF,
                                         "sid-a" if n % 2 else 7, f"k{n}", f"text {n}", T1)
        for n in range(30)
    ])
    sent = [r for r in results if isinstance(r, Sent)]
    assert len(sent) == 60 and sum(not s.duplicate for s in sent) == 30
    assert sorted({s.message.seq for s in sent}) == list(range(1, 31))
    by_key = {}
    for s in sent:
        assert by_key.setdefault(s.message.client_id, s.message.seq) == s.message.seq
    assert [m.seq for m in await store.messages_after("c1", 0)] == list(range(1, 31))


async def test_chat_counts(store: ChatStore) -> None:
    assert await store.chat_counts() == {ChatState.WAITING: 0, ChatState.ACTIVE: 0, ChatState.ENDED: 0}
    for n in (1, 2, 3):
        await store.create_chat(chat(n))
    await store.assign_next(7, 3, None, T0)
    await store.assign_next(7, 3, None, T0)
    await store.end_chat("c2", EndReason.STAFF_ENDED, Outcome.ANSWERED, T1)
    assert await store.chat_counts() == {ChatState.WAITING: 1, ChatState.ACTIVE: 1, ChatState.ENDED: 1}
    await store.finish_chat("c2")
    assert await store.chat_counts() == {ChatState.WAITING: 1, ChatState.ACTIVE: 1, ChatState.ENDED: 0}
