"""The chat domain without a server: a ChatService on the real memory store and SQLite, a fixed clock.

No socket, no sleep: the clock is moved and the sweep called by hand. The
notifier records the typed pushes the domain makes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.accounts import StaffAccount, StaffRepository
from chat_server.chat import events
from chat_server.chat.models import Chat, ChatState
from chat_server.chat.records import SessionRepository
from chat_server.chat.service import ChatService
from chat_server.clock import FixedClock
from chat_server.db import ChatSessionRow, create_engine, migrate, sessionmaker
from chat_server.passwords import PasswordPolicy, PasswordWork
from chat_server.sealing import totp_sealer
from chat_server.settings import TOPICS_FILE, ChatSettings, RosterSettings
from chat_server.store.memory import MemoryChatStore
from chat_server.topics import load_taxonomy, sync_topics
from roster.repository import RosterCache, ShiftRepository

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SETTINGS = ChatSettings(visitor_grace_seconds=120, staff_grace_seconds=30, wrapup_seconds=600)


class RecordingNotifier:
    """Collects every push as (method, room, payload); it implements the Notifier protocol."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []

    def sent(self, method: str, room: Any = None) -> list[Any]:
        return [p for m, r, p in self.calls if m == method and (room is None or r == room)]

    async def _record(self, method: str, room: Any, payload: Any) -> None:
        self.calls.append((method, room, payload))

    async def visitor_chat_state(self, chat_id: str, payload: events.ChatStateView) -> None:
        await self._record("visitor_chat_state", chat_id, payload)

    async def visitor_queue_position(self, chat_id: str, payload: events.QueuePosition) -> None:
        await self._record("visitor_queue_position", chat_id, payload)

    async def message_new(self, chat_id: str, payload: events.MessageView, staff_id: int | None,
                          staff_payload: events.StaffMessageView, *, staff_first: bool,
                          also: int | None = None) -> None:
        # Recorded as the pushes it makes, in the order it makes them.
        pushes = [("visitor_message", chat_id, payload)]
        if staff_id is not None:
            pushes.insert(0 if staff_first else 1, ("staff_message", staff_id, staff_payload))
            if also is not None and also != staff_id:
                pushes.append(("staff_message", also, staff_payload))
        for method, room, data in pushes:
            await self._record(method, room, data)

    async def visitor_typing(self, chat_id: str, payload: events.StaffTyping) -> None:
        await self._record("visitor_typing", chat_id, payload)

    async def visitor_chat_ended(self, chat_id: str, payload: events.VisitorChatEnded) -> None:
        await self._record("visitor_chat_ended", chat_id, payload)

    async def detach_visitor(self, sid: str, chat_id: str) -> None:
        await self._record("detach_visitor", sid, chat_id)

    async def staff_chat_assigned(self, staff_id: int, payload: events.StaffChatView) -> None:
        await self._record("staff_chat_assigned", staff_id, payload)

    async def staff_typing(self, staff_id: int, payload: events.VisitorTyping) -> None:
        await self._record("staff_typing", staff_id, payload)

    async def staff_chat_presence(self, staff_id: int, payload: events.ChatPresence) -> None:
        await self._record("staff_chat_presence", staff_id, payload)

    async def staff_chat_language(self, staff_id: int, payload: events.ChatLanguage) -> None:
        await self._record("staff_chat_language", staff_id, payload)

    async def staff_chat_ended(self, staff_id: int, payload: events.StaffChatEnded) -> None:
        await self._record("staff_chat_ended", staff_id, payload)

    async def staff_chat_removed(self, staff_id: int, payload: events.ChatRemoved) -> None:
        await self._record("staff_chat_removed", staff_id, payload)

    async def staff_duty_state(self, staff_id: int, payload: events.DutyState) -> None:
        await self._record("staff_duty_state", staff_id, payload)

    async def staff_duty_warning(self, staff_id: int, payload: events.DutyWarning) -> None:
        await self._record("staff_duty_warning", staff_id, payload)

    async def staff_duty_alert(self, staff_id: int, payload: events.DutyAlert) -> None:
        await self._record("staff_duty_alert", staff_id, payload)

    async def managers_duty_alert(self, payload: events.DutyAlert) -> None:
        await self._record("managers_duty_alert", None, payload)

    async def all_staff_duty_roster(self, payload: events.DutyRoster) -> None:
        await self._record("all_staff_duty_roster", None, payload)

    async def all_staff_queue_update(self, payload: events.QueueUpdate) -> None:
        await self._record("all_staff_queue_update", None, payload)

    async def state_lost(self) -> None:
        await self._record("state_lost", None, None)

    async def reattach(self) -> None:
        await self._record("reattach", None, None)


@dataclass
class World:
    service: ChatService
    store: MemoryChatStore
    clock: FixedClock
    notifier: RecordingNotifier
    staff: StaffRepository
    shifts: ShiftRepository
    roster: RosterCache
    engine: AsyncEngine
    tmp_path: Path

    async def member(self, name: str, start: timedelta, end: timedelta, *, check_in: bool = True) -> StaffAccount:
        account = await self.staff.add(
            name, "correct horse battery", display_name=name.title(), alias=name.title(), languages=("fi", "en"),
            now=self.clock.now(),
        )
        await self.shifts.add(account.id, T0 + start, T0 + end)
        self.roster.invalidate()
        await self.service.staff_connected(account)
        if check_in:
            await self.service.check_in(account.id)
        return account

    async def sweep_after(self, delta: timedelta) -> None:
        self.clock.move(delta)
        await self.service.sweep()

    async def rows(self) -> list[ChatSessionRow]:
        async with sessionmaker(self.engine)() as session:
            return list((await session.scalars(select(ChatSessionRow))).all())


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dutychat.db'}")
    await migrate(engine)
    sessions = sessionmaker(engine)
    taxonomy = load_taxonomy(TOPICS_FILE, SETTINGS.languages)
    await sync_topics(sessions, taxonomy)
    clock = FixedClock(T0)
    store = MemoryChatStore()
    shifts = ShiftRepository(sessions)
    roster = RosterCache(shifts)
    notifier = RecordingNotifier()
    service = ChatService(
        store=store, roster=roster, records=SessionRepository(sessions, clock),
        taxonomy=taxonomy, chat_settings=SETTINGS,
        roster_settings=RosterSettings(), clock=clock, notifier=notifier,
    )
    await service.start()
    staff = StaffRepository(sessions, PasswordWork(), PasswordPolicy(), totp_sealer(b"unit-test-secret-" + b"x" * 32))
    yield World(service, store, clock, notifier, staff, shifts, roster, engine, tmp_path)
    await service.close()
    await store.close()
    await engine.dispose()


async def live_chat(world: World, chat_id: str) -> Chat:
    chat = await world.store.get_chat(chat_id)
    assert chat is not None, "the chat is gone"
    return chat


async def start(world: World, sid: str = "v1") -> str:
    result = await world.service.start_chat("fi", sid)
    assert result.chat_id is not None
    return result.chat_id


async def test_visitor_grace_then_wrapup_expiry(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(hours=4))
    chat_id = await start(world)
    assert (await live_chat(world, chat_id)).state is ChatState.ACTIVE
    await world.service.visitor_disconnected(chat_id, "v1")
    assert world.notifier.sent("staff_chat_presence", aino.id)[-1] == {"chat_id": chat_id, "visitor_connected": False}

    await world.sweep_after(timedelta(seconds=119))
    assert world.notifier.sent("visitor_chat_ended") == []
    await world.sweep_after(timedelta(seconds=1))
    assert world.notifier.sent("visitor_chat_ended", chat_id) == [events.visitor_chat_ended(chat_id, "visitor_timeout")]
    assert world.notifier.sent("staff_chat_ended", aino.id) == [
        {"chat_id": chat_id, "reason": "visitor_timeout", "needs_topics": True}
    ]
    assert (await live_chat(world, chat_id)).state is ChatState.ENDED

    # Not tagged within the wrap-up time: written without topics, gone from the member's list.
    await world.sweep_after(timedelta(seconds=599))
    assert world.notifier.sent("staff_chat_removed") == []
    await world.sweep_after(timedelta(seconds=1))
    assert world.notifier.sent("staff_chat_removed", aino.id) == [{"chat_id": chat_id, "reason": "wrapup_expired"}]
    assert await world.store.get_chat(chat_id) is None
    [row] = await world.rows()
    assert (row.outcome, row.wait_seconds, row.duration_seconds) == ("answered", 0, 120)


async def test_visitor_back_within_grace_keeps_the_chat(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(hours=4))
    result = await world.service.start_chat("fi", "v1")
    assert result.chat_id is not None and result.resume_token is not None
    await world.service.visitor_disconnected(result.chat_id, "v1")
    world.clock.move(timedelta(seconds=100))
    resumed = await world.service.resume(result.resume_token, 0, "v2")
    assert (resumed.chat.visitor_sid, resumed.view["state"]) == ("v2", "active")
    assert world.notifier.sent("detach_visitor") == []  # the old socket had already dropped
    assert world.notifier.sent("staff_chat_presence", aino.id)[-1] == {
        "chat_id": result.chat_id, "visitor_connected": True,
    }
    await world.sweep_after(timedelta(seconds=100))
    assert world.notifier.sent("visitor_chat_ended") == []


async def test_hand_over_at_shift_end(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(minutes=30))
    chat_id = await start(world)
    leo = await world.member("leo", -timedelta(hours=1), timedelta(hours=4))
    assert (await live_chat(world, chat_id)).staff_id == aino.id

    await world.sweep_after(timedelta(minutes=30))
    moved = await world.store.get_chat(chat_id)
    assert moved is not None and moved.staff_id == leo.id and moved.state is ChatState.ACTIVE
    state = world.notifier.sent("visitor_chat_state", chat_id)[-1]
    assert (state["state"], state["staff_alias"], state["reason"]) == ("active", "Leo", "handed_over")
    assert world.notifier.sent("staff_chat_removed", aino.id) == [{"chat_id": chat_id, "reason": "handed_over"}]
    assert world.notifier.sent("staff_chat_assigned", leo.id)[-1]["chat_id"] == chat_id
    # Aino's shift is over: checked out and told.
    assert world.notifier.sent("staff_duty_state", aino.id)[-1] == {
        "available": False, "on_shift": False, "shift_ends_at": None, "paused_since": None,
    }


async def test_shift_end_with_nobody_to_take_over_warns_once(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(minutes=30))
    await world.member("leo", -timedelta(hours=1), timedelta(hours=4), check_in=False)
    chat_id = await start(world)
    await world.sweep_after(timedelta(minutes=30))
    await world.sweep_after(timedelta(seconds=1))
    assert world.notifier.sent("staff_duty_warning", aino.id) == [events.shift_ended_warning(chat_id)]
    assert (await live_chat(world, chat_id)).staff_id == aino.id


async def test_requeue_after_staff_loss(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(hours=4))
    first = await start(world, "v1")
    world.clock.move(timedelta(seconds=1))
    second = await start(world, "v2")
    await world.service.staff_disconnected(aino.id)

    await world.sweep_after(timedelta(seconds=29))
    assert world.notifier.sent("staff_chat_removed") == []
    await world.sweep_after(timedelta(seconds=1))
    # Back at the front of the queue, the longest-running chat first.
    assert [c.chat_id for c in await world.store.queue()] == [first, second]
    for chat_id, position in ((first, 1), (second, 2)):
        state = world.notifier.sent("visitor_chat_state", chat_id)[-1]
        assert (state["state"], state["reason"]) == ("waiting", "staff_disconnected")
        # The newest went back first; the positions that follow the second requeue are pushed.
        assert world.notifier.sent("visitor_queue_position", chat_id)[-1]["position"] == position
    assert world.notifier.sent("staff_chat_removed", aino.id) == [
        {"chat_id": second, "reason": "requeued"}, {"chat_id": first, "reason": "requeued"},
    ]
    presence = next(p for p in await world.store.presences() if p.staff_id == aino.id)
    assert presence.available is False


async def test_last_shift_over_ends_the_queue_as_unanswered(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(minutes=30))
    await world.service.check_out(aino.id)
    chat_id = await start(world)
    await world.shifts.add(aino.id, T0 + timedelta(hours=20), T0 + timedelta(hours=22))
    world.roster.invalidate()
    await world.sweep_after(timedelta(minutes=30))
    assert world.notifier.sent("visitor_chat_ended", chat_id) == [
        {"chat_id": chat_id, "reason": "duty_ended", "next_opening": "2026-11-30T08:00:00Z", "feedback_ticket": None}
    ]
    [row] = await world.rows()
    assert row.outcome == "unanswered"


async def test_a_row_the_database_refuses_is_owed_and_written_later(world: World) -> None:
    rows = world.service.rows
    working = rows.records
    # The database goes away: a real SQLite file that cannot be opened (its directory is missing).
    unreachable = create_engine(f"sqlite+aiosqlite:///{world.tmp_path / 'gone' / 'dutychat.db'}")
    rows.records = SessionRepository(sessionmaker(unreachable), world.clock)

    result = await world.service.start_chat("fi", "v1")  # nobody on duty: counted as closed
    assert result.chat["state"] == "closed"
    [owed] = await world.store.owed_rows()
    assert owed.outcome.value == "closed"
    await world.service.sweep()  # still away: kept, nothing lost
    assert [r.session_id for r in await world.store.owed_rows()] == [owed.session_id]

    await unreachable.dispose()
    rows.records = working  # the database is back
    await world.service.sweep()
    assert await world.store.owed_rows() == []
    assert [(r.id, r.outcome) for r in await world.rows()] == [(owed.session_id, "closed")]


async def test_block_tells_the_visitor_with_every_key(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(hours=4))
    chat_id = await start(world)
    await world.service.staff_block(aino.id, chat_id)
    assert world.notifier.sent("visitor_chat_ended", chat_id) == [
        {"chat_id": chat_id, "reason": "blocked", "next_opening": None, "feedback_ticket": None}
    ]
    assert world.notifier.sent("staff_chat_removed", aino.id) == [{"chat_id": chat_id, "reason": "blocked"}]
    [row] = await world.rows()
    assert row.outcome == "blocked"


async def test_tagging_writes_the_row_with_topics_once(world: World) -> None:
    aino = await world.member("aino", -timedelta(hours=1), timedelta(hours=4))
    chat_id = await start(world)
    world.clock.move(timedelta(minutes=5))
    code = sorted(world.service.lifecycle.taxonomy.active_codes)[0]
    outcome = await world.service.staff_end(aino.id, chat_id, [code, code])
    assert outcome.value == "answered"
    [row] = await world.rows()
    assert (row.outcome, row.duration_seconds) == ("answered", 300)
    assert world.notifier.sent("staff_chat_removed", aino.id) == [{"chat_id": chat_id, "reason": "tagged"}]
    ended = world.notifier.sent("visitor_chat_ended", chat_id)[0]
    assert ended["reason"] == "staff_ended" and isinstance(ended["feedback_ticket"], str)
