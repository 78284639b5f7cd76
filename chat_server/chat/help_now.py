"""Help now (docs/protocol.md, `help:raise`): a staff member's alarm on every on-duty console until answered.

The alarm goes to every member on a shift now who is signed in, to the manager
on call and to the managers and admins signed in, with who needs help and in
which chat, and stays (also for consoles that connect later: `staff:sync`)
until someone answers "I'm here" (`help:answer`). Each alarm is counted in the
database as a time (rounded) and whether it was answered: no one is named, no
chat is linked.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Protocol

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.conversation import staff_chat
from chat_server.chat.duty import DutyBoard
from chat_server.chat.models import ChatState, HelpAlarm
from chat_server.errors import ChatError

log = logging.getLogger(__name__)


class AlarmCounter(Protocol):
    async def count_alarm(self, alarm_id: str, raised_at: datetime) -> None:
        """Count a raised alarm (its time rounded); no one named, no chat linked."""

    async def alarm_answered(self, alarm_id: str) -> None:
        """Count the alarm as answered."""


class AlarmWebhook(Protocol):
    def notify(self, alarm: HelpAlarm) -> None:
        """Tell someone off the console (help.webhook_url), in the background; no chat content."""


class HelpNow:
    def __init__(
        self, ctx: ChatContext, duty: DutyBoard, counter: AlarmCounter | None = None,
        webhook: AlarmWebhook | None = None,
    ) -> None:
        self.ctx = ctx
        self.duty = duty
        self.counter = counter
        self.webhook = webhook

    async def raise_alarm(self, staff_id: int, chat_id: str | None) -> events.HelpAlarmView:
        """Raise an alarm for this member (about one of their chats, or none); one open alarm each."""
        visitor_alias = None
        if chat_id is not None:
            chat = await staff_chat(self.ctx.store, staff_id, chat_id)
            if chat.state is ChatState.WAITING:
                raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
            visitor_alias = chat.visitor_alias
        for open_alarm in await self.ctx.store.help_alarms():
            if open_alarm.staff_id == staff_id:
                return events.help_alarm(open_alarm)  # already raised: still waiting for an answer
        presence = await self.duty.presence(staff_id)
        now = self.ctx.clock.now()
        alarm = HelpAlarm(
            secrets.token_hex(16), staff_id, presence.alias if presence else "", now, chat_id,
            visitor_alias=visitor_alias,
        )
        await self.ctx.store.help_raise(alarm)
        view = events.help_alarm(alarm)
        for member in await self._audience(staff_id):
            await self.ctx.notifier.staff_help_alarm(member, view)
        await self.ctx.notifier.managers_help_alarm(view)
        log.warning("help now raised", extra={"event": "help.raised", "staff_id": staff_id})
        if self.webhook is not None and not any(
            p.sockets > 0 and p.staff_id != staff_id for p in await self.ctx.store.presences()
        ):
            # Nobody else is signed in to the console to answer: tell the configured address.
            self.webhook.notify(alarm)
        if self.counter is not None:
            try:
                await self.counter.count_alarm(alarm.alarm_id, now)
            except Exception:
                log.exception("could not count a help alarm")  # the alarm itself went out
        return view

    async def answer(self, staff_id: int, alarm_id: str) -> events.HelpAnswered:
        """Answer "I'm here": the first answer ends the alarm on every console."""
        presence = await self.duty.presence(staff_id)
        alias = presence.alias if presence else ""
        result = await self.ctx.store.help_answer(alarm_id, staff_id, alias, self.ctx.clock.now())
        if result is None:
            raise ChatError(errors.ALARM_NOT_FOUND, "no such open alarm: answered already, or unknown")
        answered, _first = result
        view = events.help_answered(answered)
        for member in await self._audience(answered.staff_id):
            await self.ctx.notifier.staff_help_answered(member, view)
        await self.ctx.notifier.managers_help_answered(view)
        if self.counter is not None:
            try:
                await self.counter.alarm_answered(alarm_id)
            except Exception:
                log.exception("could not count a help alarm as answered")
        return view

    async def open_alarms(self) -> list[events.HelpAlarmView]:
        return [events.help_alarm(a) for a in await self.ctx.store.help_alarms()]

    async def _audience(self, raiser: int) -> list[int]:
        """Members on a shift now and signed in, the manager on call, and the raiser's own other tabs."""
        now = self.ctx.clock.now()
        on_shift = {s.staff_id for s in await self.ctx.roster.shifts(now) if s.covers(now, self.ctx.early)}
        signed_in = {p.staff_id for p in await self.ctx.store.presences() if p.sockets > 0}
        on_call = {e["staff_id"] for e in await self.duty.on_call_view()}
        return sorted((on_shift & signed_in) | on_call | {raiser})
