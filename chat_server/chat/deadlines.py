"""Deadlines, decided purely: from chats, presences, shifts and now to the actions that are due.

The sweep (chat_server.chat.sweep) reads the state, asks `due_actions` what to do and
carries the actions out in order, each one atomically against the store as it is
then (an action that has become moot, like ending a chat that ended meanwhile,
changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chat_server.chat.models import Chat, ChatState, StaffPresence
from chat_server.settings import ChatSettings, RosterSettings
from roster.schedule import Shift, is_open, next_opening


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The time limits the sweep applies."""

    visitor_grace: timedelta
    staff_grace: timedelta
    wrapup: timedelta
    check_in_early: timedelta

    @classmethod
    def from_settings(cls, chat: ChatSettings, roster: RosterSettings) -> Deadlines:
        return cls(
            visitor_grace=timedelta(seconds=chat.visitor_grace_seconds),
            staff_grace=timedelta(seconds=chat.staff_grace_seconds),
            wrapup=timedelta(seconds=chat.wrapup_seconds),
            check_in_early=timedelta(minutes=roster.check_in_early_minutes),
        )


@dataclass(frozen=True, slots=True)
class FinishWrapUp:
    """An ended chat was not tagged within the wrap-up time: write it without topics."""

    chat_id: str


@dataclass(frozen=True, slots=True)
class EndVisitorTimeout:
    """The visitor did not come back within the grace period: end the chat."""

    chat: Chat


@dataclass(frozen=True, slots=True)
class ReleaseStaff:
    """Every socket of a member has been gone past the grace period: check out, requeue their chats."""

    presence: StaffPresence


@dataclass(frozen=True, slots=True)
class CheckOut:
    """The member's last covering shift has ended: check them out (the next shift starts with a check-in)."""

    staff_id: int


@dataclass(frozen=True, slots=True)
class TellDutyState:
    """A connected member's shift started or ended since they were last told."""

    staff_id: int
    on_shift: bool


@dataclass(frozen=True, slots=True)
class HandOver:
    """A member with active chats is off duty: hand each chat to someone on duty, or warn once."""

    staff_id: int


@dataclass(frozen=True, slots=True)
class CloseQueue:
    """Nobody is on duty: end every waiting chat as unanswered, telling the next opening."""

    next_opening: datetime | None


Action = FinishWrapUp | EndVisitorTimeout | ReleaseStaff | CheckOut | TellDutyState | HandOver | CloseQueue


def due_actions(
    *,
    chats: Sequence[Chat],
    presences: Sequence[StaffPresence],
    shifts: Sequence[Shift],
    loads: Mapping[int, int],
    told_on_shift: Mapping[int, bool],
    now: datetime,
    deadlines: Deadlines,
) -> list[Action]:
    """Return what is due at `now`, in the order to carry it out.

    `chats` are the chats with a deadline (ended awaiting topics, or the visitor
    away), `loads` the active chats per member, `told_on_shift` whether each
    member was last told they are on shift.
    """
    actions: list[Action] = []
    for chat in chats:
        if chat.state is ChatState.ENDED:
            if chat.ended_at is not None and now - chat.ended_at >= deadlines.wrapup:
                actions.append(FinishWrapUp(chat.chat_id))
        elif (
            not chat.visitor_connected
            and chat.visitor_left_at is not None
            and now - chat.visitor_left_at >= deadlines.visitor_grace
        ):
            actions.append(EndVisitorTimeout(chat))
    released = set()
    for presence in presences:
        if (
            not presence.sockets
            and presence.disconnected_at is not None
            and now - presence.disconnected_at >= deadlines.staff_grace
        ):
            released.add(presence.staff_id)
            actions.append(ReleaseStaff(presence))
    # Check-in counts early; being given chats (and keeping them) does not.
    on_shift_now = {s.staff_id for s in shifts if s.covers(now, deadlines.check_in_early)}
    for presence in presences:
        on_shift = presence.staff_id in on_shift_now
        if not on_shift and presence.available and presence.staff_id not in released:
            actions.append(CheckOut(presence.staff_id))
        if presence.sockets and told_on_shift.get(presence.staff_id) != on_shift:
            actions.append(TellDutyState(presence.staff_id, on_shift))
    on_duty = {s.staff_id for s in shifts if s.covers(now)}
    actions.extend(HandOver(staff_id) for staff_id, load in loads.items() if load and staff_id not in on_duty)
    if not is_open(list(shifts), now):
        actions.append(CloseQueue(next_opening(list(shifts), now)))
    return actions
