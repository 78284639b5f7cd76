"""The store contract of a colleague brought into a chat (join_second, leave_second), on both stores.

The second counts the chat in their load (the O(1) counters the scripts keep), may
write (a listener may not), and leaves the chat's load at its end or requeue; a
chat with one member sends exactly as before.
"""

from __future__ import annotations

from datetime import timedelta

from chat_server.chat.models import ChatState, EndReason, Outcome, Sender
from chat_server.store.base import ChatStore, JoinRefusal, SendRefusal, Sent
from tests.test_store_contract import T0, T1, T2, chat, ids, store  # noqa: F401  (the store fixture)


async def on_duty(store: ChatStore, staff_id: int, alias: str, max_chats: int) -> None:
    await store.staff_connected(staff_id, alias, max_chats)
    await store.set_available(staff_id, True, T0)


async def test_a_second_joins_counts_writes_and_leaves(store: ChatStore) -> None:
    for n in range(3):
        await store.create_chat(chat(n))
    await on_duty(store, 7, "Aino", 3)
    await store.assign_next(7, 3, 11, T0)  # c0 to Aino
    await store.staff_connected(8, "Leo", 1)
    # Leo is connected but not checked in; then the refusals, each changing nothing.
    assert await store.join_second("c0", 7, 8, "responder", 1, T1) is JoinRefusal.NOT_ON_DUTY
    await store.set_available(8, True, T0)
    assert await store.join_second("c0", 9, 8, "responder", 1, T1) is JoinRefusal.NOT_HELD
    assert await store.join_second("nope", 7, 8, "responder", 1, T1) is JoinRefusal.NOT_HELD
    assert await store.join_second("c0", 7, 8, "responder", 0, T1) is JoinRefusal.FULL
    await store.set_paused(8, True, T1)
    assert await store.join_second("c0", 7, 8, "responder", 1, T1) is JoinRefusal.NOT_ON_DUTY
    await store.set_paused(8, False, T1)
    assert await store.staff_loads() == {7: 1}

    joined = await store.join_second("c0", 7, 8, "responder", 1, T1)
    assert not isinstance(joined, JoinRefusal)
    assert (joined.second_id, joined.second_as, joined.seconds) == (8, "responder", ("responder",))
    assert await store.get_chat("c0") == joined
    assert await store.staff_loads() == {7: 1, 8: 1}
    assert ids(await store.chats_seconded(8)) == ["c0"]
    assert ids(await store.chats_of_staff(8)) == []  # the chat stays Aino's
    assert await store.join_second("c0", 7, 8, "responder", 3, T1) is JoinRefusal.SECOND_PRESENT
    # Leo is full: the queue gives him nothing; a transfer to him (in the chat already) is refused.
    assert await store.assign_next(8, 1, 11, T1) is None
    assert await store.transfer("c0", 7, 8, 3, T1) is None

    # Both write; each message names its author; the second comes back with the message.
    visitor_sid = "sid-c0"
    await store.set_visitor_connected("c0", True, T1, visitor_sid)
    by_aino = await store.send_message("c0", Sender.STAFF, 7, "a1", "hello", T1)
    by_leo = await store.send_message("c0", Sender.STAFF, 8, "l1", "hi, Leo here", T1)
    by_visitor = await store.send_message("c0", Sender.VISITOR, visitor_sid, "v1", "thanks", T1)
    assert isinstance(by_aino, Sent) and isinstance(by_leo, Sent) and isinstance(by_visitor, Sent)
    assert [s.message.seq for s in (by_aino, by_leo, by_visitor)] == [1, 2, 3]
    assert (by_leo.message.staff_id, by_leo.message.staff_alias) == (8, "Leo")
    assert (by_aino.message.staff_id, by_aino.message.staff_alias) == (7, "Aino")
    assert {(s.staff_id, s.second_id) for s in (by_aino, by_leo, by_visitor)} == {(7, 8)}
    again = await store.send_message("c0", Sender.STAFF, 8, "l1", "hi, Leo here", T1)
    assert isinstance(again, Sent) and again.duplicate and again.message.seq == 2
    assert await store.send_message("c0", Sender.STAFF, 9, "x1", "not mine", T1) is SendRefusal.NOT_HELD

    # Only that second leaves (or any, without an id); the chat as it was names who left.
    assert await store.leave_second("c0", 9) is None
    left = await store.leave_second("c0", 8)
    assert left is not None and left.second_id == 8
    after = await store.get_chat("c0")
    assert after is not None and (after.second_id, after.second_as, after.seconds) == (None, None, ("responder",))
    assert await store.leave_second("c0") is None
    assert await store.staff_loads() == {7: 1}
    assert await store.chats_seconded(8) == []
    assert await store.send_message("c0", Sender.STAFF, 8, "l2", "gone", T1) is SendRefusal.NOT_HELD


async def test_a_listener_reads_and_never_writes(store: ChatStore) -> None:
    await store.create_chat(chat(0))
    await on_duty(store, 7, "Aino", 3)
    await on_duty(store, 8, "Leo", 2)
    await store.assign_next(7, 3, None, T0)
    joined = await store.join_second("c0", 7, 8, "listener", 2, T1)
    assert not isinstance(joined, JoinRefusal) and joined.second_as == "listener"
    assert await store.send_message("c0", Sender.STAFF, 8, "l1", "may I?", T1) is SendRefusal.LISTENER
    assert (await store.get_chat("c0")).last_seq == 0  # type: ignore[union-attr]
    # A responder after a listener: the chat counts both kinds, once each.
    await store.leave_second("c0", 8)
    rejoined = await store.join_second("c0", 7, 8, "responder", 2, T1)
    assert not isinstance(rejoined, JoinRefusal) and rejoined.seconds == ("listener", "responder")
    await store.leave_second("c0", 8)
    again = await store.join_second("c0", 7, 8, "listener", 2, T1)
    assert not isinstance(again, JoinRefusal) and again.seconds == ("listener", "responder")


async def test_end_and_requeue_take_the_second_off_their_load(store: ChatStore) -> None:
    for n in range(2):
        await store.create_chat(chat(n))
    await on_duty(store, 7, "Aino", 3)
    await on_duty(store, 8, "Leo", 3)
    await store.assign_next(7, 3, None, T0)  # c0
    await store.assign_next(7, 3, None, T0)  # c1
    await store.join_second("c0", 7, 8, "responder", 3, T1)
    await store.join_second("c1", 7, 8, "responder", 3, T1)
    assert await store.staff_loads() == {7: 2, 8: 2}
    ended = await store.end_chat("c0", EndReason.STAFF_ENDED, Outcome.ANSWERED, T2, staff_id=7)
    # The ended chat still names its second (who to tell), off their load and their list.
    assert ended is not None and ended.second_id == 8 and ended.state is ChatState.ENDED
    assert await store.staff_loads() == {7: 1, 8: 1}
    assert ids(await store.chats_seconded(8)) == ["c1"]
    assert await store.send_message("c0", Sender.STAFF, 8, "l1", "late", T2) is SendRefusal.NOT_ACTIVE
    back = await store.requeue("c1", T2 + timedelta(seconds=1))
    assert back is not None and back.second_id is None and back.second_as is None
    assert await store.staff_loads() == {}
    assert await store.chats_seconded(8) == []
    finished = await store.finish_chat("c0")
    assert finished is not None and finished.seconds == ("responder",)


async def test_a_transfer_keeps_the_second(store: ChatStore) -> None:
    await store.create_chat(chat(0))
    for staff_id, alias in ((7, "Aino"), (8, "Leo"), (9, "Mia")):
        await on_duty(store, staff_id, alias, 3)
    await store.assign_next(7, 3, None, T0)
    await store.join_second("c0", 7, 8, "responder", 3, T1)
    moved = await store.transfer("c0", 7, 9, 3, T2)
    assert moved is not None and (moved.staff_id, moved.second_id) == (9, 8)
    assert await store.staff_loads() == {8: 1, 9: 1}
    sent = await store.send_message("c0", Sender.STAFF, 8, "l1", "still here", T2)
    assert isinstance(sent, Sent) and (sent.staff_id, sent.second_id) == (9, 8)
