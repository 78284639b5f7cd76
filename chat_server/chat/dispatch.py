"""Assignment from the queue, and the pushes that follow it: positions, queue, roster."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from chat_server.chat import events
from chat_server.chat.context import ChatContext, PushMemory
from chat_server.chat.duty import DutyBoard
from chat_server.chat.models import Chat
from chat_server.chat.routing import choose_staff, queue_estimate_seconds
from chat_server.chat.views import Views
from roster.schedule import shift_of

log = logging.getLogger(__name__)

# queue:update carries the whole queue to every staff socket. Under a burst of arrivals each one
# changes it, which made the pushes grow with the square of the queue (1,000 arrivals in 2 s took
# seconds to answer). Staff need the latest queue, not every step: the first change is pushed at
# once, later ones within this interval are coalesced into one push at its end.
QUEUE_UPDATE_INTERVAL_SECONDS = 0.25


class Dispatcher:
    def __init__(self, ctx: ChatContext, duty: DutyBoard, views: Views, memory: PushMemory) -> None:
        self.ctx = ctx
        self.duty = duty
        self.views = views
        self.memory = memory
        self._lock = asyncio.Lock()
        # Loop time (an interval, not a time of day) of the last queue:update.
        self._queue_pushed_at = float("-inf")
        self._queue_update_due: asyncio.Task[None] | None = None

    async def dispatch(self) -> None:
        """Assign queued chats to on-duty staff with capacity, then push positions."""
        async with self._lock:
            store = self.ctx.store
            now = self.ctx.clock.now()
            shifts = await self.ctx.roster.shifts(now)
            while await store.queue():
                choice = choose_staff(list((await self.duty.candidates(shifts, now)).values()))
                if choice is None:
                    break
                shift = shift_of(shifts, choice.staff_id, now)
                shift_id = shift.shift_id if shift else None
                chat = await store.assign_next(choice.staff_id, choice.max_chats, shift_id, now)
                if chat is None:
                    break
                self.memory.positions.pop(chat.chat_id, None)
                await self.announce_assignment(chat)
            await self._push_queue()
            await self.push_roster()

    async def announce_assignment(self, chat: Chat) -> None:
        assert chat.staff_id is not None
        notifier = self.ctx.notifier
        await notifier.visitor_chat_state(chat.chat_id, events.chat_state(await self.views.visitor_view(chat)))
        await notifier.staff_chat_assigned(chat.staff_id, events.chat_assigned(await self.views.staff_view(chat)))

    async def push_roster(self) -> None:
        roster = events.duty_roster(await self.duty.roster_view())
        if roster != self.memory.roster:
            self.memory.roster = roster
            await self.ctx.notifier.all_staff_duty_roster(roster)

    async def _push_queue(self) -> None:
        queue = await self.ctx.store.queue()
        positions = self.memory.positions
        serving, mean = await self.duty.serving_count(), self.views.mean_duration()
        waiting = set()
        for position, chat in enumerate(queue, start=1):
            waiting.add(chat.chat_id)
            if positions.get(chat.chat_id) != position:
                positions[chat.chat_id] = position
                estimate = queue_estimate_seconds(position, serving, mean)
                await self.ctx.notifier.visitor_queue_position(
                    chat.chat_id, events.queue_position(chat.chat_id, position, estimate)
                )
        for chat_id in list(positions):
            if chat_id not in waiting:
                del positions[chat_id]
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

    async def _send_queue_update(self, queue: list[Chat]) -> None:
        entries = events.queue_entries(queue)
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
