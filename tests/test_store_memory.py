"""The in-memory chat store: every operation, and the decisions that must not race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from chat_server.chat.models import Chat, ChatState, EndReason, Outcome, Sender
from chat_server.store.memory import MemoryChatStore

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def chat(n: int) -> Chat:
    return Chat(f"c{n}", f"s{n}", f"r{n}", "fi", f"Guest {n}", ChatState.WAITING, T0 + timedelta(seconds=n))


async def test_queue_assign_requeue_end_finish() -> None:
    store = MemoryChatStore()
    for n in range(3):
        await store.create_chat(chat(n))
    assert [c.chat_id for c in await store.queue()] == ["c0", "c1", "c2"]
    await store.staff_connected(7, "Aino", 2)
    got = await store.assign_next(7, 2, 99, T0)
    assert got is not None and got.chat_id == "c0" and got.state is ChatState.ACTIVE and got.shift_id == 99
    assert (await store.assign_next(7, 2, 99, T0)).chat_id == "c1"  # type: ignore[union-attr]
    assert await store.assign_next(7, 2, 99, T0) is None  # at capacity
    assert await store.staff_loads() == {7: 2}
    back = await store.requeue("c0", T0)
    assert back is not None and back.state is ChatState.WAITING and back.staff_id is None
    assert [c.chat_id for c in await store.queue()] == ["c0", "c2"]
    assert await store.requeue("c0", T0) is None  # only active chats
    again = await store.assign_next(7, 2, 100, T0)
    assert again.chat_id == "c0" and again.shift_id == 99 and again.first_assigned_at == T0  # type: ignore[union-attr]
    ended = await store.end_chat("c0", EndReason.STAFF_ENDED, Outcome.ANSWERED, T0)
    assert ended is not None and ended.state is ChatState.ENDED
    assert await store.end_chat("c0", EndReason.VISITOR_LEFT, Outcome.ANSWERED, T0) is None
    assert await store.chat_by_resume_hash("r0") is None
    assert [c.chat_id for c in await store.chats_of_staff(7)] == ["c0", "c1"]
    assert (await store.finish_chat("c0")) is not None
    assert await store.finish_chat("c0") is None
    assert await store.get_chat("c0") is None
    waiting = await store.end_chat("c2", EndReason.VISITOR_LEFT, Outcome.ABANDONED, T0)
    assert waiting is not None and await store.queue() == []


async def test_messages_sequence_dedupe_and_deletion() -> None:
    store = MemoryChatStore()
    await store.create_chat(chat(1))
    assert await store.append_message("c1", Sender.VISITOR, "a", "too early", T0) is None
    await store.staff_connected(7, "Aino", 3)
    await store.assign_next(7, 3, None, T0)
    m1, dup1 = await store.append_message("c1", Sender.VISITOR, "a", "hello", T0)  # type: ignore[misc]
    m2, dup2 = await store.append_message("c1", Sender.STAFF, "a", "hi", T0)  # type: ignore[misc]
    m3, dup3 = await store.append_message("c1", Sender.VISITOR, "a", "hello again?", T0)  # type: ignore[misc]
    assert (m1.seq, m2.seq, m3.seq) == (1, 2, 1) and (dup1, dup2, dup3) == (False, False, True)
    assert m3.text == "hello"
    current = await store.get_chat("c1")
    assert (current.last_seq, current.visitor_messages, current.staff_messages) == (2, 1, 1)  # type: ignore[union-attr]
    assert [m.seq for m in await store.messages_after("c1", 1)] == [2]
    await store.end_chat("c1", EndReason.STAFF_ENDED, Outcome.ANSWERED, T0)
    assert await store.messages_after("c1", 0) == []
    assert await store.append_message("c1", Sender.VISITOR, "b", "late", T0) is None


async def test_presence() -> None:
    store = MemoryChatStore()
    await store.staff_connected(7, "Aino", 3)
    await store.staff_connected(7, "Aino", 3)
    assert (await store.set_available(7, True, T0)).last_chat_at == T0  # type: ignore[union-attr]
    one = await store.staff_disconnected(7, T0)
    assert one.sockets == 1 and one.disconnected_at is None  # type: ignore[union-attr]
    none = await store.staff_disconnected(7, T0)
    assert none.sockets == 0 and none.disconnected_at == T0 and none.available  # type: ignore[union-attr]
    assert await store.set_available(8, True, T0) is None


async def test_concurrent_assignment_never_doubles_or_exceeds_capacity() -> None:
    store = MemoryChatStore()
    for n in range(50):
        await store.create_chat(chat(n))
    for staff in range(5):
        await store.staff_connected(staff, f"S{staff}", 4)

    async def take(staff: int) -> list[str]:
        got = []
        while (c := await store.assign_next(staff, 4, None, T0)) is not None:
            got.append(c.chat_id)
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(take(s) for s in range(5)))
    taken = [c for r in results for c in r]
    assert len(taken) == len(set(taken)) == 20
    assert all(len(r) == 4 for r in results)
    assert len(await store.queue()) == 30
