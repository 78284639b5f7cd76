"""The chat store's private staff thread (both stores): members only, once per client id, gone with the chat."""

from __future__ import annotations

import pytest

from chat_server.chat.models import EndReason, Outcome, ThreadKind
from chat_server.store.base import ChatFull, ChatStore, NotInThread
from chat_server.store.redis import RedisChatStore
from tests.support.redis import redis_keys, redis_values
from tests.test_store_contract import T0, T1, Workers, chat, rstore, store, workers  # noqa: F401 - fixtures


async def active(store: ChatStore, n: int = 1, staff_id: int = 1) -> str:
    await store.create_chat(chat(n))
    await store.staff_connected(staff_id, "Aino", 3)
    await store.set_available(staff_id, True, T0)
    assigned = await store.assign_next(staff_id, 3, None, T0)
    assert assigned is not None
    return assigned.chat_id


async def test_thread_members_write_and_the_chat_member_is_always_reached(store: ChatStore) -> None:
    chat_id = await active(store)
    # Leo is in no thread yet: he may not write.
    with pytest.raises(NotInThread):
        await store.thread_append(chat_id, 2, "Leo", "l-1", "hello?", T0)
    assert await store.thread_members(chat_id) == frozenset()
    first = await store.thread_append(chat_id, 1, "Aino", "a-1", "Leo, a threat: advice?", T0, add=(2,))
    assert first is not None and not first.duplicate
    assert first.entry.seq == 1 and first.entry.kind is ThreadKind.MESSAGE
    assert (first.entry.staff_id, first.entry.alias, first.entry.text) == (1, "Aino", "Leo, a threat: advice?")
    assert first.members == frozenset({1, 2})
    reply = await store.thread_append(chat_id, 2, "Leo", "l-1", "Offer the crisis line.", T1)
    assert reply is not None and reply.entry.seq == 2 and reply.members == frozenset({1, 2})
    # The same client id of the same writer is the same entry; another writer's is a new one.
    again = await store.thread_append(chat_id, 2, "Leo", "l-1", "changed", T1)
    assert again is not None and again.duplicate and again.entry == reply.entry
    other = await store.thread_append(chat_id, 1, "Aino", "l-1", "thanks", T1)
    assert other is not None and other.entry.seq == 3
    assert [e.text for e in await store.thread_entries(chat_id)] == [
        "Leo, a threat: advice?", "Offer the crisis line.", "thanks",
    ]
    assert await store.thread_members(chat_id) == frozenset({1, 2})


async def test_a_hand_over_note_is_written_by_anyone_the_domain_lets(store: ChatStore) -> None:
    chat_id = await active(store)
    note = await store.thread_append(
        chat_id, 7, "Mia", "h-1", "Knows the police; wants housing info", T0, kind=ThreadKind.HANDOVER, add=(1,),
        members_only=False,
    )
    assert note is not None and note.entry.kind is ThreadKind.HANDOVER
    assert note.members == frozenset({1, 7})


async def test_the_thread_goes_with_the_chat_and_only_an_active_chat_has_one(store: ChatStore) -> None:
    await store.create_chat(chat(9))
    # A waiting chat has no thread.
    assert await store.thread_append("c9", 1, "Aino", "a-0", "early", T0) is None
    chat_id = await active(store, 1)
    assert await store.thread_append(chat_id, 1, "Aino", "a-1", "secret words", T0, add=(2,)) is not None
    assert await store.end_chat(chat_id, EndReason.STAFF_ENDED, Outcome.ANSWERED, T1) is not None
    assert await store.thread_entries(chat_id) == []
    assert await store.thread_members(chat_id) == frozenset()
    # An ended chat (awaiting topics) takes no new entry: nothing brings the text back.
    assert await store.thread_append(chat_id, 1, "Aino", "a-2", "after", T1) is None
    assert await store.thread_entries(chat_id) == []


async def test_the_thread_is_capped(store: ChatStore) -> None:
    chat_id = await active(store)
    for i in range(3):
        assert await store.thread_append(chat_id, 1, "Aino", f"a-{i}", f"n{i}", T0, max_entries=3) is not None
    with pytest.raises(ChatFull):
        await store.thread_append(chat_id, 1, "Aino", "a-9", "one more", T0, max_entries=3)
    assert len(await store.thread_entries(chat_id)) == 3


async def test_two_workers_share_one_thread(store: ChatStore, workers: Workers) -> None:
    a, b = await workers(2)
    chat_id = await active(a)
    await a.thread_append(chat_id, 1, "Aino", "a-1", "ask", T0, add=(2,))
    reply = await b.thread_append(chat_id, 2, "Leo", "l-1", "answer", T0)
    assert reply is not None and reply.entry.seq == 2
    assert [e.text for e in await a.thread_entries(chat_id)] == ["ask", "answer"]


async def test_redis_thread_keys_expire_and_leave_with_the_chat(rstore: RedisChatStore, redis_url: str) -> None:
    chat_id = await active(rstore)
    await rstore.thread_append(chat_id, 1, "Aino", "a-1", "THREADCANARY", T0, add=(2,))
    keys = {k: ttl for k, ttl in redis_keys(redis_url, rstore.prefix).items() if ":thread" in k}
    assert sorted(k.removeprefix(rstore.prefix).split(":")[0] for k in keys) == ["thread", "threadcids", "threadwho"]
    assert all(0 < ttl <= 86400 for ttl in keys.values())
    await rstore.end_chat(chat_id, EndReason.VISITOR_LEFT, Outcome.ANSWERED, T1)
    assert not [k for k in redis_keys(redis_url, rstore.prefix) if ":thread" in k]
    assert b"THREADCANARY" not in redis_values(redis_url)
