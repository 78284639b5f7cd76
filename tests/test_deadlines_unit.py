"""The pure deadline rules (chat_server/chat/deadlines.py): state and now in, due actions out. No I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.chat.deadlines import (
    CheckOut,
    CloseQueue,
    Deadlines,
    EndVisitorTimeout,
    FinishWrapUp,
    HandOver,
    ReleaseStaff,
    TellDutyState,
    due_actions,
)
from chat_server.chat.models import Chat, ChatState, EndReason, StaffPresence
from chat_server.settings import ChatSettings, RosterSettings
from roster.schedule import Shift

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
RULES = Deadlines.from_settings(
    ChatSettings(visitor_grace_seconds=120, staff_grace_seconds=30, wrapup_seconds=600),
    RosterSettings(check_in_early_minutes=15),
)


def chat(chat_id: str = "c1", **changes: Any) -> Chat:
    base = Chat(
        chat_id=chat_id, session_id="s" + chat_id, resume_hash="h" + chat_id, language="fi",
        visitor_alias="Guest 1000", state=ChatState.ACTIVE, created_at=T0 - timedelta(minutes=10), staff_id=1,
    )
    return replace(base, **changes)


def shift(staff_id: int, start: timedelta, end: timedelta) -> Shift:
    return Shift(shift_id=staff_id * 10, staff_id=staff_id, starts_at=T0 + start, ends_at=T0 + end)


ON_NOW = [shift(1, -timedelta(hours=1), timedelta(hours=1))]


def due(
    *, chats: list[Chat] | None = None, presences: list[StaffPresence] | None = None,
    shifts: list[Shift] | None = None, loads: dict[int, int] | None = None,
    told: dict[int, bool] | None = None, now: datetime = T0,
) -> list[object]:
    return list(due_actions(
        chats=chats or [], presences=presences or [], shifts=ON_NOW if shifts is None else shifts,
        loads=loads or {}, told_on_shift=told or {}, now=now, deadlines=RULES,
    ))


def test_nothing_is_due_in_a_quiet_open_hour() -> None:
    assert due() == []


def test_visitor_grace_period() -> None:
    away = chat(visitor_connected=False, visitor_left_at=T0)
    assert due(chats=[away], now=T0 + timedelta(seconds=119)) == []
    assert due(chats=[away], now=T0 + timedelta(seconds=120)) == [EndVisitorTimeout(away)]
    # A visitor still connected (or come back) has no deadline.
    assert due(chats=[chat(visitor_left_at=T0)], now=T0 + timedelta(minutes=30)) == []


def test_wrapup_expiry() -> None:
    ended = chat(state=ChatState.ENDED, ended_at=T0, end_reason=EndReason.VISITOR_LEFT)
    assert due(chats=[ended], now=T0 + timedelta(seconds=599)) == []
    assert due(chats=[ended], now=T0 + timedelta(seconds=600)) == [FinishWrapUp("c1")]


def test_requeue_after_staff_loss() -> None:
    gone = StaffPresence(1, "Aino", 3, available=True, sockets=0, disconnected_at=T0)
    told = {1: True}
    assert due(presences=[gone], told=told, now=T0 + timedelta(seconds=29)) == []
    # Released (which checks out) once the grace is over: no second check-out.
    assert due(presences=[gone], told=told, now=T0 + timedelta(seconds=30)) == [ReleaseStaff(gone)]
    back = StaffPresence(1, "Aino", 3, available=True, sockets=1, disconnected_at=T0)
    assert due(presences=[back], told=told, now=T0 + timedelta(minutes=5)) == []


def test_shift_start_and_end_are_told_once() -> None:
    here = StaffPresence(1, "Aino", 3, available=False, sockets=1)
    assert due(presences=[here]) == [TellDutyState(1, True)]
    assert due(presences=[here], told={1: True}) == []
    # Check-in opens 15 minutes early, and that counts as on shift.
    early = [shift(1, timedelta(minutes=10), timedelta(hours=1)), shift(2, -timedelta(hours=1), timedelta(hours=1))]
    assert due(presences=[here], shifts=early) == [TellDutyState(1, True)]
    assert due(presences=[here], shifts=[shift(1, timedelta(minutes=20), timedelta(hours=1))], told={1: True})[0] == (
        TellDutyState(1, False)
    )
    # Nobody connected is told anything.
    assert due(presences=[StaffPresence(1, "Aino", 3)]) == []


def test_hand_over_at_shift_end() -> None:
    ended_shift = [shift(1, -timedelta(hours=2), timedelta(0)), shift(2, -timedelta(hours=1), timedelta(hours=1))]
    aino = StaffPresence(1, "Aino", 3, available=True, sockets=1)
    actions = due(presences=[aino], shifts=ended_shift, loads={1: 2, 2: 1}, told={1: True})
    assert actions == [CheckOut(1), TellDutyState(1, False), HandOver(1)]
    # No active chat, nothing to hand over; someone on duty keeps theirs.
    assert HandOver(1) not in due(shifts=ended_shift, loads={1: 0, 2: 3})
    assert due(shifts=ended_shift, loads={2: 3}) == []


def test_early_check_in_does_not_keep_chats() -> None:
    before_start = [
        shift(1, timedelta(minutes=10), timedelta(hours=1)), shift(2, -timedelta(hours=1), timedelta(hours=1)),
    ]
    assert due(shifts=before_start, loads={1: 1}) == [HandOver(1)]


def test_last_shift_over_closes_the_queue_with_the_next_opening() -> None:
    later = [shift(1, -timedelta(hours=3), -timedelta(hours=1)), shift(2, timedelta(hours=20), timedelta(hours=23))]
    assert due(shifts=later) == [CloseQueue(T0 + timedelta(hours=20))]
    assert due(shifts=[]) == [CloseQueue(None)]


def test_actions_come_in_the_order_the_sweep_applies_them() -> None:
    away = chat("c1", visitor_connected=False, visitor_left_at=T0 - timedelta(minutes=5))
    ended = chat("c2", state=ChatState.ENDED, ended_at=T0 - timedelta(hours=1))
    gone = StaffPresence(3, "Leo", 3, available=True, sockets=0, disconnected_at=T0 - timedelta(minutes=1))
    actions = due(chats=[away, ended], presences=[gone], shifts=[], loads={1: 1})
    assert actions == [EndVisitorTimeout(away), FinishWrapUp("c2"), ReleaseStaff(gone), HandOver(1), CloseQueue(None)]
