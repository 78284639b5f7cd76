"""Alerts when a visitor waits and nobody answers: the staff on shift who are not taking chats, and managers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.duty import DutyBoard
from roster.schedule import Shift

log = logging.getLogger(__name__)


class UnstaffedAlerts:
    def __init__(self, ctx: ChatContext, duty: DutyBoard) -> None:
        self.ctx = ctx
        self.duty = duty

    async def check(self, shifts: list[Shift], now: datetime) -> None:
        """Alert once per chat that has waited the alert time while nobody was answering.

        The store marks the chat (atomically, once across workers): the mark is both the
        guard against a second alert and the "waited while nobody was checked in" count.
        """
        store = self.ctx.store
        after = timedelta(seconds=self.ctx.settings.unstaffed_alert_seconds)
        due = [c for c in await store.queue() if not c.unstaffed and now - c.created_at >= after]
        if not due or await self.duty.candidates(shifts, now):
            return
        on_shift = {s.staff_id for s in shifts if s.covers(now, self.ctx.early)}
        # Signed in on shift but not answering: not checked in, or on a break.
        idle = [
            p.staff_id for p in await store.presences()
            if p.staff_id in on_shift and p.sockets > 0 and (not p.available or p.paused_at is not None)
        ]
        for chat in due:
            if not await store.mark_unstaffed(chat.chat_id):
                continue
            log.warning(
                "a visitor waits while nobody is checked in",
                extra={"event": "duty.unstaffed_alert", "staff_alerted": len(idle)},
            )
            for staff_id in idle:
                await self.ctx.notifier.staff_duty_alert(staff_id, events.unstaffed_alert(chat, False))
            await self.ctx.notifier.managers_duty_alert(events.unstaffed_alert(chat, True))
