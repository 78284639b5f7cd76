"""Assignment from the queue, and the pushes that follow it: positions, queue, roster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from chat_server.chat import events
from chat_server.chat.alerts import UnstaffedAlerts
from chat_server.chat.context import ChatContext, PushMemory
from chat_server.chat.duty import Desks, DutyBoard
from chat_server.chat.models import Chat, ChatState
from chat_server.chat.routing import choose_staff
from chat_server.chat.views import Views
from roster.schedule import Shift, shift_of

log = logging.getLogger(__name__)

# queue:update carries the whole queue to every staff socket. Under a burst of arrivals each one
# changes it, which made the pushes grow with the square of the queue (1,000 arrivals in 2 s took
# seconds to answer). Staff need the latest queue, not every step: the first change is pushed at
# once, later ones within this interval are coalesced into one push at its end.
QUEUE_UPDATE_INTERVAL_SECONDS = 0.25

# How often one chat is tried again when the store refuses it (another worker took the chat
# or the chosen member's last place meanwhile): each retry reads the loads afresh.
ASSIGN_ATTEMPTS = 3


class Dispatcher:
    def __init__(self, ctx: ChatContext, duty: DutyBoard, views: Views, memory: PushMemory) -> None:
        self.ctx = ctx
        self.duty = duty
        self.alerts = UnstaffedAlerts(ctx, duty)
        self.views = views
        self.memory = memory
        self._lock = asyncio.Lock()
        # Loop time (an interval, not a time of day) of the last queue:update.
        self._queue_pushed_at = float("-inf")
        self._queue_update_due: asyncio.Task[None] | None = None

    async def dispatch(self) -> None:
        """Assign queued chats to on-duty staff who speak their language, then push positions."""
        async with self._lock:
            now = self.ctx.clock.now()
            queue = await self.ctx.store.queue()
            if queue:
                shifts = await self.ctx.roster.shifts(now)
                if not await self._assign(queue, shifts, now):
                    # Nobody answers: a visitor waiting for nobody must not go unnoticed.
                    await self.alerts.check(shifts, now)
            await self._push_queue()
            await self.push_roster()

    async def _assign(self, queue: list[Chat], shifts: list[Shift], now: datetime) -> bool:
        """Give each queued chat, front first, to a free member who speaks its language.

        A chat nobody free speaks stays where it is, and the chats behind it that
        others can answer go ahead; among chats competing for the same members the
        order of arrival holds. The store checks capacity, language and that the chat
        still waits in one atomic step; a refusal means another worker got there first.
        Answers whether anyone answers at all (a candidate on duty).
        """
        store = self.ctx.store
        desks = await self.duty.desks(shifts, now)
        if not desks.candidates:
            return False
        queue = [c for c in queue if not await self._return(c, desks, shifts, now)]
        for chat in queue:
            for _attempt in range(ASSIGN_ATTEMPTS):
                if not any(c.load < c.max_chats for c in desks.candidates.values()):
                    return True
                choice = choose_staff(desks.members(chat.language))
                if choice is None:
                    break
                shift = shift_of(shifts, choice.staff_id, now)
                # A member's own languages, or none (any chat) when the policy lets anyone take it.
                spoken = desks.languages.get(choice.staff_id, ()) if desks.answered(chat.language) else ()
                assigned = await store.assign_chat(
                    chat.chat_id, choice.staff_id, choice.max_chats, shift.shift_id if shift else None, now, spoken
                )
                if assigned is not None:
                    desks.took(choice.staff_id)
                    self.memory.positions.pop(assigned.chat_id, None)
                    self.memory.desks.pop(assigned.chat_id, None)
                    await self.announce_assignment(assigned)
                    break
                current = await store.get_chat(chat.chat_id)
                if current is None or current.state is not ChatState.WAITING:
                    break
                desks = await self.duty.desks(shifts, now)
        return True

    async def _return(self, chat: Chat, desks: Desks, shifts: list[Shift], now: datetime) -> bool:
        """Give a requeued chat back to the member who lost it, if they answer again and have room."""
        member = desks.candidates.get(chat.returns_to) if chat.returns_to is not None else None
        if member is None or member.load >= member.max_chats:
            return False
        shift = shift_of(shifts, member.staff_id, now)
        assigned = await self.ctx.store.assign_chat(
            chat.chat_id, member.staff_id, member.max_chats, shift.shift_id if shift else None, now
        )
        if assigned is None:
            return False
        desks.took(member.staff_id)
        self.memory.positions.pop(assigned.chat_id, None)
        self.memory.desks.pop(assigned.chat_id, None)
        await self.announce_assignment(assigned)
        return True

    async def announce_assignment(self, chat: Chat) -> None:
        assert chat.staff_id is not None
        notifier = self.ctx.notifier
        await notifier.visitor_chat_state(chat.chat_id, events.chat_state(await self.views.visitor_view(chat)))
        await notifier.staff_chat_assigned(chat.staff_id, events.chat_assigned(await self.views.staff_view(chat)))

    async def push_roster(self) -> None:
        roster = events.duty_roster(await self.duty.roster_view(), await self.duty.on_call_view())
        if roster != self.memory.roster:
            self.memory.roster = roster
            await self.ctx.notifier.all_staff_duty_roster(roster)

    async def _push_queue(self) -> None:
        queue = await self.ctx.store.queue()
        positions, desks_told = self.memory.positions, self.memory.desks
        places = self.views.places(queue, await self.duty.desks()) if queue else {}
        waiting = set()
        for chat in queue:
            waiting.add(chat.chat_id)
            position, estimate, desk = places[chat.chat_id]
            if chat.chat_id in desks_told and desks_told[chat.chat_id] != desk:
                # Whether the language is answered changed (a speaker came or went): say so.
                desks_told[chat.chat_id] = desk
                positions[chat.chat_id] = position
                view = events.visitor_view(chat, position, estimate, None, desk)
                await self.ctx.notifier.visitor_chat_state(chat.chat_id, events.chat_state(view))
                continue
            desks_told[chat.chat_id] = desk
            if positions.get(chat.chat_id) != position:
                positions[chat.chat_id] = position
                await self.ctx.notifier.visitor_queue_position(
                    chat.chat_id, events.queue_position(chat.chat_id, position, estimate)
                )
        for chat_id in [c for c in {*positions, *desks_told} if c not in waiting]:
            positions.pop(chat_id, None)
            desks_told.pop(chat_id, None)
        await self._update_staff_queue(queue)

    async def _update_staff_queue(self, queue: list[Chat]) -> None:
        """Push queue:update now, or once at the end of the interval if one went out lately."""
        if self._queue_update_due is not None:
            return  # already due; it reads the queue as it is then
        wait = self._queue_pushed_at + QUEUE_UPDATE_INTERVAL_SECONDS - asyncio.get_running_loop().time()
        if wait > 0:
            self._queue_update_due = asyncio.create_task(self._queue_update_later(wait))
            return
        await self._send_queue_update(queue)

    async def _queue_update_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._queue_update_due = None
        try:
            await self._send_queue_update(await self.ctx.store.queue())
        except Exception:
            log.exception("queue update failed")

    async def queue_changed(self) -> None:
        """Tell staff of a change to a waiting chat that does not move the queue (its first message)."""
        await self._update_staff_queue(await self.ctx.store.queue())

    async def _send_queue_update(self, queue: list[Chat]) -> None:
        entries = await self.views.queue_entries(queue)
        # The sweep dispatches every second; staff hear only of real changes.
        if entries != self.memory.queue:
            self.memory.queue = entries
            self._queue_pushed_at = asyncio.get_running_loop().time()
            await self.ctx.notifier.all_staff_queue_update(events.queue_update(entries))

    async def close(self) -> None:
        """Drop a queue:update still due (shutdown)."""
        due, self._queue_update_due = self._queue_update_due, None
        if due is not None:
            due.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await due
